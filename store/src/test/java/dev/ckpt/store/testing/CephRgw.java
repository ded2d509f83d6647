package dev.ckpt.store.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A throwaway single-node Ceph cluster serving S3 through RGW on 127.0.0.1, for tests: one
 * monitor, one OSD on memstore (in memory, capped at 2 GiB) and one {@code radosgw}, from
 * Debian's packages ({@code ceph-mon ceph-osd radosgw ceph-common}; Debian 12 ships Ceph
 * 16.2 "pacific"). No systemd, no containers, no cephx (auth none, loopback only).
 *
 * <p>Started once per test JVM on first use ({@link #shared()}, about 5 s) in a fresh
 * directory under {@code java.io.tmpdir} with free ports, and stopped by a shutdown hook.
 * The daemons run in the foreground as children of the test JVM. Where the packages are
 * missing, {@link #shared()} aborts the calling test (JUnit reports it skipped, with how to
 * install them); where they are present, a cluster that does not come up fails the test
 * with the tail of the daemons' logs. {@code .ci/run} installs the packages.
 *
 * <p>RGW 16.2 differs from AWS S3 in ways the store must handle: it honours {@code If-Match}
 * only with the bare ETag ({@link dev.ckpt.store.objectstore.IfMatchForm}), it ignores
 * conditions on DELETE and on CompleteMultipartUpload (the store uses neither), and it
 * refuses the AWS SDK's newer default request checksums (the store sends them only when
 * required).
 */
public final class CephRgw implements S3TestServer {
    public static final String ACCESS_KEY = "CKPTRGWTESTKEY000001";
    public static final String SECRET_KEY = "ckpt-rgw-test-secret-not-a-real-one-0001";
    private static final String[] COMMANDS = {"ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph"};
    private static CephRgw shared;
    private static String unavailable;

    private final Path dir;
    private final Path conf;
    private final int rgwPort;
    private final List<Process> daemons = new ArrayList<>();

    private CephRgw(Path dir, int rgwPort) {
        this.dir = dir;
        this.conf = dir.resolve("ceph.conf");
        this.rgwPort = rgwPort;
    }

    /**
     * The cluster of this JVM, started on first call. Aborts the test (skipped) when Ceph's
     * packages are not installed; fails it when they are and the cluster does not come up.
     */
    public static synchronized CephRgw shared() {
        if (shared == null && unavailable == null) {
            String missing = missingCommand();
            if (missing != null) {
                unavailable = "Ceph RGW is not installed (no " + missing + " on PATH): install Debian's"
                        + " ceph-mon ceph-osd radosgw ceph-common (apt-get install --no-install-recommends ...),"
                        + " as .ci/run does";
            } else {
                try {
                    shared = start();
                } catch (Exception e) {
                    throw new IllegalStateException("Ceph RGW did not come up: " + e.getMessage(), e);
                }
            }
        }
        Assumptions.assumeTrue(unavailable == null, unavailable);
        return shared;
    }

    @Override
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + rgwPort);
    }

    @Override
    public String accessKey() {
        return ACCESS_KEY;
    }

    @Override
    public String secretKey() {
        return SECRET_KEY;
    }

    /** Creates a bucket (idempotent), with a SigV4-signed request of the AWS SDK. */
    public void createBucket(String name) {
        try (var s3 = software.amazon.awssdk.services.s3.S3Client.builder()
                .endpointOverride(endpoint()).region(software.amazon.awssdk.regions.Region.US_EAST_1).forcePathStyle(true)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
                .build()) {
            try {
                s3.createBucket(b -> b.bucket(name));
            } catch (software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException ignored) {
                // idempotent
            }
        }
    }

    /**
     * Another RGW user (idempotent), created as the cluster's own user is, with fixed test keys
     * derived from {@code uid}; it owns nothing, so it reaches a bucket only through the
     * bucket's policy ({@link #putBucketPolicy}), whose principal for it is
     * {@code arn:aws:iam:::user/<uid>}.
     */
    public synchronized S3TestServer user(String uid) {
        String access = ("CKPTRGW" + uid.toUpperCase().replaceAll("[^A-Z0-9]", "") + "00000000000000000000").substring(0, 20);
        String secret = "ckpt-rgw-test-secret-of-" + uid;
        try {
            run(Duration.ofSeconds(60), "radosgw-admin", "-c", conf.toString(), "user", "create", "--uid=" + uid,
                    "--display-name=ckpt tests " + uid, "--access-key=" + access, "--secret-key=" + secret);
        } catch (Exception e) {
            if (!String.valueOf(e.getMessage()).contains("exists")) {
                throw new IllegalStateException("radosgw-admin user create " + uid + ": " + e.getMessage(), e);
            }
        }
        URI endpoint = endpoint();
        return new S3TestServer() {
            @Override
            public URI endpoint() {
                return endpoint;
            }

            @Override
            public String accessKey() {
                return access;
            }

            @Override
            public String secretKey() {
                return secret;
            }
        };
    }

    /** Sets a bucket's policy (S3 PutBucketPolicy, JSON as for AWS) with the owner's credentials. */
    public void putBucketPolicy(String bucket, String policyJson) {
        try (var s3 = software.amazon.awssdk.services.s3.S3Client.builder()
                .endpointOverride(endpoint()).region(software.amazon.awssdk.regions.Region.US_EAST_1).forcePathStyle(true)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
                .build()) {
            s3.putBucketPolicy(b -> b.bucket(bucket).policy(policyJson));
        }
    }

    /** The log directory of the daemons, for messages. */
    public Path logs() {
        return dir.resolve("log");
    }

    /** The cluster's ceph.conf, for {@code radosgw-admin -c} (the benchmark runs RGW's GC with it). */
    public Path config() {
        return conf;
    }

    private static String missingCommand() {
        for (String c : COMMANDS) {
            boolean found = false;
            for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
                if (!d.isEmpty() && Files.isExecutable(Path.of(d, c))) {
                    found = true;
                    break;
                }
            }
            if (!found && !Files.isExecutable(Path.of("/usr/bin", c)) && !Files.isExecutable(Path.of("/usr/sbin", c))) {
                return c;
            }
        }
        return null;
    }

    private static CephRgw start() throws Exception {
        Path dir = Files.createTempDirectory("ckpt-rgw-");
        int[] ports = freePorts(3);
        int osdBase = freeRange(40);
        CephRgw c = new CephRgw(dir, ports[0]);
        Runtime.getRuntime().addShutdownHook(new Thread(c::stop, "ceph-rgw-stop"));
        try {
            c.bootstrap(ports[1], ports[2], osdBase);
        } catch (Exception | AssertionError e) {
            String tail = c.logTail();
            c.stop();
            throw new IOException(e.getMessage() + "\n" + tail, e);
        }
        return c;
    }

    private void bootstrap(int monV2, int monV1, int osdBase) throws Exception {
        for (String d : List.of("run", "log", "mon/ceph-a", "osd/ceph-0", "rgw", "crash")) {
            Files.createDirectories(dir.resolve(d));
        }
        String fsid = UUID.randomUUID().toString();
        String monAddrs = "[v2:127.0.0.1:" + monV2 + ",v1:127.0.0.1:" + monV1 + "]";
        Files.writeString(conf, String.join("\n",
                "[global]",
                "fsid = " + fsid,
                "mon host = " + monAddrs,
                "public addr = 127.0.0.1",
                "ms bind ipv4 = true",
                "ms bind ipv6 = false",
                "ms bind port min = " + osdBase,
                "ms bind port max = " + (osdBase + 39),
                "auth cluster required = none",
                "auth service required = none",
                "auth client required = none",
                // with auth none, the clients must not ask for cephx or a 'secure' messenger mode
                "ms mon client mode = crc",
                "ms client mode = crc",
                "keyring = /dev/null",
                "auth allow insecure global id reclaim = false",
                "mon warn on insecure global id reclaim allowed = false",
                "run dir = " + dir.resolve("run"),
                "admin socket = " + dir.resolve("run") + "/$name.asok",
                "pid file = " + dir.resolve("run") + "/$name.pid",
                "log file = " + dir.resolve("log") + "/$name.log",
                "log to stderr = false",
                "err to stderr = true",
                "crash dir = " + dir.resolve("crash"),
                "osd pool default size = 1",
                "osd pool default min size = 1",
                "osd pool default pg num = 8",
                "osd pool default pgp num = 8",
                "osd pool default pg autoscale mode = off",
                "osd crush chooseleaf type = 0",
                "mon allow pool size one = true",
                "mon warn on pool no redundancy = false",
                "mon max pg per osd = 1000",
                "mon data avail warn = 1",
                "mon data avail crit = 0",
                "",
                "[mon]",
                "mon data = " + dir.resolve("mon") + "/$cluster-$id",
                "mon cluster log file = " + dir.resolve("log") + "/cluster.log",
                // RGW creates its pools one after another on first start: commit map changes quickly
                "paxos propose interval = 0.1",
                "",
                "[osd]",
                "osd data = " + dir.resolve("osd") + "/$cluster-$id",
                "osd objectstore = memstore",
                "memstore device bytes = " + (2L << 30),
                "",
                "[client.rgw.a]",
                "rgw frontends = beast endpoint=127.0.0.1:" + rgwPort,
                "rgw data = " + dir.resolve("rgw"),
                "rgw thread pool size = 64",
                "") + "\n");

        run(Duration.ofSeconds(30), "monmaptool", "--create", "--fsid", fsid, "--addv", "a", monAddrs,
                "--enable-all-features", "--clobber", dir.resolve("monmap").toString());
        run(Duration.ofSeconds(60), "ceph-mon", "-c", conf.toString(), "--mkfs", "-i", "a", "--monmap", dir.resolve("monmap").toString());
        daemon("ceph-mon", "-f", "-c", conf.toString(), "-i", "a");
        await("the monitor to answer", Duration.ofSeconds(60), () -> ceph(Duration.ofSeconds(10), "health") != null);

        String osdUuid = UUID.randomUUID().toString();
        String id = ceph(Duration.ofSeconds(30), "osd", "new", osdUuid);
        if (id == null || !id.strip().equals("0")) {
            throw new IOException("'ceph osd new' gave " + id + ", expected OSD id 0");
        }
        run(Duration.ofSeconds(120), "ceph-osd", "-c", conf.toString(), "-i", "0", "--mkfs", "--osd-uuid", osdUuid);
        daemon("ceph-osd", "-f", "-c", conf.toString(), "-i", "0");
        await("the OSD to be up", Duration.ofSeconds(90), () -> {
            String stat = ceph(Duration.ofSeconds(10), "osd", "stat", "-f", "json");
            return stat != null && stat.replace(" ", "").contains("\"num_up_osds\":1");
        });

        daemon("radosgw", "-f", "-c", conf.toString(), "-n", "client.rgw.a");
        await("radosgw to answer on " + endpoint(), Duration.ofSeconds(120), () -> httpStatus() > 0);
        run(Duration.ofSeconds(60), "radosgw-admin", "-c", conf.toString(), "user", "create", "--uid=ckpt",
                "--display-name=ckpt tests", "--access-key=" + ACCESS_KEY, "--secret-key=" + SECRET_KEY);
    }

    private void daemon(String... cmd) throws IOException {
        String name = cmd[0];
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("log").resolve(name + ".out").toFile());
        daemons.add(pb.start());
    }

    private String run(Duration timeout, String... cmd) throws Exception {
        Path out = Files.createTempFile(dir, "cmd-", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in " + timeout.toSeconds() + " s");
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + text.strip());
        }
        return text;
    }

    /** Output of a {@code ceph} command, or null when it failed. */
    private String ceph(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ceph", "-c", conf.toString(), "--connect-timeout", "10"));
        cmd.addAll(List.of(args));
        try {
            return run(timeout, cmd.toArray(String[]::new));
        } catch (Exception e) {
            return null;
        }
    }

    private void await(String what, Duration limit, BooleanSupplier ready) throws Exception {
        Instant end = Instant.now().plus(limit);
        while (!ready.getAsBoolean()) {
            for (Process p : daemons) {
                if (!p.isAlive()) {
                    throw new IOException("a Ceph daemon exited (" + p.info().command().orElse("?") + ", status "
                            + p.exitValue() + ") while waiting for " + what);
                }
            }
            if (Instant.now().isAfter(end)) {
                throw new IOException("gave up waiting " + limit.toSeconds() + " s for " + what);
            }
            Thread.sleep(250);
        }
    }

    private int httpStatus() {
        try {
            HttpURLConnection c = (HttpURLConnection) endpoint().toURL().openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(2000);
            int code = c.getResponseCode();
            c.disconnect();
            return code;
        } catch (IOException e) {
            return -1;
        }
    }

    private String logTail() {
        StringBuilder sb = new StringBuilder("logs in " + logs() + ":");
        try (var files = Files.list(logs())) {
            for (Path f : files.sorted().toList()) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.ISO_8859_1);
                sb.append("\n== ").append(f.getFileName());
                lines.subList(Math.max(0, lines.size() - 8), lines.size()).forEach(l -> sb.append("\n").append(l));
            }
        } catch (IOException e) {
            sb.append(" (unreadable: ").append(e.getMessage()).append(')');
        }
        return sb.toString();
    }

    private synchronized void stop() {
        for (int i = daemons.size() - 1; i >= 0; i--) { // radosgw, then the OSD, then the monitor
            Process p = daemons.get(i);
            p.destroy();
            try {
                if (!p.waitFor(15, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        daemons.clear();
        try {
            dev.ckpt.store.util.LocalFiles.deleteTree(dir);
        } catch (IOException | RuntimeException ignored) {
            // best effort at exit: the directory is under java.io.tmpdir
        }
    }

    private static int[] freePorts(int n) throws IOException {
        int[] ports = new int[n];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return ports;
    }

    /** The first port of {@code n} consecutive free ones, for the OSD's messengers. */
    private static int freeRange(int n) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20000, 30000);
            boolean free = true;
            for (int p = base; p < base + n && free; p++) {
                try (ServerSocket s = new ServerSocket(p)) {
                    s.setReuseAddress(true);
                } catch (IOException busy) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IOException("no " + n + " consecutive free ports between 20000 and 30000");
    }
}

package dev.ckpt.store.bench;

import dev.ckpt.store.testing.ChildClasspath;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.testing.BigCheckpoint;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * S3 throughput with the S3 server (S3Proxy on a filesystem) in a separate process:
 * PUT/GET MB/s of 8 MiB objects at 1, 4, 8, 16 in flight; save and restore MB/s of a
 * generated checkpoint (first save, then ~10 % changed); and the raw limits a save is
 * bounded by (SHA-256 + zstd on all cores; PUT of 8 MiB objects at the save's concurrency)
 * with the ratio to them, and the CPU client and server spent per GiB on each. Not a test:
 * prints numbers. Run:
 * {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.ckpt.store.bench.S3Benchmark -Dmb=1024 -Ddir=/dev/shm}
 *
 * <p>Options: {@code -DlinkMBps=N} a link of N MB/s between client and server
 * ({@link ThrottledLink}); {@code -Dpin=true} server and client on separate cores;
 * {@code -Donly=aws|aws-url|minio}; {@code -Dsweep=false} no 1/4/8/16 table;
 * {@code -Drepeat=N} first saves per client (median counts); {@code -Ddir=...} where the
 * checkpoint and the server's objects live (a tmpfs keeps the disk out of it);
 * {@code -DserverOpts="..."} more JVM options for the server process.
 */
public final class S3Benchmark {
    private static final int OBJ = 8 << 20;

    public static void main(String[] args) throws Exception {
        int mb = Integer.getInteger("mb", 1024);
        int rawObjects = Integer.getInteger("objects", 32);
        int inFlight = Integer.getInteger("inFlight", 8);
        int repeat = Integer.getInteger("repeat", 3);
        Path work = Files.createTempDirectory(Path.of(System.getProperty("dir", System.getProperty("java.io.tmpdir"))), "ckpt-s3bench");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // -Dpin=true: the server on the last core, this JVM (the client) on the others, as
        // with a server on another machine; otherwise both share every core.
        boolean pin = Boolean.getBoolean("pin");
        int all = Runtime.getRuntime().availableProcessors();
        List<String> cmd = new ArrayList<>();
        if (pin) {
            if (all < 2) {
                throw new IllegalStateException("-Dpin=true needs 2 cores or more");
            }
            cmd.addAll(List.of("taskset", "-c", Integer.toString(all - 1)));
            run("taskset", "-a", "-p", "-c", all == 2 ? "0" : "0-" + (all - 2), Long.toString(ProcessHandle.current().pid()));
        }
        cmd.add(java);
        cmd.add("-Xmx1g");
        // -DlinkMBps=N: the client reaches the server through a link of N MB/s (each direction),
        // as S3 over a network; without it the limit is loopback on cores shared with the server
        long linkMBps = Long.getLong("linkMBps", 0);
        if (linkMBps > 0) {
            cmd.add("-DlinkMBps=" + linkMBps);
        }
        // -DserverOpts="...": more JVM options for the server process, space-separated
        for (String o : System.getProperty("serverOpts", "").trim().split("\\s+")) {
            if (!o.isEmpty()) {
                cmd.add(o);
            }
        }
        cmd.addAll(List.of("-cp", ChildClasspath.get(),
                S3ProxyMain.class.getName(), work.resolve("s3").toString(), "raw", "aws", "aws-url", "minio"));
        Process server = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            while (line != null && !line.startsWith("READY ")) { // e.g. a JVM option's own start-up line
                System.err.println("server: " + line);
                line = out.readLine();
            }
            if (line == null || !line.startsWith("READY ")) {
                throw new IllegalStateException("S3 server did not start: " + line);
            }
            URI endpoint = URI.create("http://127.0.0.1:" + line.substring(6).trim());
            Path first = work.resolve("ckpt-1");
            Path second = work.resolve("ckpt-2");
            BigCheckpoint.write(first, mb, false);
            int changed = BigCheckpoint.write(second, mb, true);
            long bytes = BigCheckpoint.bytes(first);
            int cores = pin ? all - 1 : all;
            System.out.printf("S3 server: S3Proxy 4.1 (filesystem) in a separate JVM at %s%s; %s; checkpoint %.0f MiB"
                    + " (%d of %d tensors changed in the second save)%n", endpoint,
                    linkMBps > 0 ? " through a " + linkMBps + " MB/s link" : " (loopback)",
                    pin ? "server pinned to core " + (all - 1) + ", client to the other " + cores : "client and server share " + all + " cores",
                    bytes / 1048576.0, changed,
                    BigCheckpoint.files(mb) * BigCheckpoint.TENSORS_PER_FILE);
            double codecLimit = codecLimit(cores);
            System.out.printf("limit: SHA-256 + zstd level %d on the client's %d core(s): %.1f MB/s%n", ChunkCodec.DEFAULT_LEVEL, cores, codecLimit);
            String[][] variants = {{"AWS", "APACHE", "aws"}, {"AWS", "URL_CONNECTION", "aws-url"}, {"MINIO", "APACHE", "minio"}};
            String only = System.getProperty("only"); // e.g. -Donly=aws: one variant (aws, aws-url, minio)
            boolean sweep = !"false".equals(System.getProperty("sweep")); // -Dsweep=false: skip the 1/4/8/16 table
            for (String[] v : variants) {
                if (only != null && !only.equals(v[2])) {
                    continue;
                }
                S3Config.Client client = S3Config.Client.valueOf(v[0]);
                S3Config.Http http = S3Config.Http.valueOf(v[1]);
                String bucket = v[2];
                System.out.println("== " + client + " client" + (client == S3Config.Client.AWS ? ", " + http + " HTTP client" : ""));
                java.util.function.Function<String, S3Config> cfg = url -> S3Config.fromUrl(url,
                        Map.of("AWS_ENDPOINT_URL", endpoint.toString()))
                        .withCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY).withClient(client, http);
                try (ObjectStore raw = S3ObjectStores.open(cfg.apply("s3://raw/" + bucket))) {
                    for (int n : sweep ? new int[]{1, 4, 8, 16} : new int[0]) {
                        double[] r = putGet(raw, n, rawObjects);
                        System.out.printf("raw 8 MiB objects, %2d in flight: PUT %7.1f MB/s, GET %7.1f MB/s%n", n, r[0], r[1]);
                    }
                }
                StoreConfig sc = StoreConfig.defaults().withParallelism(inFlight).withMaxChunksInFlight(inFlight);
                // The ratio: the first save against PUTs of the same volume (1 GiB of 8 MiB objects at
                // the save's concurrency) measured right before it, repeated; the median counts. One
                // short sample of either side is too noisy on 2 cores shared with the server.
                int saveObjects = (int) Math.max(1, bytes / OBJ);
                List<Double> ratios = new ArrayList<>();
                byte[][] limitData = randomObjects(8);
                // Warm-up, not measured: the JIT compiles the client's PUT path and the save's
                // hashing and compression first, or the first repetition compares a cold PUT with
                // a warmer save.
                try (ObjectStore raw = S3ObjectStores.open(cfg.apply("s3://raw/" + bucket));
                     CheckpointStore warm = CheckpointStore.open(S3ObjectStores.open(cfg.apply("s3://" + bucket + "/warm-up")), sc)) {
                    putOnly(raw, inFlight, Math.min(saveObjects, 32), limitData);
                    warm.save(warm.claimWriter("warm-up"), SaveRequest.of(first, "warm-up", 1));
                }
                wipe(work.resolve("s3").resolve(bucket).resolve("warm-up"));
                CheckpointStore last = null;
                WriterToken w = null;
                for (int rep = 0; rep < repeat; rep++) {
                    double limitPut;
                    double[] cpu0 = cpu(server);
                    try (ObjectStore raw = S3ObjectStores.open(cfg.apply("s3://raw/" + bucket))) {
                        limitPut = putOnly(raw, inFlight, saveObjects, limitData);
                    }
                    double[] cpu1 = cpu(server);
                    S3Config repCfg = cfg.apply("s3://" + bucket + "/bench-" + rep);
                    if (last != null) {
                        last.close();
                        wipe(work.resolve("s3").resolve(bucket).resolve("bench-" + (rep - 1)));
                    }
                    last = CheckpointStore.open(S3ObjectStores.open(repCfg), sc);
                    w = last.claimWriter("bench");
                    double[] cpu2 = cpu(server);
                    SaveResult s1 = last.save(w, SaveRequest.of(first, "bench", 1));
                    double[] cpu3 = cpu(server);
                    double gib = bytes / 1073741824.0;
                    System.out.printf("CPU per GiB (client + server core-seconds): PUT %.2f + %.2f, first save %.2f + %.2f%n",
                            (cpu1[0] - cpu0[0]) / gib, (cpu1[1] - cpu0[1]) / gib, (cpu3[0] - cpu2[0]) / gib, (cpu3[1] - cpu2[1]) / gib);
                    double s1r = mbps(bytes, s1.totalTime().toNanos());
                    double lower = Math.min(codecLimit, limitPut);
                    ratios.add(s1r / lower);
                    System.out.printf("first save #%d   %7.1f MB/s (%.1f s); PUT of %d x 8 MiB at %d in flight just before: %.1f MB/s;"
                                    + " lower limit %.1f MB/s (%s) -> ratio %.2f%n", rep + 1, s1r, s1.totalTime().toNanos() / 1e9,
                            saveObjects, inFlight, limitPut, lower, codecLimit <= limitPut ? "SHA-256+zstd" : "PUT", s1r / lower);
                }
                List<Double> sorted = new ArrayList<>(ratios);
                sorted.sort(null);
                System.out.printf("first save / lower limit: median %.2f of %d (min %.2f, max %.2f)%n", sorted.get(sorted.size() / 2),
                        sorted.size(), sorted.get(0), sorted.get(sorted.size() - 1));
                try (CheckpointStore store = last) {
                    SaveResult s2 = store.save(w, SaveRequest.of(second, "bench", 2));
                    System.out.printf("second save     %7.1f MB/s (%.1f s): %d new chunks, %s uploaded, %s deduplicated%n",
                            mbps(bytes, s2.totalTime().toNanos()), s2.totalTime().toNanos() / 1e9, s2.newChunks(),
                            SaveResult.human(s2.storedBytesUploaded()), SaveResult.human(s2.dedupBytes()));
                    RestoreResult r = store.restore(s2.checkpointId(), work.resolve("restore-" + bucket));
                    System.out.printf("restore         %7.1f MB/s (%.1f s)%n", mbps(bytes, r.time().toNanos()), r.time().toNanos() / 1e9);
                }
                // Keep the server's directory small: on a disk, gigabytes of dirty pages turn the
                // later runs into a disk benchmark (use -Ddir=/dev/shm where memory allows).
                wipe(work.resolve("s3").resolve(bucket));
                wipe(work.resolve("s3").resolve("raw").resolve(bucket));
                wipe(work.resolve("restore-" + bucket));
            }
        } finally {
            server.getOutputStream().close();
            server.waitFor();
            LocalFiles.deleteTree(work);
        }
    }

    /** PUT then GET of {@code objects} 8 MiB objects at {@code inFlight}: MB/s of each. */
    private static double[] putGet(ObjectStore store, int inFlight, int objects) throws Exception {
        byte[][] data = randomObjects(Math.min(objects, 8));
        String prefix = "obj/" + inFlight + "/";
        double put = timed(inFlight, objects, k -> store.put(prefix + k, data[k % data.length]));
        double get = timed(inFlight, objects, k -> store.get(prefix + k));
        return new double[]{put, get};
    }

    private static byte[][] randomObjects(int n) {
        byte[][] data = new byte[n][OBJ];
        Random rnd = new Random(1);
        for (byte[] d : data) {
            rnd.nextBytes(d);
        }
        return data;
    }

    /** MB/s of {@code objects} 8 MiB operations run {@code inFlight} at a time. */
    private static double timed(int inFlight, int objects, java.util.function.IntConsumer op) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(inFlight);
        try {
            long t0 = System.nanoTime();
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < objects; i++) {
                int k = i;
                fs.add(pool.submit(() -> op.accept(k)));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            return mbps((long) OBJ * objects, System.nanoTime() - t0);
        } finally {
            pool.shutdown();
        }
    }

    /** Client (this JVM) and server process CPU seconds so far. */
    private static double[] cpu(Process server) {
        long client = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
        long srv = server.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
        return new double[]{client / 1e9, srv / 1e9};
    }

    /** PUT only: MB/s of {@code objects} 8 MiB objects at {@code inFlight}. */
    private static double putOnly(ObjectStore store, int inFlight, int objects, byte[][] data) throws Exception {
        return timed(inFlight, objects, k -> store.put("lim/" + inFlight + "/" + k, data[k % data.length]));
    }

    private static double codecLimit(int cores) throws Exception {
        int chunks = 32;
        List<byte[]> data = new ArrayList<>();
        Random rnd = new Random(42);
        for (int c = 0; c < Math.min(chunks, 8); c++) {
            ByteBuffer b = ByteBuffer.allocate(OBJ).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < OBJ / 4; i++) {
                b.putFloat((float) (rnd.nextGaussian() * 0.02));
            }
            data.add(b.array());
        }
        ChunkCodec codec = new ChunkCodec(ChunkCodec.DEFAULT_LEVEL);
        double best = 0;
        for (int rep = 0; rep < 6; rep++) { // the first runs warm the JIT up; the best run counts
            ExecutorService pool = Executors.newFixedThreadPool(cores);
            long t0 = System.nanoTime();
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < chunks; i++) {
                byte[] d = data.get(i % data.size());
                fs.add(pool.submit(() -> codec.encode(d, 0, d.length)));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            best = Math.max(best, mbps((long) OBJ * chunks, System.nanoTime() - t0));
            pool.shutdown();
        }
        return best;
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    /** Deletes what is below {@code dir} (the server's files of a finished step), keeping {@code dir}. */
    private static void wipe(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                LocalFiles.deleteTree(p);
            }
        }
    }

    private static double mbps(long bytes, long nanos) {
        return bytes / (nanos / 1e9) / 1e6;
    }
}

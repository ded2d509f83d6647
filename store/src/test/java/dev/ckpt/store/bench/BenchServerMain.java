package dev.ckpt.store.bench;

import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.CephRgw;
import dev.ckpt.store.testing.S3TestServer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An S3 server as its own process, for {@code bench/compare.sh}, which drives ckpt-tool,
 * restic and rclone against it. Usage:
 * <pre>
 *   BenchServerMain s3proxy DIR BUCKET...   S3Proxy 4.1 on a filesystem directory
 *   BenchServerMain rgw BUCKET...           a single-node Ceph RGW ({@link CephRgw}, Debian's packages)
 * </pre>
 * Prints one line, {@code READY <endpoint> <access key> <secret key>}, then reads commands,
 * one per line, from standard input: {@code gc} makes RGW delete the data of deleted
 * objects now (RGW only defers it by hours, and its memstore OSD holds 2 GiB) and answers
 * {@code OK}; end of input stops the server. The keys are the fixtures' fixed test keys.
 */
public final class BenchServerMain {
    public static void main(String[] args) throws Exception {
        if (args.length < 1 || !(args[0].equals("s3proxy") && args.length >= 2 || args[0].equals("rgw"))) {
            System.err.println("usage: BenchServerMain s3proxy DIR BUCKET... | rgw BUCKET...");
            System.exit(2);
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (args[0].equals("s3proxy")) {
            try (S3ProxyServer server = S3ProxyServer.start(Path.of(args[1]))) {
                for (int i = 2; i < args.length; i++) {
                    server.createBucket(args[i]);
                }
                serve(server, in, null);
            }
        } else {
            CephRgw rgw;
            try {
                rgw = CephRgw.shared();
            } catch (RuntimeException e) { // JUnit's "aborted" when the packages are missing: its message says which
                System.err.println("Ceph RGW: " + e.getMessage());
                System.exit(1);
                return;
            }
            for (int i = 1; i < args.length; i++) {
                rgw.createBucket(args[i]);
            }
            serve(rgw, in, rgw);
        }
        System.exit(0); // CephRgw's shutdown hook stops the daemons and deletes their directory
    }

    private static void serve(S3TestServer server, BufferedReader in, CephRgw rgw) throws Exception {
        System.out.println("READY " + server.endpoint() + " " + server.accessKey() + " " + server.secretKey());
        System.out.flush();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.strip().equals("gc") && rgw != null) {
                Process p = new ProcessBuilder("radosgw-admin", "-c", rgw.config().toString(), "gc", "process", "--include-all")
                        .redirectErrorStream(true).redirectOutput(rgw.logs().resolve("bench-gc.out").toFile()).start();
                if (!p.waitFor(10, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                }
            }
            System.out.println("OK");
            System.out.flush();
        }
    }
}

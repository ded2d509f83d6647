package dev.ckpt.tools.torture;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.bench.S3ProxyMain;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.CephRgw;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The store a torture run attacks, as its processes see it: a store string for
 * {@link TortureChild} (a path or an s3:// URL), the environment they need for it, and the same
 * store opened in this process for the checker. {@code local}: a directory. {@code s3proxy}:
 * the test S3 server (S3Proxy on a filesystem) in a JVM of its own, never killed.
 * {@code rgw}: the single-node Ceph RGW of the store's test fixtures ({@link CephRgw}).
 */
final class Target implements AutoCloseable {
    final String name;
    final String store;
    final Map<String, String> env;
    private final Process server;

    private Target(String name, String store, Map<String, String> env, Process server) {
        this.name = name;
        this.store = store;
        this.env = Map.copyOf(env);
        this.server = server;
    }

    static Target open(String name, Path work, String classpath) throws Exception {
        switch (name) {
            case "local":
                return new Target(name, work.resolve("store").toString(), Map.of(), null);
            case "s3proxy": {
                String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
                Process p = new ProcessBuilder(List.of(java, "-Xmx512m", "-cp", classpath, S3ProxyMain.class.getName(),
                        work.resolve("s3").toString(), "torture"))
                        .redirectError(work.resolve("s3proxy.err").toFile()).start();
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String line = out.readLine();
                while (line != null && !line.startsWith("READY ")) {
                    line = out.readLine();
                }
                if (line == null) {
                    p.destroyForcibly();
                    throw new IllegalStateException("the S3 server did not start; see " + work.resolve("s3proxy.err"));
                }
                return new Target(name, "s3://torture/ckpt", s3Env("http://127.0.0.1:" + line.substring(6).trim(),
                        S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY), p);
            }
            case "rgw": {
                CephRgw rgw = CephRgw.shared(); // stopped by its shutdown hook
                String bucket = "torture-" + Long.toHexString(System.nanoTime());
                rgw.createBucket(bucket);
                return new Target(name, "s3://" + bucket + "/ckpt", s3Env(rgw.endpoint().toString(), rgw.accessKey(),
                        rgw.secretKey()), null);
            }
            default:
                throw new IllegalArgumentException("unknown target '" + name + "': local, s3proxy or rgw");
        }
    }

    private static Map<String, String> s3Env(String endpoint, String access, String secret) {
        return Map.of("AWS_ENDPOINT_URL", endpoint, "AWS_ACCESS_KEY_ID", access, "AWS_SECRET_ACCESS_KEY", secret,
                "AWS_REGION", "us-east-1");
    }

    /** The store in this process, with the torture's settings. */
    CheckpointStore openStore() {
        return CheckpointStore.open(store.startsWith("s3://")
                ? dev.ckpt.store.objectstore.s3.S3ObjectStores.open(store, env)
                : dev.ckpt.store.objectstore.ObjectStores.local(Path.of(store)), TortureChild.config());
    }

    @Override
    public void close() {
        if (server != null) {
            server.destroy(); // its stdin closes with it; S3ProxyMain exits
            try {
                server.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

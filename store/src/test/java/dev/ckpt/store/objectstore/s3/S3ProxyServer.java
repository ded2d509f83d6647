package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.testing.S3TestServer;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import software.amazon.awssdk.services.s3.model.CreateBucketRequest;

import java.net.URI;
import java.nio.file.Path;
import java.util.Properties;

/**
 * A real S3 server in this JVM, speaking S3 over HTTP with SigV4 on a loopback port:
 * S3Proxy over its in-memory ("transient") or filesystem store, with conditional writes
 * made atomic by {@link AtomicConditionalBlobStore}.
 */
public final class S3ProxyServer implements AutoCloseable, S3TestServer {
    public static final String ACCESS_KEY = "ckpt-test-access";
    public static final String SECRET_KEY = "ckpt-test-secret-key-not-a-real-one";

    private final S3Proxy proxy;
    private final BlobStore blobs;
    private final Path caPem;

    private S3ProxyServer(S3Proxy proxy, BlobStore blobs, Path caPem) {
        this.proxy = proxy;
        this.blobs = blobs;
        this.caPem = caPem;
    }

    /**
     * Starts an in-memory server that speaks HTTPS only, with a self-signed certificate for
     * 127.0.0.1 made by the JDK's keytool in {@code dir}; {@link #caPem()} is that
     * certificate, to trust through {@code AWS_CA_BUNDLE}.
     */
    public static S3ProxyServer startTls(Path dir) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        Path ks = dir.resolve("server.p12");
        Path pem = dir.resolve("ca.pem");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", "s3", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-keystore", ks.toString(), "-storetype", "PKCS12",
                "-storepass", "changeit", "-keypass", "changeit");
        run(keytool, "-exportcert", "-rfc", "-alias", "s3", "-keystore", ks.toString(), "-storepass", "changeit",
                "-file", pem.toString());
        BlobStore blobs = new AtomicConditionalBlobStore(BlobStores.create("transient", new Properties()), (op, key) -> { });
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(blobs)
                .secureEndpoint(URI.create("https://127.0.0.1:0"))
                .keyStore(ks.toString(), "changeit")
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .jettyMaxThreads(32)
                .build();
        proxy.start();
        awaitStarted(proxy);
        return new S3ProxyServer(proxy, blobs, pem);
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    private static void awaitStarted(S3Proxy proxy) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
            }
            Thread.sleep(10);
        }
    }

    /** The server's certificate (PEM) for a TLS server; null for plain HTTP. */
    public Path caPem() {
        return caPem;
    }

    /** Called before every blob operation of the server; may throw an S3 error to inject it. */
    public interface FaultHook {
        void before(String operation, String key);

        /** Called after a PUT stored its object; an S3 error thrown here is a response lost after the write. */
        default void afterPut(String key) {
        }
    }

    /** A hook that counts the blob operations on keys containing {@code part} into {@code count}, and injects nothing. */
    public static FaultHook counting(String part, java.util.concurrent.atomic.AtomicInteger count) {
        return (op, key) -> {
            if (key != null && key.contains(part)) {
                count.incrementAndGet();
            }
        };
    }

    /** Starts a server; {@code dir} null keeps objects in memory, else in that directory. */
    public static S3ProxyServer start(Path dir) throws Exception {
        return start(dir, (op, key) -> { });
    }

    /** Starts a server whose blob operations pass through {@code faults} first. */
    public static S3ProxyServer start(Path dir, FaultHook faults) throws Exception {
        Properties props = new Properties();
        BlobStore raw;
        if (dir == null) {
            raw = BlobStores.create("transient", props);
        } else {
            java.nio.file.Files.createDirectories(dir);
            props.setProperty("jclouds.filesystem.basedir", dir.toString());
            raw = BlobStores.create("filesystem", props);
        }
        BlobStore blobs = new AtomicConditionalBlobStore(raw, faults);
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(blobs)
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .jettyMaxThreads(64)
                .build();
        proxy.start();
        awaitStarted(proxy);
        return new S3ProxyServer(proxy, blobs, null);
    }

    @Override
    public URI endpoint() {
        return caPem != null ? URI.create("https://127.0.0.1:" + proxy.getSecurePort())
                : URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    public void createBucket(String name) {
        blobs.createContainer(CreateBucketRequest.builder().bucket(name).build());
    }

    @Override
    public String accessKey() {
        return ACCESS_KEY;
    }

    @Override
    public String secretKey() {
        return SECRET_KEY;
    }

    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy did not stop", e);
        }
    }
}

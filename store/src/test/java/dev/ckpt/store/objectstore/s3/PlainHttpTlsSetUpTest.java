package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.testing.ChildClasspath;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client of a plain {@code http://} endpoint sets up no TLS: the JDK's TLS context and trust
 * store are never loaded (they cost 70-100 ms of every CLI run, docs/benchmarks.md), while a
 * client of an {@code https://} endpoint still sets them up. Each case builds one store in a fresh
 * JVM, where nothing else could have loaded the classes, and reads the JVM's class-loading log.
 * That requests over plain HTTP work is shown by every S3 contract test (S3Proxy and RGW are
 * reached over http://); that TLS works by {@link S3TlsTest}.
 */
class PlainHttpTlsSetUpTest {
    /** The class the JDK's TLS context is made of: loaded exactly when a client sets up TLS. */
    private static final String TLS_CONTEXT = "sun.security.ssl.SSLContextImpl ";

    @ParameterizedTest(name = "{0} client, {1} endpoint: TLS set up = {2}")
    @CsvSource({"AWS, http, false", "AWS, https, true", "MINIO, http, false", "MINIO, https, true"})
    void aClientOfAPlainHttpEndpointSetsUpNoTls(S3Config.Client client, String scheme, boolean tls) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xlog:class+load=info:stdout", "-cp", ChildClasspath.get(),
                Child.class.getName(), client.name(), scheme + "://127.0.0.1:9").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, p.exitValue(), out.lines().filter(l -> !l.contains("[class,load]")).toList().toString());
        assertTrue(out.contains("BUILT"), "the child built no store");
        assertEquals(tls, out.contains(TLS_CONTEXT), tls ? "an https:// client must set up TLS"
                : "a client of an http:// endpoint loaded the TLS context");
        if (!tls) {
            assertFalse(out.contains("sun.security.ssl.TrustStoreManager "), "the trust store was loaded");
        }
    }

    @org.junit.jupiter.api.Test
    void aTlsConnectionAskedOfAPlainHttpClientIsTlsSetUpThen() throws Exception {
        Tls.LazyApacheTls f = new Tls.LazyApacheTls();
        assertFalse(f.made(), "TLS was set up before any TLS connection was asked for");
        // a server that speaks no TLS: a TLS client's handshake fails there, a plain client's connect would not
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (java.net.Socket s = server.accept()) {
                    s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } catch (java.io.IOException ignored) {
                    // the client gave up
                }
            });
            t.start();
            java.net.InetSocketAddress at = new java.net.InetSocketAddress(server.getInetAddress(), server.getLocalPort());
            org.junit.jupiter.api.Assertions.assertThrows(javax.net.ssl.SSLException.class, () -> f.connectSocket(5000,
                    f.createSocket(null), new org.apache.http.HttpHost("localhost", at.getPort(), "https"), at, null,
                    new org.apache.http.protocol.BasicHttpContext()));
            t.join(10_000);
        }
        assertTrue(f.made());
    }

    /** Builds one store for the endpoint in {@code args[1]} with the client {@code args[0]}, closes it, prints BUILT. */
    public static final class Child {
        public static void main(String[] args) {
            S3Config c = S3Config.builder("bucket").endpoint(URI.create(args[1]))
                    .client(S3Config.Client.valueOf(args[0]), S3Config.Http.APACHE)
                    .credentials("access", "secret-not-a-real-one").probe(false).build();
            try (ObjectStore s = c.client() == S3Config.Client.MINIO ? new MinioObjectStore(c) : new AwsS3ObjectStore(c)) {
                System.out.println("BUILT " + s.getClass().getSimpleName());
            }
        }
    }
}

package dev.ckpt.store.objectstore.s3;

import com.sun.net.httpserver.HttpServer;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ObjectStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An endpoint that answers every request with a redirect (an ingress in front of the server
 * that sends http:// to https://, a wrong region on AWS): every client and operation fails
 * with a configuration error that says what to change, not a network error to retry, and no
 * client's own threads fail on the side (the MinIO client, limited to cleartext on an http://
 * endpoint, once followed the redirect to https:// and failed inside OkHttp's threads).
 */
class RedirectingEndpointTest {
    private HttpServer server;
    private final List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    private Thread.UncaughtExceptionHandler before;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            int code = Integer.parseInt(ex.getRequestURI().getPath().split("/")[1].substring("redirect".length()));
            // to https:// (an ingress forcing TLS), or back to this server for 302 and 303 (a loop if followed)
            // with a signature in the query, which no message may show
            String uri = ex.getRequestURI().toString();
            ex.getResponseHeaders().add("Location", (code == 302 || code == 303
                    ? "http://127.0.0.1:" + server.getAddress().getPort() : "https://127.0.0.1:9") + uri
                    + (uri.contains("?") ? "&" : "?") + "X-Amz-Signature=0123456789abcdef");
            if (code == 301) {
                ex.getResponseHeaders().add("x-amz-bucket-region", "eu-west-1"); // AWS S3's answer from another region
            }
            ex.sendResponseHeaders(code, -1);
            ex.close();
        });
        server.start();
        before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    }

    @AfterEach
    void stop() {
        Thread.setDefaultUncaughtExceptionHandler(before);
        server.stop(0);
    }

    @ParameterizedTest(name = "{0}/{1}, HTTP {2}")
    @CsvSource({"AWS, APACHE, 301", "AWS, URL_CONNECTION, 307", "MINIO, APACHE, 301", "MINIO, APACHE, 308",
            "AWS, APACHE, 302", "MINIO, APACHE, 302", "MINIO, APACHE, 303"})
    void aRedirectIsAConfigurationErrorSayingWhatToChange(S3Config.Client client, S3Config.Http http, int code)
            throws Exception {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        S3Config c = S3Config.builder("redirect" + code).endpoint(endpoint).client(client, http)
                .credentials("access", "secret-not-a-real-one").probe(false).build();
        try (ObjectStore s = S3ObjectStores.open(c)) {
            List<org.junit.jupiter.api.function.Executable> ops = List.of(() -> s.get("ROOT"),
                    () -> s.put("chunks/x", new byte[] {1, 2}), () -> s.list("manifests/").iterator().hasNext());
            for (int i = 0; i < ops.size(); i++) {
                CkptException e = assertThrows(CkptException.class, ops.get(i), "get, put, list: " + i);
                assertTrue(e instanceof dev.ckpt.store.error.EndpointRedirectException,
                        e.getClass().getSimpleName() + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("with a redirect") && e.getMessage().contains("HTTP " + code)
                        && e.getMessage().contains("AWS_ENDPOINT_URL") && e.getMessage().contains("AWS_REGION"),
                        e.getMessage());
                assertFalse(e.getMessage().contains("retrying later is safe"), e.getMessage());
                String to = (code == 302 || code == 303 ? "http://127.0.0.1:" + server.getAddress().getPort()
                        : "https://127.0.0.1:9") + "/redirect" + code;
                assertTrue(e.getMessage().contains("with a redirect to " + to), "names where it points: " + e.getMessage());
                assertFalse(e.getMessage().contains("X-Amz-Signature") || e.getMessage().contains("0123456789abcdef"),
                        "no query of the location: " + e.getMessage());
                assertEquals(code == 301, e.getMessage().contains("Set AWS_REGION=eu-west-1 (or --region eu-west-1)"),
                        "the bucket's region where the server named it: " + e.getMessage());
            }
        }
        try (ObjectStore s = S3ObjectStores.open(c.toBuilder().probe(false).build())) {
            // the conditional-write probe gives no verdict on a redirect (it said "does not honour conditional writes")
            assertThrows(dev.ckpt.store.error.EndpointRedirectException.class,
                    () -> dev.ckpt.store.objectstore.ConditionalWriteProbe.run(s));
        }
        Thread.sleep(200); // a client thread failing on the side would have reported by now
        assertEquals(List.of(), uncaught, "a client's own thread failed");
    }
}

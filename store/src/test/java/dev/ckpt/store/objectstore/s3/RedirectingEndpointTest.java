package dev.ckpt.store.objectstore.s3;

import com.sun.net.httpserver.HttpServer;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ObjectStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
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
            String bucket = ex.getRequestURI().getPath().split("/")[1];
            boolean xml = bucket.startsWith("xml"); // AWS S3's own form: an XML error body
            int code = Integer.parseInt(bucket.substring(bucket.indexOf("redirect") + "redirect".length()));
            // to https:// (an ingress forcing TLS), or back to this server for 302 and 303 (a loop if followed)
            // with a signature in the query, which no message may show
            String uri = ex.getRequestURI().toString();
            ex.getResponseHeaders().add("Location", (code == 302 || code == 303
                    ? "http://127.0.0.1:" + server.getAddress().getPort() : "https://127.0.0.1:9") + uri
                    + (uri.contains("?") ? "&" : "?") + "X-Amz-Signature=0123456789abcdef");
            if (code == 301) {
                ex.getResponseHeaders().add("x-amz-bucket-region", "eu-west-1"); // AWS S3's answer from another region
            }
            if (xml && !ex.getRequestMethod().equals("HEAD")) {
                byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code><Message>The"
                        + " bucket you are attempting to access must be addressed using the specified endpoint.</Message>"
                        + "</Error>\nLocation: https://spoofed.example/body\nx-amz-bucket-region: ap-south-1\n")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/xml");
                ex.sendResponseHeaders(code, body.length);
                ex.getResponseBody().write(body);
            } else {
                ex.sendResponseHeaders(code, -1);
            }
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

    /**
     * AWS S3's own redirect (an XML error body, whose text the MinIO client reports in its
     * trace) names the real headers' target and region, never lines of the body; a region
     * that is the one already set gives no region advice (the endpoint is what to change).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"AWS", "MINIO"})
    void anAwsStyleRedirectNamesTheHeadersTargetAndRegionNotTheBodys(S3Config.Client client) throws Exception {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        S3Config c = S3Config.builder("xmlredirect301").endpoint(endpoint).client(client, S3Config.Http.APACHE)
                .credentials("access", "secret-not-a-real-one").probe(false).build();
        try (ObjectStore s = S3ObjectStores.open(c)) {
            CkptException e = assertThrows(CkptException.class, () -> s.get("ROOT"));
            assertTrue(e.getMessage().contains("with a redirect to https://127.0.0.1:9/xmlredirect301/ROOT")
                    && e.getMessage().contains("Set AWS_REGION=eu-west-1"), e.getMessage());
            assertFalse(e.getMessage().contains("spoofed") || e.getMessage().contains("ap-south-1"), e.getMessage());
        }
        try (ObjectStore s = S3ObjectStores.open(c.toBuilder().region("eu-west-1").build())) {
            CkptException e = assertThrows(CkptException.class, () -> s.get("ROOT"));
            assertFalse(e.getMessage().contains("Set AWS_REGION"), "the region is already set: " + e.getMessage());
            assertTrue(e.getMessage().contains("set the endpoint"), e.getMessage());
        }
    }

    @Test
    void aLocationIsShownWithoutQueryUserInfoOrCharactersThatTurnTheLine() {
        assertEquals("https://example.com:8443/a/b", S3Errors.withoutQuery("https://u:hunter2@example.com:8443/a/b?X-Amz-Signature=1#f"));
        assertEquals("//otherhost:9000/path", S3Errors.withoutQuery("//otherhost:9000/path"));
        assertEquals("https://bad_host.example/x", S3Errors.withoutQuery("https://user:hunter2@bad_host.example/x"));
        assertEquals("https://example.com/x%E2%80%AEgpj.exe", S3Errors.withoutQuery("https://example.com/x\u202Egpj.exe"));
        assertEquals("http://[::1]:9000/x", S3Errors.withoutQuery("http://[::1]:9000/x"));
        assertEquals(203, S3Errors.withoutQuery("https://example.com/" + "a".repeat(10_000)).length());
        assertEquals(null, S3Errors.withoutQuery(":::"));
        assertEquals(null, S3Errors.withoutQuery(""));
    }

    @Test
    void theMinioTraceIsReadForTheAnswersHeadersOnly() {
        String trace = "---------START-HTTP---------\nGET /b/k HTTP/1.1\nHost: h\nLocation: https://request.example/\n\n"
                + "HTTP/1.1 302\nContent-Type: text/plain\nLocation: https://real.example/right\n"
                + "Location: https://second.example/\n\nLocation: https://body.example/spoofed\n"
                + "x-amz-bucket-region: ap-south-1\nHTTP/1.1 200 OK\nx-amz-bucket-region: ap-south-1\n"
                + "----------END-HTTP----------\n";
        assertEquals("https://real.example/right", MinioTrace.header(trace, "Location"));
        assertEquals(null, MinioTrace.header(trace, "x-amz-bucket-region"), "a body line is no header");
        assertEquals(null, MinioTrace.header("HTTP/1.1 301\n<pre>\nLocation: https://x/\n", "Location"));
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

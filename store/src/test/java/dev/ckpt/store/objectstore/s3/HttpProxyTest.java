package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.bench.ThrottledLink;
import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ObjectStore;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.apache.ProxyConfiguration;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The MinIO client goes through the HTTP proxy the AWS client would use (the SDK's
 * {@link ProxyConfiguration}: HTTP_PROXY, NO_PROXY, the proxy URL's user): it had gone straight to
 * the endpoint. The endpoint's host here, {@code s3.invalid}, resolves nowhere (RFC 2606), so a
 * request only reaches the S3 server through the proxy: a TCP relay to it (the server takes the
 * proxy form of the request line, {@code PUT http://s3.invalid:PORT/...}, as HTTP/1.1 servers must).
 */
class HttpProxyTest {
    static S3ProxyServer server;
    static ThrottledLink relay;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("proxied");
        relay = new ThrottledLink(server.endpoint().getPort(), Long.MAX_VALUE / 4);
    }

    @AfterAll
    static void stop() throws Exception {
        relay.close();
        server.close();
    }

    private static S3Config config() {
        return S3Config.builder("proxied").endpoint(URI.create("http://s3.invalid:" + server.endpoint().getPort()))
                .client(S3Config.Client.MINIO, S3Config.Http.APACHE).credentials(server.accessKey(), server.secretKey())
                .timeouts(Duration.ofSeconds(5), Duration.ofSeconds(20), 1).probe(false).build();
    }

    private static ProxyConfiguration proxy(Set<String> direct) {
        return ProxyConfiguration.builder().endpoint(URI.create("http://127.0.0.1:" + relay.port())).nonProxyHosts(direct)
                .useEnvironmentVariableValues(false).useSystemPropertyValues(false).build();
    }

    private static ProxyConfiguration none() {
        return ProxyConfiguration.builder().useEnvironmentVariableValues(false).useSystemPropertyValues(false).build();
    }

    @Test
    void requestsGoThroughTheProxyExceptToTheHostsOfNoProxy() {
        byte[] data = "through the proxy".getBytes(StandardCharsets.UTF_8);
        try (ObjectStore s = new MinioObjectStore(config(), proxy(Set.of()))) {
            s.put("k", data);
            assertArrayEquals(data, s.get("k").data());
            assertTrue(s.server().orElseThrow().endsWith("client minio, through the HTTP proxy 127.0.0.1:" + relay.port()),
                    s.server().orElseThrow());
        }
        try (ObjectStore s = new MinioObjectStore(config(), proxy(Set.of("s3.invalid")))) {
            assertTrue(s.server().orElseThrow().endsWith(", direct (NO_PROXY names its host; HTTP proxy 127.0.0.1:"
                    + relay.port() + " for others)"), s.server().orElseThrow());
        }
        try (ObjectStore s = new MinioObjectStore(config(), none())) {
            assertTrue(s.server().orElseThrow().endsWith("client minio"), s.server().orElseThrow());
        }
        // the same store without a proxy, or with the endpoint's host in NO_PROXY ("*" as the SDK turns it), cannot
        // reach the server: the host resolves nowhere, so the proxy was what carried the requests above
        for (ProxyConfiguration direct : new ProxyConfiguration[] {none(), proxy(Set.of("s3.invalid")),
                proxy(Set.of("localhost", "*.invalid"))}) {
            try (ObjectStore s = new MinioObjectStore(config(), direct)) {
                CkptException e = assertThrows(CkptException.class, () -> s.get("k"), direct.toString());
                assertTrue(e.getMessage().contains("s3.invalid"), e.getMessage());
            }
        }
        // entries as the SDK hands them on: NO_PROXY's "*.invalid" as ".*?.invalid", http.nonProxyHosts' as written
        assertTrue(HttpProxy.pattern(".*?.invalid").matcher("s3.invalid").matches());
        assertTrue(HttpProxy.pattern("*.invalid").matcher("s3.invalid").matches());
        assertFalse(HttpProxy.pattern("*.invalid").matcher("s3xinvalid").matches());
        assertTrue(HttpProxy.pattern("S3.Invalid").matcher("s3.invalid").matches());
        // a NO_PROXY entry for another host leaves the proxy in use
        try (ObjectStore s = new MinioObjectStore(config(), proxy(Set.of("localhost", "*.example.com")))) {
            assertArrayEquals(data, s.get("k").data());
        }
    }

    @Test
    void aProxyAskingForCredentialsGetsTheUserAndPasswordOfItsUrlOnce() throws Exception {
        Request first = new Request.Builder().url("http://s3.invalid:9000/proxied/k").build();
        Response challenge = new Response.Builder().request(first).protocol(Protocol.HTTP_1_1).code(407)
                .message("Proxy Authentication Required").header("Proxy-Authenticate", "Basic realm=\"p\"").build();
        okhttp3.Authenticator a = HttpProxy.authenticator(okhttp3.Credentials.basic("user", "pa:ss"));
        Request again = a.authenticate(null, challenge);
        assertEquals("Basic dXNlcjpwYTpzcw==", again.header("Proxy-Authorization")); // base64 of "user:pa:ss"
        Response refused = challenge.newBuilder().request(again).build();
        assertNull(a.authenticate(null, refused), "credentials refused: the 407 is the answer, not a loop");
    }

    @Test
    void anHttpsProxyIsRefusedSayingWhatToDo() {
        ProxyConfiguration https = ProxyConfiguration.builder().endpoint(URI.create("https://proxy.corp:3129"))
                .username("user").password("secret-pw").useEnvironmentVariableValues(false).useSystemPropertyValues(false)
                .build();
        String m = assertThrows(BadConfigurationException.class, () -> new MinioObjectStore(config(), https)).getMessage();
        assertTrue(m.contains("proxy.corp:3129") && m.contains("CKPT_S3_CLIENT=aws"), m);
        assertFalse(m.contains("secret-pw"), m);
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * S3 over HTTPS with a private CA, as on-prem MinIO often runs: the server's self-signed
 * certificate is trusted through {@code AWS_CA_BUNDLE}, for each client; without it the
 * connection is refused, and a bad bundle is a configuration error naming the file.
 */
class S3TlsTest {
    @TempDir
    static Path dir;
    static S3ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.startTls(dir.resolve("tls"));
        server.createBucket("tls");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static S3Config config(String prefix, String client, String http, Path ca) {
        Map<String, String> env = new java.util.HashMap<>(server.env(S3Config.Client.valueOf(client), S3Config.Http.valueOf(http)));
        if (ca != null) {
            env.put("AWS_CA_BUNDLE", ca.toString());
        }
        return S3Config.fromUrl("s3://tls/" + prefix, env);
    }

    @ParameterizedTest
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void everyClientTalksHttpsWhenTheCaBundleIsGiven(String client, String http) throws Exception {
        S3Config cfg = config(client + "-" + http, client, http, server.caPem());
        assertTrue(server.endpoint().toString().startsWith("https://"));
        try (ObjectStore s = S3ObjectStores.open(cfg)) {
            byte[] v1 = "one".getBytes(StandardCharsets.UTF_8);
            assertEquals(PutResult.CREATED, s.putIfAbsent("k", v1, 0, v1.length));
            assertEquals(PutResult.ALREADY_EXISTS, s.putIfAbsent("k", "other".getBytes(StandardCharsets.UTF_8), 0, 5));
            String etag = s.head("k").orElseThrow().etag();
            s.putIfMatch("k", "two".getBytes(StandardCharsets.UTF_8), etag);
            assertArrayEquals("two".getBytes(StandardCharsets.UTF_8), s.get("k").data());
        }
        Path src = TestDirs.checkpoint(dir.resolve("src-" + client + http), 3, 3, 200_000);
        try (CheckpointStore store = CheckpointStore.open(S3ObjectStores.open(cfg), StoreConfig.defaults())) {
            SaveResult r = store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1));
            store.restore(r.checkpointId(), dir.resolve("out-" + client + http));
            TestDirs.assertSameTree(TestDirs.snapshot(src), dir.resolve("out-" + client + http));
            assertTrue(store.verify(VerifyRequest.deep()).ok());
        }
    }

    @ParameterizedTest
    @CsvSource({"AWS, APACHE", "MINIO, APACHE"})
    void withoutTheBundleTheServerIsNotTrusted(String client, String http) {
        S3Config cfg = config("untrusted", client, http, null).withProbe(false);
        CkptException e = assertThrows(CkptException.class, () -> {
            try (ObjectStore s = S3ObjectStores.open(cfg)) {
                s.get("anything");
            }
        });
        assertTrue(e.getMessage().contains("s3://tls/untrusted/anything"), e.getMessage());
        assertTrue(e.getMessage().toLowerCase().matches("(?s).*(certif|pkix|ssl|handshake|trust).*"), e.getMessage());
    }

    /**
     * TLS set-ups that no retry mends are configuration errors (exit 1) saying what to change, not
     * "network or server unreachable; retrying later is safe" (helper-102): an https:// endpoint
     * whose server speaks plain HTTP, and a certificate of a CA not trusted.
     */
    @ParameterizedTest
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void tlsSetUpsThatNoRetryMendsSayWhatToChange(String client, String http) throws Exception {
        try (S3ProxyServer plain = S3ProxyServer.start(dir.resolve("plain-" + client + http))) {
            Map<String, String> env = new java.util.HashMap<>(plain.env(S3Config.Client.valueOf(client),
                    S3Config.Http.valueOf(http)));
            String https = plain.endpoint().toString().replaceFirst("^http:", "https:");
            env.put("AWS_ENDPOINT_URL", https);
            S3Config cfg = S3Config.fromUrl("s3://tls/plain", env).withProbe(false);
            BadConfigurationException e = assertThrows(BadConfigurationException.class, () -> {
                try (ObjectStore s = S3ObjectStores.open(cfg)) {
                    s.get("anything");
                }
            });
            assertTrue(e.getMessage().contains("s3://tls/plain/anything: the endpoint is https:// but the server answered"
                    + " in plain HTTP, without TLS: if it serves plain HTTP, write the endpoint with http://"), e.getMessage());
        }
        S3Config untrusted = config("untrusted-" + client + http, client, http, null).withProbe(false);
        BadConfigurationException e = assertThrows(BadConfigurationException.class, () -> {
            try (ObjectStore s = S3ObjectStores.open(untrusted)) {
                s.get("anything");
            }
        });
        assertTrue(e.getMessage().contains("the server's TLS certificate is not signed by a CA this process trusts"),
                e.getMessage());
        assertTrue(e.getMessage().contains("give its PEM certificates in AWS_CA_BUNDLE=/path/ca.pem"), e.getMessage());
    }

    @Test
    void aBadBundleIsAConfigurationErrorNamingTheFile() throws Exception {
        Path missing = dir.resolve("nope.pem");
        BadConfigurationException e = assertThrows(BadConfigurationException.class,
                () -> S3ObjectStores.open(config("x", "AWS", "APACHE", missing)).close());
        assertTrue(e.getMessage().contains("cannot read the CA bundle " + missing + " (AWS_CA_BUNDLE)"), e.getMessage());
        Path junk = dir.resolve("junk.pem");
        Files.writeString(junk, "not a certificate");
        e = assertThrows(BadConfigurationException.class, () -> S3ObjectStores.open(config("x", "MINIO", "APACHE", junk)).close());
        assertTrue(e.getMessage().contains("the CA bundle " + junk + " (AWS_CA_BUNDLE)"), e.getMessage());
    }

    /** On a plain http:// endpoint no certificate is checked: the bundle is not even read (it cost every process ~0.3 s of CPU). */
    @ParameterizedTest
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void onAPlainHttpEndpointTheBundleIsNotRead(String client, String http) throws Exception {
        Map<String, String> env = new java.util.HashMap<>(server.env(S3Config.Client.valueOf(client), S3Config.Http.valueOf(http)));
        env.put("AWS_ENDPOINT_URL", "http://127.0.0.1:9"); // never contacted: opening a store sends no request
        env.put("AWS_CA_BUNDLE", dir.resolve("absent.pem").toString());
        S3Config cfg = S3Config.fromUrl("s3://tls/plain", env);
        assertEquals(null, cfg.tlsCaBundle());
        S3ObjectStores.open(cfg).close();
        env.put("AWS_ENDPOINT_URL", "https://127.0.0.1:9");
        assertEquals(dir.resolve("absent.pem"), S3Config.fromUrl("s3://tls/plain", env).tlsCaBundle());
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ObjectStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Server-side encryption settings reach the wire: the requests, recorded by a TCP proxy in
 * front of the test server, carry the SSE headers S3 defines. (S3Proxy does not encrypt;
 * what the server does with the headers is AWS's or MinIO's part.)
 */
class S3SseTest {
    static S3ProxyServer server;
    static ChaosProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("sse");
        proxy = new ChaosProxy(server.endpoint().getPort(), 0, 1);
        proxy.enabled = false;
        proxy.record = true;
    }

    @AfterAll
    static void stop() throws Exception {
        proxy.close();
        server.close();
    }

    private static String putWith(String client, String sse, String kmsKey, String key) {
        Map<String, String> env = new HashMap<>(server.env(S3Config.Client.valueOf(client), S3Config.Http.APACHE));
        env.put("AWS_ENDPOINT_URL", proxy.endpoint().toString());
        env.put("CKPT_S3_SSE", sse);
        if (kmsKey != null) {
            env.put("CKPT_S3_KMS_KEY_ID", kmsKey);
        }
        S3Config cfg = S3Config.fromUrl("s3://sse/" + client.toLowerCase(Locale.ROOT), env).withProbe(false);
        int before = proxy.recorded().length();
        try (ObjectStore s = S3ObjectStores.open(cfg)) {
            s.put(key, "secret-ish".getBytes(StandardCharsets.UTF_8));
        } catch (CkptException e) {
            // the test server may refuse SSE-KMS; the request as sent is what is checked here
        }
        return proxy.recorded().substring(before).toLowerCase(Locale.ROOT);
    }

    @Test
    void sseS3AddsTheAes256HeaderForBothClients() {
        for (String client : new String[]{"AWS", "MINIO"}) {
            String sent = putWith(client, "s3", null, "s3-" + client);
            assertTrue(sent.contains("x-amz-server-side-encryption: aes256"), client + " sent:\n" + head(sent));
        }
    }

    @Test
    void sseKmsAddsTheKmsHeadersWithTheKey() {
        String sent = putWith("AWS", "kms", "alias/ckpt-test", "kms-aws");
        assertTrue(sent.contains("x-amz-server-side-encryption: aws:kms"), head(sent));
        assertTrue(sent.contains("x-amz-server-side-encryption-aws-kms-key-id: alias/ckpt-test"), head(sent));
    }

    @Test
    void minioClientSseKmsOverPlainHttpIsRefusedClearly() {
        Map<String, String> env = new HashMap<>(server.env(S3Config.Client.MINIO, S3Config.Http.APACHE));
        env.put("CKPT_S3_SSE", "kms");
        S3Config cfg = S3Config.fromUrl("s3://sse/minio-kms", env).withProbe(false);
        dev.ckpt.store.error.BadConfigurationException e = org.junit.jupiter.api.Assertions.assertThrows(
                dev.ckpt.store.error.BadConfigurationException.class, () -> S3ObjectStores.open(cfg).close());
        assertTrue(e.getMessage().contains("CKPT_S3_SSE=kms needs an https:// endpoint with the MinIO client")
                && e.getMessage().contains(server.endpoint().toString()), e.getMessage());
    }

    @Test
    void withoutSseNoEncryptionHeaderIsSent() {
        String sent = putWith("AWS", "none", null, "plain");
        assertTrue(sent.contains("put /sse/aws/plain"), head(sent));
        assertTrue(!sent.contains("x-amz-server-side-encryption"), head(sent));
    }

    private static String head(String s) {
        return s.length() > 3000 ? s.substring(0, 3000) : s;
    }
}

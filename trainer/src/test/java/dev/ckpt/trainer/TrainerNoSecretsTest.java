package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.s3.AuthEchoServer;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ckpt-train against a server that echoes the Authorization header, the access key and the
 * secret in its 403 errors, through each S3 client set-up: its output shows none of them,
 * nor a signature — on the store's error path and on the path of an error nothing mapped,
 * which prints a stack trace.
 */
class TrainerNoSecretsTest {
    @TempDir
    Path tmp;

    private static String run(String[] args, Map<String, String> env, java.util.function.Function<String, CheckpointStore> open) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Trainer.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env, open, false);
        String all = "exit " + code + "\nstdout:\n" + out.toString(StandardCharsets.UTF_8) + "stderr:\n"
                + err.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, all);
        return all;
    }

    private static void assertNoSecret(AuthEchoServer server, String text) {
        assertFalse(text.contains(server.accessKey()), "the access key id:\n" + text);
        assertFalse(text.contains(server.secretKey()), "the secret:\n" + text);
        assertFalse(text.contains("Signature="), "Signature=:\n" + text);
        assertTrue(text.contains("[redacted]"), "the server's echo reached the output, redacted:\n" + text);
    }

    @Test
    void anAccessDeniedStoreShowsNoCredentialOrSignatureInAnyOutput() throws Exception {
        try (AuthEchoServer server = AuthEchoServer.start()) {
            Object[][] clients = {
                    {S3Config.Client.AWS, S3Config.Http.APACHE},
                    {S3Config.Client.AWS, S3Config.Http.URL_CONNECTION},
                    {S3Config.Client.MINIO, S3Config.Http.APACHE}};
            for (Object[] c : clients) {
                Map<String, String> env = server.env((S3Config.Client) c[0], (S3Config.Http) c[1]);
                String[] args = {"--store", "s3://bucket/runs", "--staging", tmp.resolve("staging").toString(),
                        "--steps", "4", "--save-every", "2"};
                String mapped = run(args, env, url -> CheckpointStore.open(S3ObjectStores.open(S3Config.fromUrl(url, env)),
                        StoreConfig.defaults()));
                assertTrue(mapped.contains("ckpt-train: access denied"), mapped);
                assertNoSecret(server, mapped);
                // an error no one mapped (here: the raw client exception) is printed with its stack trace
                String unmapped = run(args, env, url -> {
                    CheckpointStore s = CheckpointStore.open(S3ObjectStores.open(S3Config.fromUrl(url, env)),
                            StoreConfig.defaults());
                    try {
                        s.root();
                    } catch (RuntimeException e) {
                        s.close();
                        throw new IllegalStateException("unmapped: " + e.getCause(), e.getCause());
                    }
                    return s;
                });
                assertTrue(unmapped.contains("ckpt-train: unexpected error") && unmapped.contains("Caused by: "), unmapped);
                assertNoSecret(server, unmapped);
            }
        }
    }
}

package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ckpt-train exits with the codes of the table it shares with ckpt-tool. (Fenced exits 4:
 * TrainerTest#aJobWhoseRunWasClaimedBySuccessorStopsInsteadOfOverwritingIt.)
 */
class TrainerExitCodeTest {
    @TempDir
    Path tmp;

    @Test
    void aStoreWhoseServerDoesNotAnswerExitsUnavailableAsCkptToolDoes() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: connections are refused
        }
        Map<String, String> env = Map.of("AWS_ENDPOINT_URL", "http://127.0.0.1:" + port, "AWS_ACCESS_KEY_ID", "k",
                "AWS_SECRET_ACCESS_KEY", "s", "AWS_REGION", "us-east-1");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Trainer.run(new String[]{"--store", "s3://bucket/ckpt", "--run", "t", "--steps", "10",
                        "--staging", tmp.resolve("staging").toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of(), url -> CheckpointStore.open(S3ObjectStores.open(url, env), StoreConfig.defaults()), false);
        String all = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
        assertEquals(ExitCode.UNAVAILABLE.code(), code, all);
        assertEquals(7, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("retrying later is safe"), all);
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A store URL whose bucket does not exist (a typo, the wrong endpoint, a bucket not yet
 * created) is named as such by every command and both clients, as a configuration error
 * (exit 1): not "object not found: s3://nobucket/p/manifests/", and doctor gives no verdict
 * on the server's conditional writes (it said "NOT honoured", exit 5).
 */
class MissingBucketCliTest {
    static S3ProxyServer server;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("there");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @EnumSource(value = S3Config.Client.class)
    void everyCommandSaysTheBucketDoesNotExistAndWhatToDo(S3Config.Client client) throws Exception {
        Cli cli = new Cli(server.env(client, client == S3Config.Client.AWS ? S3Config.Http.APACHE : S3Config.Http.URL_CONNECTION),
                "--progress", "none");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 2, 1000);
        String store = "s3://nobucket/p";
        List<List<String>> commands = List.of(List.of("ls", store), List.of("init", store),
                List.of("push", store, src.toString(), "--run", "r", "--step", "1"),
                List.of("restore", store, "latest", tmp.resolve("out").toString()), List.of("verify", store),
                List.of("gc", store), List.of("show", store, "latest"), List.of("doctor", store));
        for (List<String> c : commands) {
            Cli.Result r = cli.run(c.toArray(String[]::new));
            String all = r.out() + r.err();
            assertEquals(1, r.code(), c + ": " + r);
            assertTrue(all.contains("bucket 'nobucket' does not exist") && all.contains("create the bucket"), c + ": " + r);
            assertFalse(all.contains("object not found") || all.contains("NOT honoured") || all.contains("Exception"),
                    c + ": " + r);
        }
        assertFalse(Files.exists(tmp.resolve("out")), "a failed restore creates nothing");
        Cli.Result ok = cli.run("push", "s3://there/p", src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, ok.code(), "the same push into a bucket that exists: " + ok);
    }
}

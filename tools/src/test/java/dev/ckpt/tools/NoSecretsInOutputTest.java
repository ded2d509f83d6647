package dev.ckpt.tools;

import dev.ckpt.store.objectstore.s3.AuthEchoServer;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every ckpt-tool command, through each S3 client set-up, against a server that echoes the
 * Authorization header, the access key and the secret in its 403 errors (body and
 * headers): no stdout, stderr, JSON or --verbose stack trace shows the key id, the
 * secret, a signature or {@code Signature=}. The JVM's own System.out and System.err are
 * captured too, in case a library prints on its own.
 */
class NoSecretsInOutputTest {
    static AuthEchoServer server;

    @TempDir
    static Path tmp;
    static Path src;
    static Path archive;

    @BeforeAll
    static void start() throws Exception {
        server = AuthEchoServer.start();
        // a real checkpoint and archive, so push and import get as far as the server
        src = TestDirs.checkpoint(tmp.resolve("src"), 3, 2, 20_000);
        Path local = tmp.resolve("local");
        Cli localCli = new Cli(Map.of(), "--progress", "none");
        Cli.Result pushed = localCli.run("push", local.toString(), src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, pushed.code(), pushed.toString());
        archive = tmp.resolve("a.tar.zst");
        assertEquals(0, localCli.run("export", local.toString(), "latest", archive.toString()).code());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static List<String[]> commands(String store) {
        return List.of(
                new String[]{"init", store},
                new String[]{"push", store, src.toString(), "--run", "r", "--step", "2"},
                new String[]{"ls", store},
                new String[]{"show", store, "latest"},
                new String[]{"restore", store, "latest", tmp.resolve("out").toString()},
                new String[]{"verify", store, "--read-data"},
                new String[]{"forget", store, "--keep-last", "1"},
                new String[]{"pin", store, "latest"},
                new String[]{"unpin", store, "latest"},
                new String[]{"gc", store},
                new String[]{"diff", store, "r@1", "r@2"},
                new String[]{"stats", store},
                new String[]{"doctor", store},
                new String[]{"export", store, "latest", tmp.resolve("x.tar.zst").toString()},
                new String[]{"import", store, archive.toString(), "--run", "r", "--step", "3"});
    }

    @Test
    void noCommandPrintsTheKeyIdTheSecretOrASignatureWithAnyClient() {
        Object[][] clients = {
                {S3Config.Client.AWS, S3Config.Http.APACHE},
                {S3Config.Client.AWS, S3Config.Http.URL_CONNECTION},
                {S3Config.Client.MINIO, S3Config.Http.APACHE}};
        List<String[]> variants = List.of(new String[]{}, new String[]{"--verbose"},
                new String[]{"--verbose", "--json", "--progress", "plain"});
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream jvm = new ByteArrayOutputStream();
        List<String> failures = new ArrayList<>();
        int runs = 0;
        int masked = 0;
        try {
            System.setOut(new PrintStream(jvm, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(jvm, true, StandardCharsets.UTF_8));
            for (Object[] c : clients) {
                Cli cli = new Cli(server.env((S3Config.Client) c[0], (S3Config.Http) c[1]));
                for (String[] cmd : commands("s3://bucket/p")) {
                    for (String[] v : variants) {
                        List<String> args = new ArrayList<>(List.of(cmd));
                        args.addAll(List.of(v));
                        Cli.Result r = cli.run(args.toArray(String[]::new));
                        runs++;
                        String all = r.out() + r.err();
                        if (r.code() == 0) {
                            failures.add("expected a failure (access denied): " + c[0] + "/" + c[1] + " " + args + "\n" + r);
                        }
                        if (all.contains("[redacted]")) {
                            masked++;
                        }
                        String leak = leak(all);
                        if (leak != null) {
                            failures.add(leak + " in " + c[0] + "/" + c[1] + " " + args + "\n" + r);
                        }
                    }
                }
            }
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        String leak = leak(jvm.toString(StandardCharsets.UTF_8));
        if (leak != null) {
            failures.add(leak + " on the JVM's own System.out/System.err:\n" + jvm.toString(StandardCharsets.UTF_8));
        }
        assertTrue(failures.isEmpty(), failures.size() + " of " + runs + " runs:\n" + String.join("\n\n", failures));
        assertFalse(server.authorizations().isEmpty(), "the commands reached the server");
        assertTrue(masked > runs / 2, "the server's echo did reach the output, redacted (" + masked + " of " + runs + ")");
    }

    /** What secret {@code text} shows, or null. */
    private static String leak(String text) {
        if (text.contains(server.accessKey())) {
            return "the access key id";
        }
        if (text.contains(server.secretKey())) {
            return "the secret key";
        }
        if (text.contains("Signature=")) {
            return "Signature=";
        }
        for (String auth : server.authorizations()) {
            int i = auth.indexOf("Signature=");
            if (i >= 0 && text.contains(auth.substring(i + "Signature=".length()))) {
                return "a request signature";
            }
        }
        return null;
    }
}

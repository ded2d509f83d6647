package dev.ckpt.tools;

import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A store that cannot be reached as set up, said as such by every command and both clients.
 * No credentials, through the AWS SDK's real default chain (in a child JVM, whose environment
 * the chain reads): what is missing or what cannot work, exit 1 (not "unreachable, retrying
 * later is safe", exit 7, with the chain's list of provider classes). A bucket that does not
 * exist (a typo, the wrong endpoint, not yet created): exit 1, not "object not found:
 * s3://nobucket/p/manifests/". And doctor gives no verdict on the server's conditional writes
 * for either (it said "NOT honoured", exit 5).
 */
class S3SetupErrorsCliTest {
    static S3ProxyServer server;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("creds");
        server.createBucket("there");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private Map<String, String> env(S3Config.Client client) throws Exception {
        Map<String, String> env = new HashMap<>(server.env(client, client == S3Config.Client.AWS
                ? S3Config.Http.APACHE : S3Config.Http.URL_CONNECTION));
        env.put("AWS_ACCESS_KEY_ID", null);
        env.put("AWS_SECRET_ACCESS_KEY", null);
        env.put("AWS_SESSION_TOKEN", null);
        env.put("AWS_PROFILE", null);
        env.put("AWS_WEB_IDENTITY_TOKEN_FILE", null);
        env.put("AWS_CONTAINER_CREDENTIALS_FULL_URI", null);
        env.put("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", null);
        env.put("AWS_EC2_METADATA_DISABLED", "true"); // no request to 169.254.169.254 from a test
        env.put("AWS_SHARED_CREDENTIALS_FILE", tmp.resolve("credentials").toString());
        Path config = tmp.resolve("config");
        Files.writeString(config, "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/ckpt\nsource_profile = keys\n"
                + "[profile keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = not-a-secret\n"
                + "[profile empty]\nregion = us-east-1\n"
                + "[profile proc]\ncredential_process = sh -c 'echo token service down >&2; exit 3'\n");
        env.put("AWS_CONFIG_FILE", config.toString());
        return env;
    }

    @Test
    void everyCommandSaysWhatIsMissingBothClients() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 2, 1000);
        for (S3Config.Client client : S3Config.Client.values()) {
            List<Cli.Result> rs = ChildCli.run(tmp.resolve("work-" + client), env(client), List.of(
                    List.of("ls", "s3://creds/p"),
                    List.of("push", "s3://creds/p", src.toString(), "--run", "r", "--step", "1", "--progress", "none"),
                    List.of("doctor", "s3://creds/p")));
            for (Cli.Result r : rs) {
                String all = r.out() + r.err();
                assertEquals(1, r.code(), client + ": " + r);
                assertTrue(all.contains("no S3 credentials to ") && all.contains("none are set. Set AWS_ACCESS_KEY_ID"
                        + " and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"), client + ": " + r);
                assertTrue(all.contains(tmp.resolve("credentials") + " or " + tmp.resolve("config")), client + ": " + r);
                assertFalse(all.contains("CredentialsProvider") || all.contains("retrying later")
                        || all.contains("NOT honoured"), client + ": " + r);
            }
        }
    }

    @Test
    void aProfileThatIsSetButCannotWorkIsNamedWithItsReason() throws Exception {
        Map<String, String> env = env(S3Config.Client.AWS);
        env.put("AWS_PROFILE", "role");
        Cli.Result role = ChildCli.run(tmp.resolve("role"), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
        assertEquals(1, role.code(), role.toString());
        assertTrue(role.err().contains("profile 'role' (AWS_PROFILE) assumes a role (role_arn), which ckpt cannot do")
                && role.err().contains("aws configure export-credentials --profile role --format env"), role.toString());
        assertFalse(role.err().contains("Set AWS_ACCESS_KEY_ID"), "not told to set what is set: " + role);
        env.put("AWS_PROFILE", "empty");
        Cli.Result empty = ChildCli.run(tmp.resolve("empty"), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
        assertEquals(1, empty.code(), empty.toString());
        assertTrue(empty.err().contains("profile 'empty' (AWS_PROFILE) has no access keys in "), empty.toString());
        env.put("AWS_PROFILE", "proc"); // a credential_process that fails: the SDK keeps none of its error
        Cli.Result proc = ChildCli.run(tmp.resolve("proc"), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
        assertEquals(1, proc.code(), proc.toString());
        assertTrue(proc.err().contains("profile 'proc' (AWS_PROFILE) gets its keys from its credential_process command")
                && proc.err().contains("run the command yourself to see why"), proc.toString());
        env.put("AWS_PROFILE", null);
        env.put("AWS_ACCESS_KEY_ID", "AKIAONLY");
        Cli.Result keyOnly = ChildCli.run(tmp.resolve("key"), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
        assertEquals(1, keyOnly.code(), keyOnly.toString());
        assertTrue(keyOnly.err().contains("AWS_SECRET_ACCESS_KEY"), keyOnly.toString());
    }

    /**
     * A credential_process that never ends hung every command for good, past --deadline (helper-74):
     * now each request waits CKPT_S3_CREDENTIALS_TIMEOUT, ends the command and what it started, and
     * says so (exit 1). And the other ways a credential_process gives nothing are told apart from
     * the profile: an empty command, one that prints no JSON (exit 0), and access keys beside one.
     */
    @Test
    void aCredentialProcessThatHangsIsEndedAndEachWayOneFailsIsNamedBothClients() throws Exception {
        String marker = "6001." + System.nanoTime() % 1_000_000_000L;
        Path script = tmp.resolve("hang.sh");
        Path runs = tmp.resolve("hang-runs");
        Files.writeString(script, "#!/bin/sh\necho run >> " + runs + "\nsleep " + marker + " &\nwait\n");
        script.toFile().setExecutable(true);
        Path config = tmp.resolve("config-proc");
        Files.writeString(config, "[profile hang]\ncredential_process = " + script + "\n"
                + "[profile blank]\ncredential_process =\n"
                + "[profile nojson]\ncredential_process = echo not-json\n"
                + "[profile both]\naws_access_key_id = AKIABOTH\naws_secret_access_key = not-a-secret\n"
                + "credential_process = sh -c 'exit 3'\n");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 1, 100);
        for (S3Config.Client client : S3Config.Client.values()) {
            Map<String, String> env = env(client);
            env.put("AWS_CONFIG_FILE", config.toString());
            env.put("CKPT_S3_CREDENTIALS_TIMEOUT", "2s");
            env.put("AWS_PROFILE", "hang");
            Files.deleteIfExists(runs);
            List<Cli.Result> rs = ChildCli.run(tmp.resolve("hang-" + client), env, List.of(
                    List.of("ls", "s3://creds/p"),
                    List.of("push", "s3://creds/p", src.toString(), "--run", "r", "--step", "1", "--progress", "none",
                            "--deadline", "1h")));
            for (Cli.Result r : rs) {
                assertEquals(1, r.code(), client + ": " + r);
                assertTrue(r.err().contains("profile 'hang' (AWS_PROFILE) gets its keys from its credential_process"
                        + " command (in ") && r.err().contains("which gave none within 2s and was ended: run the"
                        + " command yourself") && r.err().contains("CKPT_S3_CREDENTIALS_TIMEOUT"), client + ": " + r);
            }
            assertEquals(List.of(), processesWith(marker), client + ": the command's processes were left running");
            // one wait per command, not one per attempt of the SDK's retries (helper-78: three, each the whole limit)
            assertEquals(2, Files.readAllLines(runs).size(), client + ": runs of the command for ls and push");

            env.put("AWS_PROFILE", "blank");
            Cli.Result blank = ChildCli.run(tmp.resolve("blank-" + client), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
            assertEquals(1, blank.code(), blank.toString());
            assertTrue(blank.err().contains("profile 'blank' (AWS_PROFILE) has an empty credential_process in "),
                    client + ": " + blank);
            env.put("AWS_PROFILE", "nojson");
            Cli.Result noJson = ChildCli.run(tmp.resolve("nojson-" + client), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
            assertEquals(1, noJson.code(), noJson.toString());
            assertTrue(noJson.err().contains("which failed or printed no usable credentials"), client + ": " + noJson);
            env.put("AWS_PROFILE", "both");
            Cli.Result both = ChildCli.run(tmp.resolve("both-" + client), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
            assertEquals(1, both.code(), both.toString());
            assertTrue(both.err().contains("The profile's own access keys are not used while it has credential_process")
                    && !both.err().contains("use a profile with access keys"), client + ": " + both);
        }
    }

    /**
     * SIGTERM to ckpt-tool while a credential_process hangs ends that command too (helper-75: it
     * was left running, orphaned, after the JVM exited). Both clients.
     */
    @Test
    void aSignalWhileACredentialProcessHangsEndsTheCommandToo() throws Exception {
        String marker = "6002." + System.nanoTime() % 1_000_000_000L;
        Path script = tmp.resolve("hang-term.sh");
        Files.writeString(script, "#!/bin/sh\nsleep " + marker + " &\nwait\n");
        script.toFile().setExecutable(true);
        Path config = tmp.resolve("config-term");
        Files.writeString(config, "[profile hang]\ncredential_process = " + script + "\n");
        for (S3Config.Client client : S3Config.Client.values()) {
            Map<String, String> env = env(client);
            env.put("AWS_CONFIG_FILE", config.toString());
            env.put("AWS_PROFILE", "hang");
            Files.writeString(config, "[profile hang]\ncredential_process = " + script + "\n");
            Process child = ChildCli.start(tmp.resolve("term-" + client), env, List.of(List.of("ls", "s3://creds/p")));
            try {
                long end = System.nanoTime() + 120_000_000_000L;
                while (processesWith(marker).isEmpty()) {
                    assertTrue(child.isAlive() && System.nanoTime() < end, client + ": the command never started: "
                            + (child.isAlive() ? "" : new String(child.getInputStream().readAllBytes())));
                    Thread.sleep(50);
                }
                // the profile edited meanwhile: the command started is the one ended (helper-78: it was re-read)
                Files.writeString(config, "[profile hang]\ncredential_process = /bin/false --fixed\n");
                child.destroy(); // SIGTERM
                assertTrue(child.waitFor(60, TimeUnit.SECONDS), client + ": the JVM did not end on SIGTERM");
                end = System.nanoTime() + 10_000_000_000L;
                while (!processesWith(marker).isEmpty() && System.nanoTime() < end) {
                    Thread.sleep(50);
                }
                assertEquals(List.of(), processesWith(marker), client + ": the command's processes outlived the JVM");
            } finally {
                child.destroyForcibly();
                for (String left : processesWith(marker)) {
                    new ProcessBuilder("kill", "-9", left.substring(0, left.indexOf(':'))).start().waitFor();
                }
            }
        }
    }

    /**
     * Credentials the chain finds, from a profile's keys or its credential_process, reach the
     * server through the bounded wait ({@code ChainCredentials}) with both clients, for every
     * request of a push and a restore.
     */
    @Test
    void credentialsFromAProfileOrItsCredentialProcessWorkBothClients() throws Exception {
        Path config = tmp.resolve("config-ok");
        Files.writeString(config, "[profile keys]\naws_access_key_id = " + server.accessKey()
                + "\naws_secret_access_key = " + server.secretKey() + "\n"
                + "[profile proc]\ncredential_process = printf '{\"Version\": 1, \"AccessKeyId\": \"%s\","
                + " \"SecretAccessKey\": \"%s\"}' " + server.accessKey() + " " + server.secretKey() + "\n");
        Path src = TestDirs.checkpoint(tmp.resolve("src-ok"), 3, 2, 1000);
        for (S3Config.Client client : S3Config.Client.values()) {
            for (String profile : new String[] {"keys", "proc"}) {
                Map<String, String> env = env(client);
                env.put("AWS_CONFIG_FILE", config.toString());
                env.put("AWS_PROFILE", profile);
                String store = "s3://creds/" + client + "-" + profile;
                List<Cli.Result> rs = ChildCli.run(tmp.resolve("ok-" + client + profile), env, List.of(
                        List.of("push", store, src.toString(), "--run", "r", "--step", "1", "--progress", "none"),
                        List.of("restore", store, "latest", tmp.resolve("back-" + client + profile).toString(),
                                "--progress", "none")));
                for (Cli.Result r : rs) {
                    assertEquals(0, r.code(), client + " " + profile + ": " + r);
                    assertFalse((r.out() + r.err()).contains(server.secretKey()), r.toString());
                }
                TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("back-" + client + profile));
            }
        }
    }

    /** The command lines of running processes that contain {@code text}. */
    private static List<String> processesWith(String text) throws Exception {
        List<String> found = new java.util.ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(d -> d.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                    if (cmd.contains(text)) {
                        found.add(p.getFileName() + ": " + cmd);
                    }
                } catch (java.io.IOException gone) {
                    // ended meanwhile
                }
            }
        }
        return found;
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

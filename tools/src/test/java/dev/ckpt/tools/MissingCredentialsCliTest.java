package dev.ckpt.tools;

import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No credentials, through the AWS SDK's real default chain (in a child JVM, whose environment
 * the chain reads): every command says what is missing or what cannot work, exit 1 (not
 * "unreachable, retrying later is safe", exit 7, with the chain's list of provider classes),
 * and doctor gives no verdict on the server's conditional writes.
 */
class MissingCredentialsCliTest {
    static S3ProxyServer server;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("creds");
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
                + "[profile empty]\nregion = us-east-1\n");
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
        env.put("AWS_PROFILE", null);
        env.put("AWS_ACCESS_KEY_ID", "AKIAONLY");
        Cli.Result keyOnly = ChildCli.run(tmp.resolve("key"), env, List.of(List.of("ls", "s3://creds/p"))).get(0);
        assertEquals(1, keyOnly.code(), keyOnly.toString());
        assertTrue(keyOnly.err().contains("AWS_SECRET_ACCESS_KEY"), keyOnly.toString());
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ProbeCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An endpoint set in the AWS profile ({@code endpoint_url}, or a {@code services} section's
 * {@code s3 endpoint_url}) is the store's endpoint for both clients (helper-74: the AWS SDK used
 * it on its own, addressing the server as AWS, and every read was "object not found"; the MinIO
 * client ignored it and went to AWS). Checked as any endpoint is, and named with where it is set.
 */
class ProfileEndpointTest {
    static S3ProxyServer server;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("profiled");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private Map<String, String> env(String config, String profile) throws Exception {
        Path file = tmp.resolve("config");
        Files.writeString(file, config);
        Map<String, String> env = new HashMap<>();
        env.put("AWS_CONFIG_FILE", file.toString());
        env.put("AWS_SHARED_CREDENTIALS_FILE", tmp.resolve("none").toString());
        if (profile != null) {
            env.put("AWS_PROFILE", profile);
        }
        return env;
    }

    @Test
    void theProfilesEndpointIsTheStoresWithEitherClient() throws Exception {
        String ep = server.endpoint().toString();
        for (S3Config.Client client : S3Config.Client.values()) {
            Map<String, String> env = env("[profile minio]\nendpoint_url = " + ep + "\n", "minio");
            env.put("AWS_ACCESS_KEY_ID", server.accessKey());
            env.put("AWS_SECRET_ACCESS_KEY", server.secretKey());
            env.put("CKPT_S3_CLIENT", client.name().toLowerCase());
            S3Config c = S3Config.fromUrl("s3://profiled/" + client, env);
            assertEquals(server.endpoint(), c.endpoint());
            assertTrue(c.usePathStyle(), "a custom endpoint: path style, as for AWS_ENDPOINT_URL");
            try (ObjectStore s = S3ObjectStores.open(c, ProbeCache.off())) {
                s.put("k", new byte[]{7, 8});
                assertArrayEquals(new byte[]{7, 8}, s.get("k").data(), client.toString());
            }
        }
    }

    @Test
    void whichEndpointWins() throws Exception {
        String cfg = "[default]\nendpoint_url = http://general:9000\n"
                + "[profile svc]\nservices = mine\nendpoint_url = http://general:9000\n"
                + "[services mine]\ns3 =\n  endpoint_url = http://s3only:9000\n"
                + "[profile off]\nendpoint_url = http://general:9000\nignore_configured_endpoint_urls = true\n"
                + "[profile plain]\nregion = eu-west-1\n";
        assertEquals("general", S3Config.fromUrl("s3://b-1/x", env(cfg, null)).endpoint().getHost());
        assertEquals("s3only", S3Config.fromUrl("s3://b-1/x", env(cfg, "svc")).endpoint().getHost());
        assertNull(S3Config.fromUrl("s3://b-1/x", env(cfg, "off")).endpoint());
        assertNull(S3Config.fromUrl("s3://b-1/x", env(cfg, "plain")).endpoint());
        Map<String, String> ignored = env(cfg, null);
        ignored.put("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        assertNull(S3Config.fromUrl("s3://b-1/x", ignored).endpoint());
        // the variable, when set, decides alone, as in the SDK: false overrides the profile's true (helper-76)
        Map<String, String> notIgnored = env(cfg, "off");
        notIgnored.put("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false");
        assertEquals("general", S3Config.fromUrl("s3://b-1/x", notIgnored).endpoint().getHost());
        notIgnored.put("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", " TRUE");
        assertNull(S3Config.fromUrl("s3://b-1/x", notIgnored).endpoint());
        notIgnored.put("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "1");
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", notIgnored))
                .getMessage();
        assertTrue(m.startsWith("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS='1' is not true or false"), m);
        // the profile's flag neither true nor false: named with its profile and file (helper-78: the SDK's raw message)
        String yes = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                env("[default]\nendpoint_url = http://general:9000\nignore_configured_endpoint_urls = yes\n", null)))
                .getMessage();
        assertTrue(yes.startsWith("ignore_configured_endpoint_urls of profile 'default' in " + tmp.resolve("config")
                + " is 'yes', not true or false"), yes);
        // the variable set with the flag that tells AWS tools to ignore it: refused, not guessed (helper-78)
        Map<String, String> both = env(cfg, null);
        both.put("AWS_ENDPOINT_URL", "http://given:9000");
        both.put("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        String refused = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", both))
                .getMessage();
        assertTrue(refused.startsWith("AWS_ENDPOINT_URL is set, and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true tells AWS"
                + " tools to ignore it"), refused);
        both.put("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false");
        assertEquals("given", S3Config.fromUrl("s3://b-1/x", both).endpoint().getHost());
        both.put("AWS_ENDPOINT_URL", " http://spaced:9000\n");
        assertEquals("spaced", S3Config.fromUrl("s3://b-1/x", both).endpoint().getHost(), "trimmed");
        // the environment's endpoint (and --endpoint, which sets it) comes first
        Map<String, String> given = env(cfg, "svc");
        given.put("AWS_ENDPOINT_URL", "http://given:9000");
        assertEquals("given", S3Config.fromUrl("s3://b-1/x", given).endpoint().getHost());
        given.put("AWS_ENDPOINT_URL_S3", "http://given-s3:9000");
        assertEquals("given-s3", S3Config.fromUrl("s3://b-1/x", given).endpoint().getHost());
    }

    @Test
    void aBadEndpointInTheProfileIsRefusedNamingWhereItIsSet() throws Exception {
        String password = "PROFILEpassw0rd";
        Map<String, String> env = env("[profile p]\nendpoint_url = http://admin:" + password + "@minio:9000\n"
                + "[profile f]\nendpoint_url = ftp://minio:21\n"
                + "[profile s]\nservices = x\n[services x]\ns3 =\n  endpoint_url = not a url\n", "p");
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", env)).getMessage();
        assertFalse(m.contains(password), m);
        assertTrue(m.contains("'http://***@minio:9000' (endpoint_url of profile 'p' in " + tmp.resolve("config")
                + ") has a user name or password"), m);
        env.put("AWS_PROFILE", "f");
        m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", env)).getMessage();
        assertTrue(m.contains("'ftp://minio:21' (endpoint_url of profile 'f' in " + tmp.resolve("config")
                + ") is not an http:// or https:// URL"), m);
        env.put("AWS_PROFILE", "s");
        m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", env)).getMessage();
        assertTrue(m.contains("'not a url' (s3 endpoint_url of services 'x' of profile 's' in "), m);
    }

    /**
     * The files are found as the SDK finds them (helper-76): under $HOME (not the JVM's
     * user.home, which differs when HOME is set for a job), with "~/" read as $HOME, and a
     * profile property in both files taken from the credentials file, which is named.
     */
    @Test
    void theFilesAreFoundAndWeighedAsTheSdkDoes() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        Files.createDirectories(home.resolve(".aws"));
        Files.writeString(home.resolve(".aws/config"), "[default]\nendpoint_url = http://fromhome:9000\n");
        Map<String, String> env = new HashMap<>();
        env.put("HOME", home.toString());
        assertEquals("fromhome", S3Config.fromUrl("s3://b-1/x", env).endpoint().getHost());

        Files.writeString(home.resolve("other"), "[default]\nendpoint_url = http://tilde:9000\n");
        env.put("AWS_CONFIG_FILE", "~/other");
        assertEquals("tilde", S3Config.fromUrl("s3://b-1/x", env).endpoint().getHost());
        env.put("AWS_CONFIG_FILE", "");
        assertNull(S3Config.fromUrl("s3://b-1/x", env).endpoint(), "empty: the working directory, no file, as the SDK");

        env.put("AWS_CONFIG_FILE", "~/other");
        Files.writeString(home.resolve(".aws/credentials"), "[default]\nendpoint_url = ftp://fromcredentials:9000\n");
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", env)).getMessage();
        assertTrue(m.contains("'ftp://fromcredentials:9000' (endpoint_url of profile 'default' in "
                + home.resolve(".aws/credentials") + ")"), m);
    }

    /**
     * A config file the SDK cannot parse was taken as "no endpoint there": the MinIO client with
     * keys (which never reads the files) then went to AWS (helper-76). Where it mentions
     * endpoint_url it is refused, named (one that does not is the AWS client's to refuse, below
     * and in S3ConfigTest).
     */
    @Test
    void aConfigFileThatCannotBeParsedIsRefusedNamedForEitherClient() throws Exception {
        for (S3Config.Client client : S3Config.Client.values()) {
            Map<String, String> env = env("endpoint_url = http://minio:9000\n", null); // no profile line
            env.put("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE");
            env.put("AWS_SECRET_ACCESS_KEY", "not-a-secret");
            env.put("CKPT_S3_CLIENT", client.name().toLowerCase());
            String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", env)).getMessage();
            assertTrue(m.startsWith("the AWS configuration file " + tmp.resolve("config") + " cannot be read as one: "), m);
            assertTrue(m.contains("give the endpoint (AWS_ENDPOINT_URL, or ckpt-tool's --endpoint)"), m);
        }
        Map<String, String> env = env("garbage without the setting\n", null);
        env.put("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE");
        env.put("AWS_SECRET_ACCESS_KEY", "not-a-secret");
        env.put("CKPT_S3_CLIENT", "minio");
        assertNull(S3Config.fromUrl("s3://b-1/x", env).endpoint());
    }
}

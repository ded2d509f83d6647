package dev.ckpt.tools;

import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The same commands against the in-process S3 server over HTTP, configured through the environment. */
class CkptToolS3Test extends CkptToolTest {
    static S3ProxyServer server;
    static int n;

    @BeforeAll
    static void startServer() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("cli");
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Override
    void setUpStore() {
        store = "s3://cli/t" + (n++);
        Map<String, String> env = server.env(S3Config.Client.AWS, S3Config.Http.APACHE);
        cli = new Cli(env, "--progress", "none");
    }

    @Override
    ObjectStore objects() {
        return S3ObjectStores.open(server.config("cli", store.substring("s3://cli/".length()), S3Config.Client.AWS,
                S3Config.Http.APACHE));
    }

    /**
     * --endpoint wins over the environment's endpoint, also over AWS_ENDPOINT_URL_S3, which
     * the environment is read from first (it used to win over the option, silently).
     */
    @Test
    void theEndpointOptionWinsOverEveryEndpointOfTheEnvironment() throws Exception {
        push(src("a", 1), "r", 1);
        Map<String, String> env = new java.util.HashMap<>(server.env(S3Config.Client.AWS, S3Config.Http.APACHE));
        String live = env.get("AWS_ENDPOINT_URL");
        String dead;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            dead = "http://127.0.0.1:" + s.getLocalPort(); // closed again: nothing listens there
        }
        for (String var : new String[] {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
            Map<String, String> e = new java.util.HashMap<>(env);
            e.put(var, dead);
            for (String client : new String[] {"aws", "minio"}) {
                Cli.Result r = new Cli(e, "--progress", "none").run("ls", store, "--json", "--client", client,
                        "--endpoint", live);
                assertEquals(0, r.code(), var + ", " + client + ": " + r);
                assertEquals(1, r.json().get("checkpoints").size());
            }
            Cli.Result r = new Cli(e, "--progress", "none").run("ls", store); // without the option: the environment's
            assertEquals(7, r.code(), var + ": " + r);
            // the flag that tells AWS tools to ignore configured endpoints: --endpoint is explicit and still used;
            // the variable alone is refused, naming both (helper-78), not used against the flag
            e.put("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
            Cli.Result given = new Cli(e, "--progress", "none").run("ls", store, "--json", "--endpoint", live);
            assertEquals(0, given.code(), var + ": " + given);
            Cli.Result refused = new Cli(e, "--progress", "none").run("ls", store);
            assertEquals(1, refused.code(), var + ": " + refused);
            assertTrue(refused.err().contains(var + " is set, and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"), refused.err());
        }
    }

    /**
     * helper-105: an import into S3 unpacks in $TMPDIR, and one killed left its copy there for good (291 MB each);
     * nothing removed it. The next import there removes one over an hour old, saying so, and leaves a fresh one
     * (a running import's, whose heartbeat keeps it fresh) and another user's alone.
     */
    @Test
    void anImportRemovesTheStagingOfAnImportKilledInTmpdirOverAnHourAgo() throws Exception {
        String id = push(src("a", 1), "r", 1);
        java.nio.file.Path archive = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", store, id, archive.toString()).code());
        java.nio.file.Path tmpdir = java.nio.file.Files.createDirectories(tmp.resolve("tmpdir"));
        java.nio.file.Path old = java.nio.file.Files.createDirectory(tmpdir.resolve(
                dev.ckpt.store.util.TempNames.next(dev.ckpt.store.util.TempNames.IMPORT_STAGING)));
        java.nio.file.Files.writeString(old.resolve("big.bin"), "left by a kill");
        java.nio.file.Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(java.time.Duration.ofHours(2))));
        java.nio.file.Path fresh = java.nio.file.Files.createDirectory(tmpdir.resolve(
                dev.ckpt.store.util.TempNames.next(dev.ckpt.store.util.TempNames.IMPORT_STAGING)));
        Map<String, String> env = new java.util.HashMap<>(server.env(S3Config.Client.AWS, S3Config.Http.APACHE));
        env.put("TMPDIR", tmpdir.toString());
        Cli.Result r = new Cli(env, "--progress", "none").run("import", store, archive.toString(), "--run", "i", "--step",
                "1");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("note: removed " + old + ", left by an import killed over an hour ago"), r.err());
        assertFalse(java.nio.file.Files.exists(old), "the old staging directory is gone");
        assertTrue(java.nio.file.Files.isDirectory(fresh), "a fresh one stays");
        try (java.util.stream.Stream<java.nio.file.Path> left = java.nio.file.Files.list(tmpdir)) {
            assertEquals(List.of(fresh), left.toList(), "the import removed its own staging directory");
        }
    }

    /**
     * helper-102: an endpoint with a path, which the AWS client puts before the bucket: S3Proxy read it as the
     * bucket and the message said only that bucket 'cli' did not exist. It now names the path and the way out.
     */
    @Test
    void anEndpointPathTheServerTakesForTheBucketIsNamed() {
        push(src("a", 1), "r", 1);
        Map<String, String> env = new java.util.HashMap<>(server.env(S3Config.Client.AWS, S3Config.Http.APACHE));
        String withPath = env.get("AWS_ENDPOINT_URL").replaceFirst("/*$", "") + "/sub";
        env.put("AWS_ENDPOINT_URL", withPath);
        Cli.Result r = new Cli(env, "--progress", "none").run("ls", store, "--client", "aws");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("does not exist") && r.err().contains("the endpoint '" + withPath + "' has a path"
                + " (/sub), which this client puts before the bucket in every request: unless a reverse proxy serves S3"
                + " at that path, drop it from the endpoint (AWS_ENDPOINT_URL or --endpoint)"), r.err());
        Cli.Result plain = cli.run("ls", store, "--client", "aws");
        assertEquals(0, plain.code(), plain.toString());
    }

    /**
     * A prefix that holds nothing (a mistyped bucket prefix) is no empty store: ls, verify and
     * restore refuse it naming it, with either client (helper-91's case, on S3), and write nothing.
     */
    @Test
    void aPrefixThatHoldsNoStoreIsRefusedNotListedAsEmpty() {
        for (String client : new String[] {"aws", "minio"}) {
            for (String[] args : List.of(new String[] {"ls", store}, new String[] {"verify", store},
                    new String[] {"restore", store, "latest", tmp.resolve("o").toString()}, new String[] {"gc", store})) {
                String[] withClient = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
                        java.util.stream.Stream.of("--client", client)).toArray(String[]::new);
                Cli.Result r = cli.run(withClient);
                assertEquals(1, r.code(), String.join(" ", withClient) + ": " + r);
                assertTrue(r.err().contains("no ckpt store at " + store + "/: it holds no ROOT, manifests/ or chunks/;"
                        + " check the bucket and prefix"), r.err());
            }
        }
        assertFalse(objects().list("").iterator().hasNext(), "nothing was written under " + store);
        assertFalse(java.nio.file.Files.exists(tmp.resolve("o")));
        assertEquals(0, cli.run("init", store).code());
        assertEquals(0, cli.run("ls", store).code(), "an initialized store lists");
    }

    @Test
    void theMinioClientIsChosenWithClientOption() {
        push(src("a", 1), "r", 1);
        Cli.Result r = cli.run("ls", store, "--client", "minio", "--json");
        assertEquals(0, r.code(), r.toString());
        assertEquals(1, r.json().get("checkpoints").size());
        // a usage error naming the option (helper-79: it was refused as CKPT_S3_CLIENT's, exit 1)
        Cli.Result bad = cli.run("ls", store, "--client", "boto");
        assertEquals(2, bad.code(), bad.toString());
        assertTrue(bad.err().contains("--client") && bad.err().contains("'boto' is not an S3 client: aws or minio"), bad.err());
    }
}

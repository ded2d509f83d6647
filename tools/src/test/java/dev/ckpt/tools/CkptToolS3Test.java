package dev.ckpt.tools;

import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    @Test
    void theMinioClientIsChosenWithClientOption() {
        push(src("a", 1), "r", 1);
        Cli.Result r = cli.run("ls", store, "--client", "minio", "--json");
        assertEquals(0, r.code(), r.toString());
        assertEquals(1, r.json().get("checkpoints").size());
        Cli.Result bad = cli.run("ls", store, "--client", "boto");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("CKPT_S3_CLIENT='boto'"), bad.err());
    }
}

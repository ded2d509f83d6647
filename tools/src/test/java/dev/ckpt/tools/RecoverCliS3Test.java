package dev.ckpt.tools;

import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** recover against the in-process S3 server: the conditional write on the damaged ROOT's ETag over HTTP. */
class RecoverCliS3Test extends RecoverCliTest {
    static S3ProxyServer server;
    static int n;

    @BeforeAll
    static void startServer() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("rec");
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Override
    void setUpStore() {
        store = "s3://rec/t" + (n++);
        cli = new Cli(server.env(S3Config.Client.AWS, S3Config.Http.APACHE), "--progress", "none");
    }

    @Override
    ObjectStore objects() {
        return S3ObjectStores.open(server.config("rec", store.substring("s3://rec/".length()), S3Config.Client.AWS,
                S3Config.Http.APACHE));
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStoreContractTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.util.Map;

/** The object-store contract against the in-process S3 server, over HTTP with SigV4. */
abstract class S3ContractTestBase extends ObjectStoreContractTest {
    static S3ProxyServer server;
    private String prefix;

    abstract S3Config.Client client();

    abstract S3Config.Http http();

    @BeforeAll
    static void startServer() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("contract");
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @Override
    protected boolean readsIntoBuffer() {
        return true; // both clients read into it
    }

    @Override
    protected ObjectStore newStore() {
        prefix = "t-" + RandomIds.hex(6);
        return S3ObjectStores.open(server.config("contract", prefix, client(), http()));
    }

    @Override
    protected String urlForOtherProcesses() {
        return "s3://contract/" + prefix;
    }

    @Override
    protected Map<String, String> envForOtherProcesses() {
        return server.env(client(), http());
    }
}

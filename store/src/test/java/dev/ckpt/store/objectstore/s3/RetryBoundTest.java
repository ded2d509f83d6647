package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CommitStateUnknownException;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.util.RetryPolicy;
import org.gaul.s3proxy.blobstore.S3Exceptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The store's one retry loop is bounded: against a real S3 server (S3Proxy over HTTP) that
 * answers 503 to every write of ROOT, one ROOT update makes at most
 * {@code maxUnavailable x (1 read + the SDK's attempts per write + 2 settling reads) + 1}
 * requests on ROOT, counted at the server, and ends as "commit state unknown" (never as a
 * plain failure: a write might have landed). Before issue 11 the backend's own loops
 * (3 attempts, each retried by the SDK) ran inside RootStore's attempts: this test then
 * counted 36 PUTs and 54 HEADs for one update (now 12 and 15, of which 12 are S3Proxy's own).
 */
class RetryBoundTest {
    private static final int SDK_ATTEMPTS = 4;

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void aServerFailingEveryWriteCostsABoundedNumberOfRequests(S3Config.Client client, S3Config.Http http) throws Exception {
        AtomicBoolean failWrites = new AtomicBoolean(false);
        Map<String, AtomicInteger> onRoot = new ConcurrentHashMap<>();
        try (S3ProxyServer server = S3ProxyServer.start(null, (op, key) -> {
            if (key != null && key.endsWith(RootState.KEY) && failWrites.get()) {
                onRoot.computeIfAbsent(op, o -> new AtomicInteger()).incrementAndGet();
                if (op.equals("PUT")) {
                    throw S3Exceptions.fromStatusCode(503);
                }
            }
        })) {
            server.createBucket("bound");
            S3Config cfg = server.config("bound", "ckpt", client, http)
                    .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(10), SDK_ATTEMPTS);
            StoreConfig storeConfig = StoreConfig.defaults().withSleeper(ms -> { });
            try (CheckpointStore store = CheckpointStore.open(S3ObjectStores.open(cfg), storeConfig)) {
                store.init();
                failWrites.set(true);
                assertThrows(CommitStateUnknownException.class, () -> store.claimWriter("run"));
                failWrites.set(false);
                assertEquals(0, store.root().runs().size(), "no write landed");
            }
        }
        int puts = count(onRoot, "PUT");
        // S3Proxy reads an object's metadata (our hook's HEAD) to evaluate each If-Match PUT before storing it:
        // those are the server's, not requests of the client's
        int reads = count(onRoot, "GET") + Math.max(0, count(onRoot, "HEAD") - puts);
        RetryPolicy p = RetryPolicy.ROOT;
        assertTrue(puts >= p.maxUnavailable(), "each of the store's attempts wrote: " + onRoot);
        assertTrue(puts <= p.maxUnavailable() * SDK_ATTEMPTS, "writes on ROOT: " + onRoot);
        assertTrue(puts + reads <= p.maxUnavailable() * (1 + SDK_ATTEMPTS + 2) + 1, "requests on ROOT: " + onRoot);
    }

    private static int count(Map<String, AtomicInteger> m, String op) {
        AtomicInteger n = m.get(op);
        return n == null ? 0 : n.get();
    }
}

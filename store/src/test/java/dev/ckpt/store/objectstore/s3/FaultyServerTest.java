package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.TestDirs;
import org.gaul.s3proxy.blobstore.S3Exceptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server that answers 500 or 503 to about 10 % of requests, behind a proxy that drops
 * about 10 % of connections (before the request arrives, or after it was stored). Every
 * save either commits whole or leaves the committed checkpoints as they were; afterwards,
 * through a healthy connection, everything committed verifies and restores byte for byte.
 */
class FaultyServerTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void everySaveCommitsWholeOrLeavesTheStoreAsItWas(S3Config.Client client, S3Config.Http http) throws Exception {
        Random rnd = new Random(42);
        java.util.concurrent.atomic.AtomicBoolean faultsOn = new java.util.concurrent.atomic.AtomicBoolean(true);
        try (S3ProxyServer server = S3ProxyServer.start(null, (op, key) -> {
            if (!faultsOn.get()) {
                return;
            }
            double r;
            synchronized (rnd) {
                r = rnd.nextDouble();
            }
            if (r < 0.05) {
                throw S3Exceptions.fromStatusCode(503);
            }
            if (r < 0.10) {
                throw S3Exceptions.fromStatusCode(500);
            }
        }); ChaosProxy chaos = new ChaosProxy(server.endpoint().getPort(), 0.25, 7)) {
            server.createBucket("faulty");
            S3Config healthy = server.config("faulty", "ckpt", client, http);
            S3Config faulty = S3Config.fromUrl("s3://faulty/ckpt", Map.of("AWS_ENDPOINT_URL", chaos.endpoint().toString()))
                    .withCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY).withClient(client, http)
                    .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(10), 4);
            Map<Long, Path> sources = new HashMap<>();
            int committed = 0;
            int failed = 0;
            List<String> errors = new ArrayList<>();
            StoreConfig cfg = StoreConfig.defaults().withChunkSize(64 * 1024).withSleeper(ms -> Thread.sleep(Math.min(ms, 20)));
            try (CheckpointStore store = CheckpointStore.open(S3ObjectStores.open(faulty), cfg);
                 CheckpointStore observer = CheckpointStore.open(S3ObjectStores.open(healthy), cfg)) {
                WriterToken w = null;
                for (long i = 1; i <= 12; i++) {
                    long step = i;
                    Path src = sources.computeIfAbsent(step, s -> TestDirs.checkpoint(tmp.resolve("src" + s), 100 + s % 4, 4, 150_000));
                    RootState before = healthy(faultsOn, chaos, observer::root);
                    try {
                        if (w == null) {
                            w = store.claimWriter("faulty");
                        }
                        SaveResult r = store.save(w, SaveRequest.of(src, "faulty", step).withRetention(Retention.keepLast(4)));
                        committed++;
                        assertTrue(healthy(faultsOn, chaos, observer::root).checkpoints().containsKey(r.checkpointId()));
                    } catch (CkptException e) {
                        failed++;
                        errors.add(e.getClass().getSimpleName() + ": " + e.getMessage());
                        RootState after = healthy(faultsOn, chaos, observer::root);
                        // Either nothing changed, or (commit state unknown) the checkpoint landed whole.
                        for (String id : after.checkpoints().keySet()) {
                            if (!before.checkpoints().containsKey(id)) {
                                assertEquals(step, after.checkpoints().get(id).step(), "only this save's checkpoint may appear");
                            }
                        }
                        for (String id : before.checkpoints().keySet()) {
                            if (!after.checkpoints().containsKey(id)) {
                                assertTrue(after.checkpoints().values().stream().anyMatch(e2 -> e2.step() == step),
                                        "a checkpoint can only be dropped by retention of a commit that landed");
                            }
                        }
                    }
                }
                System.out.printf("%s/%s: %d committed, %d failed (%s); proxy dropped %d before, %d after%n", client, http,
                        committed, failed, errors, chaos.droppedBefore.get(), chaos.droppedAfter.get());
                assertTrue(committed >= 6, "most saves get through with retries: " + errors);
                assertTrue(chaos.droppedBefore.get() + chaos.droppedAfter.get() > 0, "the proxy did drop connections");
                faultsOn.set(false);
                chaos.enabled = false;
                VerifyReport deep = observer.verify(VerifyRequest.deep());
                assertTrue(deep.ok(), () -> deep.problems().toString());
                for (CheckpointEntry e : observer.list("faulty")) {
                    Path out = tmp.resolve("out-" + e.id());
                    observer.restore(e, out, List.of());
                    TestDirs.assertSameTree(TestDirs.snapshot(sources.get(e.step())), out);
                }
            }
        }
    }

    /** Reads through the healthy path: server faults off while it runs (the observer does not use the proxy). */
    private static <T> T healthy(java.util.concurrent.atomic.AtomicBoolean faultsOn, ChaosProxy chaos,
                                 java.util.function.Supplier<T> read) {
        faultsOn.set(false);
        try {
            return read.get();
        } finally {
            faultsOn.set(true);
        }
    }
}

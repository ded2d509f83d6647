package dev.ckpt.store.restore;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The same kind as helper-85's save that hung after an {@code OutOfMemoryError}: a restore
 * whose executor cannot queue a task (no memory for it) fails with that error, leaves the
 * target as it was, and does not wait forever for the task it never queued.
 */
class RestoreQueueErrorTest extends InMemoryFixture {
    private ExecutorService pool;

    @AfterEach
    void stopPool() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    @Test
    void aTaskThatCannotBeQueuedFailsTheRestoreInsteadOfHangingIt() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 4, 100_000);
        store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1));
        CheckpointEntry e = store.resolve("latest");
        for (int failAt : List.of(1, 3, 8)) {
            AtomicInteger calls = new AtomicInteger();
            pool = new ThreadPoolExecutor(2, 2, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>()) {
                @Override
                public void execute(Runnable r) {
                    if (calls.incrementAndGet() == failAt) {
                        throw new OutOfMemoryError("test: unable to queue task " + failAt);
                    }
                    super.execute(r);
                }
            };
            Restorer restorer = new Restorer(objects, new ManifestLoader(objects), Stores.config(clock), pool, pool);
            Path target = tmp.resolve("out-" + failAt);
            Files.createDirectories(target);
            OutOfMemoryError thrown = assertTimeoutPreemptively(Duration.ofSeconds(20),
                    () -> assertThrows(OutOfMemoryError.class, () -> restorer.restore(e, target, List.of())));
            assertEquals("test: unable to queue task " + failAt, thrown.getMessage());
            try (var left = Files.list(target)) {
                assertEquals(List.of(), left.toList(), "nothing published into " + target);
            }
            pool.shutdownNow();
        }
    }
}

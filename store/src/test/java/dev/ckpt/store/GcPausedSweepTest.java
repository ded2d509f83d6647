package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sweep paused in the middle (SIGSTOP, a frozen VM) whose lease another GC took meanwhile
 * must not go on deleting when it resumes: it renewed only after half its lease, by the wall
 * clock, and a helper's SIGSTOP/SIGCONT of a few seconds deleted the chunks a commit had
 * re-uploaded after the taker finished. It now renews, and so finds its lease lost, before
 * any delete that comes more than 2 s after its last renewal.
 */
class GcPausedSweepTest {
    @TempDir
    Path tmp;

    @Test
    void aSweepResumedAfterAPauseChecksItsLeaseBeforeItsNextDelete() throws Exception {
        Path dir = tmp.resolve("store");
        StoreConfig config = StoreConfig.defaults().withGcGrace(Duration.ZERO).withGcDeleteBatch(100);
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(dir), config)) {
            WriterToken w = s.claimWriter("a");
            s.save(w, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v1"), 1, 4, 30_000), "a", 1));
            s.save(w, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v2"), 2, 1, 1_000), "a", 2)
                    .withRetention(Retention.keepLast(1)));
        }
        Thread.sleep(20);
        AtomicInteger deletes = new AtomicInteger();
        ObjectStore local = ObjectStores.local(dir);
        ObjectStore pausing = new ForwardingObjectStore(local) {
            @Override
            public void delete(String key) {
                super.delete(key);
                if (deletes.incrementAndGet() == 1) {
                    // "stopped" after its first delete; meanwhile another GC takes the lease over
                    new RootStore(local).change(r -> r.withGc(new GcState(r.gc().phase(), r.gc().generation(),
                            "0011223344556677@elsewhere pid 1", r.gc().leaseExpiry().plusSeconds(60), r.gc().dead(),
                            r.gc().finished())));
                    try {
                        Thread.sleep(PAUSE_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        try (CheckpointStore s = CheckpointStore.open(pausing, config)) {
            CkptException e = assertThrows(CkptException.class, () -> s.gc(GcRequest.collect()));
            assertTrue(e.getMessage().contains("lost its lease"), e.getMessage());
        }
        assertEquals(1, deletes.get(), "nothing deleted after the pause: the lease was another's");
    }

    /** Longer than the sweep's 2 s pause check. */
    private static final long PAUSE_MILLIS = 2_300;
}

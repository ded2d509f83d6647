package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.StoredObject;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GC that pauses between sealing its delete list and sweeping it, longer than its lease,
 * while another GC takes the sweep over: it must not delete a single object on the strength
 * of the other GC's lease (found in review: the sweep took its first lease expiry from ROOT,
 * whoever held it, and deleted its first batch unchecked).
 */
class GcTakeoverTest extends InMemoryFixture {
    @Test
    void aGcPausedAfterItsSealDeletesNothingOnceAnotherGcHoldsTheLease() {
        WriterToken a = store.claimWriter("a");
        store.save(a, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("old"), 1, 3, 40_000), "a", 1)
                .withRetention(Retention.keepLast(1)));
        store.save(a, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("new"), 2, 1, 1000), "a", 2)
                .withRetention(Retention.keepLast(1)));
        clock.advance(Duration.ofHours(2));
        AtomicBoolean sealed = new AtomicBoolean();
        AtomicBoolean takenOver = new AtomicBoolean();
        AtomicInteger deletesAfterTakeover = new AtomicInteger();
        ForwardingObjectStore paused = new ForwardingObjectStore(objects) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                String etag = super.putIfMatch(key, data, expectedEtag);
                if (key.equals(RootState.KEY) && new String(data, StandardCharsets.UTF_8).contains("\"SWEEP\"")) {
                    sealed.set(true);
                }
                return etag;
            }

            @Override
            public StoredObject get(String key) {
                if (key.equals(RootState.KEY) && sealed.get() && takenOver.compareAndSet(false, true)) {
                    // the GC pauses past its lease; GC "b" takes the sweep over with a lease of its own
                    clock.advance(Duration.ofMinutes(11));
                    new RootStore(objects).change(r -> r.withGc(new GcState(GcState.Phase.SWEEP, r.gc().generation(),
                            "b@elsewhere pid 2", clock.instant().plus(Duration.ofMinutes(10)), r.gc().dead(),
                            r.gc().finished())));
                }
                return super.get(key);
            }

            @Override
            public void delete(String key) {
                if (takenOver.get()) {
                    deletesAfterTakeover.incrementAndGet();
                }
                super.delete(key);
            }
        };
        try (CheckpointStore gcA = CheckpointStore.open(paused, Stores.config(clock))) {
            CommitConflictException e = assertThrows(CommitConflictException.class, () -> gcA.gc(GcRequest.collect()));
            assertTrue(e.getMessage().contains("lost its lease"), e.getMessage());
        }
        assertTrue(takenOver.get(), "the takeover came between the seal and the sweep");
        assertEquals(0, deletesAfterTakeover.get(), "nothing deleted under another GC's lease");
        GcState gc = store.root().gc();
        assertEquals("b@elsewhere pid 2", gc.owner());
        assertFalse(gc.dead().isEmpty());
        assertTrue(store.verify(VerifyRequest.deep()).ok());
    }
}

package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.error.PermissionDeniedException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GC whose sweep stops on a delete it may not do (credentials without s3:DeleteObject, see
 * docs/security.md) or on a store that stops answering: it gives its lease back, so the sealed
 * sweep is finished by the next GC at once and commits do not wait out the lease. Before, ROOT kept
 * the failed GC's lease for 10 minutes: every other GC was refused (exit 4) and a commit needing one
 * of the sealed objects waited.
 */
class GcDeniedDeleteTest extends InMemoryFixture {
    private final AtomicInteger deletesDone = new AtomicInteger();

    private CheckpointStore denyingDeletesAfter(int allowed, boolean permission) {
        return Stores.open(new ForwardingObjectStore(objects) {
            @Override
            public void delete(String key) {
                if (deletesDone.get() >= allowed) {
                    throw permission
                            ? new PermissionDeniedException("s3:DeleteObject", "access denied: cannot delete " + key, null)
                            : new StoreUnavailableException("cannot delete " + key + ": connection reset");
                }
                super.delete(key);
                deletesDone.incrementAndGet();
            }
        }, clock);
    }

    private Path garbageAndKept() {
        WriterToken a = store.claimWriter("a");
        store.save(a, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("old"), 1, 3, 40_000), "a", 1)
                .withRetention(Retention.keepLast(1)));
        Path kept = TestDirs.checkpoint(tmp.resolve("new"), 2, 2, 20_000);
        store.save(a, SaveRequest.of(kept, "a", 2).withRetention(Retention.keepLast(1)));
        clock.advance(Duration.ofHours(2));
        return kept;
    }

    @Test
    void aDeniedDeleteStopsTheGcWithItsErrorAndTheNextGcFinishesTheSweepAtOnce() {
        Path kept = garbageAndKept();
        GcResult preview = store.gc(GcRequest.preview());
        assertTrue(preview.deletedKeys().size() > 2, preview.toString());
        CheckpointStore denied = denyingDeletesAfter(2, true);
        PermissionDeniedException e = assertThrows(PermissionDeniedException.class, () -> denied.gc(GcRequest.collect()));
        assertEquals(ExitCode.ERROR, ExitCode.of(e), "grant the permission: retrying alone would fail again");

        GcState left = store.root().gc();
        assertEquals(GcState.Phase.SWEEP, left.phase(), "the sealed list stays for the next GC");
        assertFalse(left.leaseValid(clock.instant()), "the lease was given back: " + left);
        GcResult finished = store.gc(GcRequest.collect()); // no wait: before, refused for the 10-minute lease
        assertTrue(finished.resumed());
        // the sealed list less the 2 deleted before the denial: what this GC deleted
        assertEquals(preview.deletedKeys().subList(2, preview.deletedKeys().size()), finished.deletedKeys());
        for (String k : preview.deletedKeys()) {
            assertTrue(objects.delegate().head(k).isEmpty(), k);
        }
        assertEquals(GcState.Phase.IDLE, store.root().gc().phase());
        assertTrue(store.verify(VerifyRequest.deep()).ok());
        store.restore("a:latest", tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(kept), tmp.resolve("out"));
    }

    @Test
    void aCommitAfterAStoppedSweepReuploadsWhatItNeedsInsteadOfWaitingOutTheLease() {
        Path shared = TestDirs.checkpoint(tmp.resolve("shared"), 7, 3, 40_000);
        WriterToken a = store.claimWriter("a");
        store.save(a, SaveRequest.of(shared, "a", 1).withRetention(Retention.keepLast(1)));
        store.save(a, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("x"), 8, 1, 1000), "a", 2)
                .withRetention(Retention.keepLast(1)));
        clock.advance(Duration.ofHours(2));
        CheckpointStore stopping = denyingDeletesAfter(1, false);
        assertThrows(StoreUnavailableException.class, () -> stopping.gc(GcRequest.collect()));

        // the same content again: it needs the sealed objects, one of them already deleted
        CheckpointStore other = Stores.open(objects, clock);
        WriterToken b = other.claimWriter("b");
        long before = clock.instant().toEpochMilli();
        SaveResult r = other.save(b, SaveRequest.of(shared, "b", 1));
        assertTrue(clock.instant().toEpochMilli() - before < Duration.ofMinutes(1).toMillis(), "no wait for the lease");
        assertTrue(r.reuploadedChunks() > 0 || r.newChunks() > 0, r.toString());
        assertEquals(GcState.Phase.IDLE, other.root().gc().phase(), "the commit cancelled the stopped sweep");
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
        other.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(shared), tmp.resolve("out"));
    }

    /**
     * A GC that cannot write its sealed list (gc/<generation>.json) has deleted nothing: it gives
     * its lease back, and the next GC runs at once (a break helper's store held it 10 minutes).
     */
    @Test
    void aGcThatCannotWriteItsSealedListGivesItsLeaseBackAndTheNextGcRunsAtOnce() {
        Path kept = garbageAndKept();
        List<String> garbage = store.gc(GcRequest.preview()).deletedKeys();
        CheckpointStore failing = Stores.open(new ForwardingObjectStore(objects) {
            @Override
            public String put(String key, byte[] data) {
                if (key.startsWith("gc/")) {
                    throw StoreUnavailableException.needingAction("cannot write " + key + ": a directory is in its place",
                            null);
                }
                return super.put(key, data);
            }
        }, clock);
        StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> failing.gc(GcRequest.collect()));
        assertTrue(e.getMessage().contains("a directory is in its place"), e.getMessage());
        assertEquals(GcState.Phase.IDLE, store.root().gc().phase(), "the lease was given back: " + store.root().gc());
        for (String k : garbage) {
            assertTrue(objects.delegate().head(k).isPresent(), "nothing was deleted: " + k);
        }
        GcResult next = store.gc(GcRequest.collect()); // no wait for the lease
        assertEquals(garbage, next.deletedKeys());
        store.restore("a:latest", tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(kept), tmp.resolve("out"));
    }

    /**
     * A GC whose seal cannot be written (ROOT refused, as on a full disk) removes its sealed
     * list again, so the room it took is there for giving the lease back: on a full local
     * store the list took the last bytes, the release failed, the lease stayed held and every
     * gc after failed the same way (helper-123).
     */
    @Test
    void aGcWhoseSealCannotBeWrittenRemovesItsSealedListAndGivesTheLeaseBack() {
        garbageAndKept();
        List<String> garbage = store.gc(GcRequest.preview()).deletedKeys();
        java.util.concurrent.atomic.AtomicBoolean full = new java.util.concurrent.atomic.AtomicBoolean();
        CheckpointStore failing = Stores.open(new ForwardingObjectStore(objects) {
            @Override
            public String put(String key, byte[] data) {
                String etag = super.put(key, data);
                if (key.startsWith("gc/")) {
                    full.set(true); // the list took the last room
                }
                return etag;
            }

            @Override
            public void delete(String key) {
                super.delete(key);
                if (key.startsWith("gc/")) {
                    full.set(false);
                }
            }

            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                if (full.get()) {
                    throw StoreUnavailableException.needingAction("cannot write " + key + ": No space left on device", null);
                }
                return super.putIfMatch(key, data, expectedEtag);
            }
        }, clock);
        StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> failing.gc(GcRequest.collect()));
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertTrue(objects.delegate().list("gc/").isEmpty(), "the sealed list was removed again");
        assertEquals(GcState.Phase.IDLE, store.root().gc().phase(), "the lease was given back: " + store.root().gc());
        for (String k : garbage) {
            assertTrue(objects.delegate().head(k).isPresent(), "nothing was deleted: " + k);
        }
        assertEquals(garbage, store.gc(GcRequest.collect()).deletedKeys(), "the next GC runs at once");
    }
}

package dev.ckpt.store;

import dev.ckpt.store.util.TransferListener;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.GcLeaseHeldException;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.objectstore.StoredObject;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GC killed in its sweep leaves its lease in ROOT until it expires (5 min here). A commit
 * that needs objects on that GC's delete list must say who holds the lease and until when
 * as soon as it starts waiting, must not wait longer than it was allowed or past its
 * deadline, and takes over an expired lease at once. The fake clock moves only when the
 * commit sleeps, so every wait here is measured exactly.
 */
class GcLeaseWaitTest extends InMemoryFixture {
    private final AtomicInteger sleeps = new AtomicInteger();
    private Runnable onFirstSleep = () -> { };
    private CheckpointStore other;
    private Path shared;
    private final List<String> notices = new CopyOnWriteArrayList<>();
    private final TransferListener listener = new TransferListener() {
        @Override
        public void progress(long done, long total) {
        }

        @Override
        public void notice(String message) {
            notices.add(message);
        }
    };

    /** A GC sealed the chunks of {@code shared} (dropped by retention) and was killed before deleting any. */
    @BeforeEach
    void gcKilledInItsSweep() {
        shared = TestDirs.checkpoint(tmp.resolve("shared"), 7, 3, 40_000);
        WriterToken a = store.claimWriter("a");
        store.save(a, SaveRequest.of(shared, "a", 1).withRetention(Retention.keepLast(1)));
        store.save(a, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("x"), 8, 1, 1000), "a", 2)
                .withRetention(Retention.keepLast(1)));
        clock.advance(Duration.ofHours(2));
        objects.crashAtWrite(objects.writes() + 3, false); // acquire, gc/ record, seal; dies at its first delete
        assertThrows(Error.class, () -> store.gc(GcRequest.collect()));
        objects.heal();
        assertEquals(GcState.Phase.SWEEP, store.root().gc().phase());
        other = CheckpointStore.open(objects, Stores.config(clock).withSleeper(ms -> {
            if (sleeps.getAndIncrement() == 0) {
                onFirstSleep.run();
            }
            clock.advance(Duration.ofMillis(ms));
        }));
    }

    @org.junit.jupiter.api.AfterEach
    void closeOther() {
        other.close();
    }

    private GcState lease() {
        return other.root().gc();
    }

    @Test
    void withoutWaitACommitThatNeedsTheSweepsObjectsFailsAtOnceNamingTheHolderAndTheExpiry() {
        GcState gc = lease();
        Instant t0 = clock.instant();
        GcLeaseHeldException e = assertThrows(GcLeaseHeldException.class, () -> other.save(other.claimWriter("b"),
                SaveRequest.of(shared, "b", 1).withGcWait(Duration.ZERO), listener));
        assertEquals(0, sleeps.get(), "no wait at all");
        assertEquals(t0, clock.instant());
        assertEquals(gc.owner(), e.owner());
        assertEquals(gc.leaseExpiry(), e.leaseExpiry());
        assertEquals(gc.generation(), e.generation());
        assertTrue(e.getMessage().contains(gc.owner()) && e.getMessage().contains(gc.leaseExpiry().toString())
                && e.getMessage().contains("GC generation " + gc.generation()), e.getMessage());
        assertTrue(gc.owner().contains(" pid " + ProcessHandle.current().pid()), "the owner says where it runs: " + gc.owner());
        assertTrue(e.isRetryable());
        assertTrue(other.list("b").isEmpty(), "nothing was committed");
        // and its manifest is withdrawn: recover would have brought it back as committed (helper-120)
        assertTrue(objects.list("manifests/").stream().noneMatch(o -> o.key().startsWith("manifests/b-s1-")),
                objects.list("manifests/").toString());
    }

    @Test
    void aWaitingCommitSaysWhoHoldsTheLeaseAtOnceAndTakesOverWhenItExpires() {
        GcState gc = lease();
        Instant t0 = clock.instant();
        long leaseLeft = gc.leaseExpiry().toEpochMilli() - t0.toEpochMilli();
        onFirstSleep = () -> assertEquals(1, notices.size(), "the notice comes before the first pause");
        SaveResult r = other.save(other.claimWriter("b"), SaveRequest.of(shared, "b", 1), listener);
        assertEquals(1, notices.size(), notices.toString());
        String n = notices.get(0);
        assertTrue(n.contains(gc.owner()) && n.contains(gc.leaseExpiry().toString()) && n.contains(r.checkpointId()), n);
        long waited = clock.instant().toEpochMilli() - t0.toEpochMilli();
        assertTrue(waited >= leaseLeft && waited < leaseLeft + 1000, "waited " + waited + " ms for a lease with "
                + leaseLeft + " ms left");
        GcState after = other.root().gc();
        assertEquals(GcState.Phase.IDLE, after.phase());
        assertTrue(after.finished().get(after.finished().size() - 1).cancelled(), "the expired sweep was taken over");
        assertTrue(r.reuploadedChunks() > 0);
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
    }

    @Test
    void anExpiredLeaseIsTakenOverAtOnce() {
        clock.advance(Duration.ofMinutes(6));
        SaveResult r = other.save(other.claimWriter("b"), SaveRequest.of(shared, "b", 1).withGcWait(Duration.ZERO),
                listener);
        assertEquals(0, sleeps.get());
        assertTrue(notices.isEmpty(), notices.toString());
        assertEquals(GcState.Phase.IDLE, other.root().gc().phase());
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
    }

    @Test
    void aCommitNeverWaitsForALiveLeasePastItsDeadline() {
        Instant t0 = clock.instant();
        Instant deadline = t0.plusSeconds(30);
        GcLeaseHeldException e = assertThrows(GcLeaseHeldException.class, () -> other.save(other.claimWriter("b"),
                SaveRequest.of(shared, "b", 1).withDeadline(deadline), listener));
        assertFalse(clock.instant().isAfter(deadline), "gave up at " + clock.instant() + ", deadline " + deadline);
        assertTrue(clock.instant().isAfter(t0.plusSeconds(29)), "waited until the deadline: the GC might have finished");
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(e.getMessage().contains(lease().owner()), e.getMessage());
    }

    @Test
    void aWaitingCommitGoesOnAsSoonAsTheGcFinishes() {
        GcState gc = lease();
        Instant t0 = clock.instant();
        onFirstSleep = () -> {
            // the GC finishes its sweep while the commit waits
            gc.dead().forEach(k -> objects.delegate().delete(k));
            new RootStore(objects).change(s -> s.withGc(s.gc().finish(clock.instant(), false)));
        };
        SaveResult r = other.save(other.claimWriter("b"), SaveRequest.of(shared, "b", 1), listener);
        assertTrue(clock.instant().isBefore(t0.plusSeconds(1)), "went on right after the GC finished");
        assertTrue(r.reuploadedChunks() > 0, "what the GC deleted was uploaded again");
        assertFalse(other.root().gc().finished().get(other.root().gc().finished().size() - 1).cancelled());
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
        other.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(shared), tmp.resolve("out"));
    }

    @Test
    void aLiveSweepThatDeletesNothingTheCheckpointNeedsDoesNotDelayItsCommit() {
        Path fresh = TestDirs.checkpoint(tmp.resolve("fresh"), 99, 2, 20_000);
        SaveResult r = other.save(other.claimWriter("b"), SaveRequest.of(fresh, "b", 1).withGcWait(Duration.ZERO),
                listener);
        assertEquals(0, sleeps.get());
        assertTrue(notices.isEmpty());
        assertEquals(GcState.Phase.SWEEP, other.root().gc().phase(), "the sweep is left to its GC");
        // the GC's sweep then finishes (resumed after its lease expired) and the checkpoint keeps every object
        clock.advance(Duration.ofMinutes(6));
        other.gc(GcRequest.collect());
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
    }

    @Test
    void aSecondGcSaysWhoHoldsTheLeaseAndUntilWhen() {
        GcState gc = lease();
        GcLeaseHeldException e = assertThrows(GcLeaseHeldException.class, () -> other.gc(GcRequest.collect()));
        assertEquals(0, sleeps.get());
        assertTrue(e.getMessage().contains(gc.owner()) && e.getMessage().contains(gc.leaseExpiry().toString()),
                e.getMessage());
        assertEquals(gc.leaseExpiry(), e.leaseExpiry());
    }

    /**
     * Found in review: the commit re-uploads an expired sweep's dead list, then another GC
     * takes that sweep over (same generation, its own lease), deletes the list, and dies
     * before finishing. The commit must re-upload again: it remembers the lease it
     * re-uploaded for, not only the generation. Fails (missing chunks) when it remembers
     * only the generation.
     */
    @Test
    void aSweepTakenOverAfterTheReuploadIsReuploadedAgain() {
        clock.advance(Duration.ofMinutes(6)); // the killed GC's lease has expired
        GcState killed = lease();
        java.util.concurrent.atomic.AtomicBoolean manifestWritten = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean reuploaded = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean takenOver = new java.util.concurrent.atomic.AtomicBoolean();
        ObjectStore hooked = new ForwardingObjectStore(objects) {
            @Override
            public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                note(key);
                return super.putIfAbsent(key, data, offset, length);
            }

            @Override
            public String put(String key, byte[] data) {
                note(key);
                return super.put(key, data);
            }

            @Override
            public StoredObject get(String key) {
                if (key.equals(RootState.KEY) && reuploaded.get() && takenOver.compareAndSet(false, true)) {
                    // GC "b" takes the expired sweep over, deletes its whole list, and dies; its lease expires too
                    new RootStore(objects).change(r -> r.withGc(new GcState(GcState.Phase.SWEEP, killed.generation(),
                            "b@elsewhere pid 2", clock.instant().plus(Duration.ofMinutes(5)), killed.dead(),
                            r.gc().finished())));
                    killed.dead().forEach(k -> objects.delegate().delete(k));
                    clock.advance(Duration.ofMinutes(6));
                }
                return super.get(key);
            }

            private void note(String key) {
                if (key.startsWith("manifests/")) {
                    manifestWritten.set(true);
                } else if (manifestWritten.get() && key.startsWith("chunks/")) {
                    reuploaded.set(true); // a write after the manifest: the commit's re-upload
                }
            }
        };
        try (CheckpointStore s = CheckpointStore.open(hooked, Stores.config(clock))) {
            SaveResult r = s.save(s.claimWriter("b"), SaveRequest.of(shared, "b", 1).withGcWait(Duration.ZERO));
            assertTrue(takenOver.get(), "the takeover came between the commit's re-upload and its ROOT write");
            assertTrue(s.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok(), "every object of the committed checkpoint exists");
            s.restore(r.checkpointId(), tmp.resolve("out-takeover"));
            TestDirs.assertSameTree(TestDirs.snapshot(shared), tmp.resolve("out-takeover"));
        }
    }

    /** The killed GC's lease, as if its owner were a process of this host that has ended (a real kill -9). */
    private GcState ownedByAnEndedProcess(GcState.Phase phase) throws Exception {
        String gone = dev.ckpt.store.commit.LeaseOwnerTest.ownerOfAnEndedProcess();
        new RootStore(objects).change(s -> s.withGc(new GcState(phase, s.gc().generation(), gone, s.gc().leaseExpiry(),
                phase == GcState.Phase.SWEEP ? s.gc().dead() : List.of(), s.gc().finished())));
        return lease();
    }

    /**
     * A GC killed in its sweep held every later GC off, and every commit that needed its
     * objects, until its lease expired (10 minutes by default), though no process of it was
     * left. A GC now takes such a lease over at once and finishes the sweep.
     */
    @Test
    void aGcTakesOverAtOnceTheLeaseOfAGcWhoseProcessHasEnded() throws Exception {
        GcState gc = ownedByAnEndedProcess(GcState.Phase.SWEEP);
        assertTrue(gc.leaseValid(clock.instant()));
        List<String> said = new CopyOnWriteArrayList<>();
        var r = other.gc(GcRequest.collect().withProgress(said::add));
        assertEquals(0, sleeps.get());
        assertTrue(r.resumed(), "its sealed list was finished");
        assertEquals(gc.dead().size(), r.deletedKeys().size());
        gc.dead().forEach(k -> assertTrue(objects.delegate().head(k).isEmpty(), k + " deleted"));
        assertEquals(GcState.Phase.IDLE, lease().phase());
        assertTrue(said.stream().anyMatch(m -> m.startsWith("took over the lease of GC generation " + gc.generation())
                && m.contains("process " + dev.ckpt.store.commit.LeaseOwner.pid(gc.owner()) + " of this host")
                && m.contains("is gone")), said.toString());
        // and the checkpoint that needed those objects commits at once, uploading them again
        SaveResult s = other.save(other.claimWriter("b"), SaveRequest.of(shared, "b", 1).withGcWait(Duration.ZERO), listener);
        assertTrue(s.reuploadedChunks() + s.newChunks() > 0, "what the sweep deleted was uploaded again");
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(s.checkpointId()))).ok());
    }

    /** The same for a GC killed while it marked: the next GC begins its own generation at once. */
    @Test
    void aGcKilledWhileItMarkedIsTakenOverAtOnce() throws Exception {
        GcState gc = ownedByAnEndedProcess(GcState.Phase.MARK);
        var r = other.gc(GcRequest.collect());
        assertEquals(gc.generation() + 1, r.generation());
        assertEquals(GcState.Phase.IDLE, lease().phase());
    }

    /**
     * A commit that needs objects of such a GC's sweep takes the sweep over at once, as it does
     * an expired one: cancels it, uploads again what it needs of its list, commits. It waited
     * for the rest of the lease (10 minutes by default), or failed at once without --wait-for-gc.
     */
    @Test
    void aCommitTakesOverTheSweepOfAnEndedGcAtOnce() throws Exception {
        GcState gc = ownedByAnEndedProcess(GcState.Phase.SWEEP);
        assertTrue(gc.leaseValid(clock.instant()));
        SaveResult r = other.save(other.claimWriter("b"), SaveRequest.of(shared, "b", 1).withGcWait(Duration.ZERO), listener);
        assertEquals(0, sleeps.get(), "no wait");
        assertTrue(notices.isEmpty(), notices.toString());
        GcState after = other.root().gc();
        assertEquals(GcState.Phase.IDLE, after.phase());
        assertTrue(after.finished().get(after.finished().size() - 1).cancelled(), "the sweep was cancelled");
        assertTrue(r.reuploadedChunks() > 0, "what the sweep may have deleted was uploaded again");
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
        other.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(shared), tmp.resolve("out"));
    }

    /** A sweep whose GC still runs (this JVM owns the lease here) is still waited for: only a gone owner is taken over. */
    @Test
    void aSweepOfARunningGcIsStillWaitedFor() {
        assertThrows(GcLeaseHeldException.class, () -> other.save(other.claimWriter("b"),
                SaveRequest.of(shared, "b", 1).withGcWait(Duration.ZERO), listener));
        assertEquals(GcState.Phase.SWEEP, other.root().gc().phase());
    }

    /** A resumed sweep says what it removes now, not its whole list (a helper saw 63 objects for 44 left). */
    @Test
    void aResumedSweepCountsOnlyWhatIsStillThere() {
        GcState gc = lease();
        assertTrue(gc.dead().size() > 2, gc.dead().toString());
        gc.dead().subList(0, 2).forEach(k -> objects.delegate().delete(k)); // what the killed GC got to
        clock.advance(Duration.ofMinutes(6));
        var preview = other.gc(GcRequest.preview());
        var r = other.gc(GcRequest.collect());
        assertTrue(r.resumed());
        assertEquals(gc.dead().size() - 2, r.deletedKeys().size());
        assertEquals(r.deletedKeys(), preview.deletedKeys(), "the dry run said the same");
        gc.dead().forEach(k -> assertTrue(objects.delegate().head(k).isEmpty(), k));
    }
}

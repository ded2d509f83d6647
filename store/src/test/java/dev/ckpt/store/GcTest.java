package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GcTest extends InMemoryFixture {

    private Set<String> keys() {
        return objects.delegate().list("").stream().map(ObjectInfo::key).collect(Collectors.toCollection(TreeSet::new));
    }

    /** Three checkpoints of different content with keep-last 1: two become garbage. */
    private List<SaveResult> makeGarbage() {
        WriterToken w = store.claimWriter("r");
        List<SaveResult> out = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path src = TestDirs.checkpoint(tmp.resolve("src" + i), 100 + i, 3, 40_000);
            out.add(store.save(w, SaveRequest.of(src, "r", i).withRetention(Retention.keepLast(1))));
        }
        return out;
    }

    @Test
    void dryRunDeletesNothingAndPredictsExactlyWhatGcDeletes() {
        List<SaveResult> saves = makeGarbage();
        clock.advance(Duration.ofHours(2));
        Set<String> before = keys();
        GcResult dry = store.gc(GcRequest.preview());
        assertEquals(before, keys(), "a dry run changes nothing, ROOT included");
        assertTrue(dry.dryRun());
        assertFalse(dry.deletedKeys().isEmpty());
        GcResult real = store.gc(GcRequest.collect());
        assertEquals(dry.deletedKeys(), real.deletedKeys());
        assertEquals(dry.deletedBytes(), real.deletedBytes());
        Set<String> after = keys();
        for (String k : real.deletedKeys()) {
            assertFalse(after.contains(k), k);
        }
        assertTrue(real.deletedKeys().contains("manifests/" + saves.get(0).checkpointId() + ".json"));
        assertTrue(store.verify(VerifyRequest.deep()).ok());
        store.restore(saves.get(2).checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(tmp.resolve("src2")), tmp.resolve("out"));
        assertEquals(0, store.gc(GcRequest.preview()).deletedKeys().size(), "nothing left to collect");
    }

    /**
     * Another store whose prefix lies in this one's chunks/ or manifests/ (s3://b/x and
     * s3://b/x/chunks, s3://b/x/manifests/team) lists there too: GC deletes only keys of the
     * shapes this store writes, never those, however old (helper-102: GC deleted a nested
     * store's ROOT, chunks and manifests as garbage).
     */
    @Test
    void gcLeavesAStoreNestedInChunksOrManifestsAlone() {
        List<SaveResult> saves = makeGarbage();
        String hash = "fe" + "1".repeat(62);
        List<String> nested = List.of("chunks/ROOT", "chunks/chunks/fe/" + hash, "chunks/manifests/n-s1-0a0b0c0d.json",
                "chunks/ab/ROOT", "chunks/ab/chunks/fe/" + hash, "chunks/fe/" + hash + "/ROOT",
                "manifests/ROOT", "manifests/chunks/fe/" + hash, "manifests/manifests/n-s1-0a0b0c0d.json",
                "manifests/manifests/n-s1-e3/part-00000.json", "manifests/runs/n/writer", "manifests/gc/lease.json",
                "manifests/team/ROOT", "manifests/team/manifests/n-s1-0a0b0c0d.json", "manifests/team/chunks/fe/" + hash);
        for (String k : nested) {
            objects.delegate().put(k, "not this store's".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        clock.advance(Duration.ofHours(2));
        GcResult r = store.gc(GcRequest.collect());
        assertTrue(r.deletedKeys().contains("manifests/" + saves.get(0).checkpointId() + ".json"), r.deletedKeys().toString());
        for (String k : nested) {
            assertFalse(r.deletedKeys().contains(k), k);
            assertTrue(keys().contains(k), k);
        }
        assertTrue(store.verify(VerifyRequest.deep()).ok());
    }

    /**
     * A ROOT older than checkpoints in the store (a backup of it put back by hand): GC deletes
     * nothing and says why, in a dry run too, where it listed the newer checkpoints' manifests and
     * chunks for deletion (helper-120). A new run's first checkpoint, unknown to the old ROOT, is
     * caught as well. Once ROOT is newer again (recover), GC runs.
     */
    @Test
    void aRootOlderThanTheStoresCheckpointsStopsGcBeforeItDeletesThem() {
        WriterToken first = store.claimWriter("r");
        Path v1 = TestDirs.checkpoint(tmp.resolve("v1"), 1, 2, 30_000);
        SaveResult kept = store.save(first, SaveRequest.of(v1, "r", 1));
        byte[] olderRoot = objects.delegate().get("ROOT").data();
        WriterToken second = store.claimWriter("r"); // a job that took the run over: epoch 2
        SaveResult newer = store.save(second, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v2"), 2, 2, 30_000), "r", 2));
        objects.delegate().put("ROOT", olderRoot); // put back by hand
        clock.advance(Duration.ofHours(2));
        Set<String> before = keys();
        for (GcRequest request : List.of(GcRequest.preview(), GcRequest.collect())) {
            dev.ckpt.store.error.CorruptObjectException e = assertThrows(dev.ckpt.store.error.CorruptObjectException.class,
                    () -> store.gc(request));
            assertTrue(e.getMessage().startsWith("GC stopped without deleting anything: manifests/" + newer.checkpointId()
                    + ".json (run 'r', step 2) was written by writer epoch " + second.epoch() + ", but ROOT records epoch "
                    + first.epoch() + " for run 'r', so ROOT is older than checkpoints in the store"), e.getMessage());
            assertTrue(e.getMessage().contains("ckpt-tool recover"), e.getMessage());
            assertTrue(e.getMessage().contains("--apply does it (add --force within 15 minutes"), e.getMessage());
        }
        Set<String> after = keys();
        after.removeIf(k -> k.equals("ROOT"));
        before.removeIf(k -> k.equals("ROOT"));
        assertEquals(before, after, "nothing deleted");
        assertEquals(kept.checkpointId(), store.resolve("r:latest").id(), "the older ROOT's view, unchanged");

        // a run the old ROOT has never heard of
        objects.delegate().put("ROOT", olderRoot);
        WriterToken other = store.claimWriter("q");
        store.save(other, SaveRequest.of(v1, "q", 1));
        objects.delegate().put("ROOT", olderRoot);
        clock.advance(Duration.ofHours(2));
        dev.ckpt.store.error.CorruptObjectException none = assertThrows(dev.ckpt.store.error.CorruptObjectException.class,
                () -> store.gc(GcRequest.preview()));
        assertTrue(none.getMessage().contains("but ROOT records no run 'q'"), none.getMessage());
    }

    @Test
    void verifyOfTheWholeStoreAndTheCheckBehindDoctorFindAnOlderRoot() {
        WriterToken first = store.claimWriter("r");
        SaveResult kept = store.save(first, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v1"), 1, 2, 30_000), "r", 1));
        assertTrue(store.newerThanRoot().isEmpty(), "a store in order");
        byte[] olderRoot = objects.delegate().get("ROOT").data();
        dev.ckpt.store.manifest.RootState olderState = store.root();
        WriterToken second = store.claimWriter("r");
        SaveResult newer = store.save(second, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v2"), 2, 2, 30_000), "r", 2));
        // retention's leftovers (unreferenced manifests of this writer's epoch or older) are not taken for an older ROOT
        store.forget(new ForgetRequest(List.of(kept.checkpointId()), false));
        assertTrue(store.newerThanRoot().isEmpty(), "a forgotten checkpoint's manifest is no sign");
        assertTrue(store.verify(new VerifyRequest(List.of(), 0)).ok());

        byte[] newestRoot = objects.delegate().get("ROOT").data();
        objects.delegate().put("ROOT", olderRoot); // put back by hand
        dev.ckpt.store.commit.NewerThanRoot n = store.newerThanRoot().orElseThrow();
        assertEquals("manifests/" + newer.checkpointId() + ".json", n.manifest());
        assertEquals(second.epoch(), n.writerEpoch());
        assertEquals(first.epoch(), n.rootEpoch());
        for (double fraction : new double[]{0, 1}) {
            dev.ckpt.store.restore.VerifyReport all = store.verify(new VerifyRequest(List.of(), fraction));
            assertFalse(all.ok(), "verify of the whole store");
            assertEquals(List.of(dev.ckpt.store.restore.VerifyReport.Kind.ROOT_OLDER),
                    all.problems().stream().map(dev.ckpt.store.restore.VerifyReport.Problem::kind).toList());
            assertTrue(all.problems().get(0).message().contains("ROOT is older than checkpoints in the store")
                    && all.problems().get(0).message().contains("ckpt-tool recover"), all.problems().get(0).message());
        }
        // a verify of named checkpoints checks those only
        assertTrue(store.verify(new VerifyRequest(List.of("r:latest"), 0)).ok());

        // what it finds is checked against ROOT read again: a job that claimed the run after the first read
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        objects.delegate().put("ROOT", newestRoot); // put right; then a job claims the run after a ROOT read (olderState)
        WriterToken third = store.claimWriter("r");
        store.save(third, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v3"), 3, 2, 30_000), "r", 3));
        assertTrue(dev.ckpt.store.commit.NewerThanRoot.find(objects, () -> reads.getAndIncrement() == 0 ? olderState
                : store.root()).isEmpty(), "the fresh ROOT holds the newer epoch");
        assertEquals(2, reads.get());
    }

    /**
     * After an older ROOT is put back, a claim of the run is refused: it took that ROOT's epoch + 1,
     * the epoch of the newer checkpoint's writer, so verify, doctor and GC no longer saw the
     * checkpoint, and GC deleted it (helper-124). GC with its default grace (the checkpoint
     * young) stops too, where it had said nothing and written its sealed list.
     */
    @Test
    void aClaimOverAnOlderRootIsRefusedAndGcStopsWhileTheNewerCheckpointIsYoung() {
        WriterToken first = store.claimWriter("r");
        store.save(first, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v1"), 1, 2, 30_000), "r", 1));
        byte[] olderRoot = objects.delegate().get("ROOT").data();
        WriterToken second = store.claimWriter("r");
        SaveResult newer = store.save(second, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v2"), 2, 2, 30_000), "r", 2));
        objects.delegate().put("ROOT", olderRoot);
        Set<String> before = keys();

        dev.ckpt.store.error.CorruptObjectException gc = assertThrows(dev.ckpt.store.error.CorruptObjectException.class,
                () -> store.gc(GcRequest.collect()), "no clock advanced: the newer manifest is younger than the grace");
        assertTrue(gc.getMessage().contains("manifests/" + newer.checkpointId() + ".json (run 'r', step 2)"), gc.getMessage());
        for (java.util.function.Supplier<WriterToken> claim : List.<java.util.function.Supplier<WriterToken>>of(
                () -> store.claimWriter("r"), () -> store.joinRun("r", "job-7"))) {
            dev.ckpt.store.error.CorruptObjectException e = assertThrows(dev.ckpt.store.error.CorruptObjectException.class,
                    claim::get);
            assertTrue(e.getMessage().startsWith("cannot claim run 'r': manifests/" + newer.checkpointId() + ".json (run 'r',"
                    + " step 2) was written by writer epoch " + second.epoch() + ", but ROOT records epoch " + first.epoch())
                    && e.getMessage().contains("--apply"), e.getMessage());
        }
        assertEquals(before, keys(), "nothing written, ROOT as put back");
        assertEquals(first.epoch(), store.root().runs().get("r").writerEpoch());
        store.claimWriter("q"); // another run: nothing of it is newer
        // after the newest ROOT is put back, the run is claimed again
        objects.delegate().put("ROOT", olderRoot);
        store.forget(new ForgetRequest(List.of(store.resolve("r:latest").id()), false)); // its manifest now unreferenced
        assertThrows(dev.ckpt.store.error.CorruptObjectException.class, () -> store.claimWriter("r"));
    }

    /**
     * The claim's look is checked against ROOT read again: a writer that claimed the run after
     * the claim's read of ROOT and saved before its listing is not an older ROOT (CI's torture
     * refused a claim, "written by writer epoch 58, but ROOT records epoch 57", when ROOT
     * already recorded 58). The same older ROOT read twice is still found.
     */
    @Test
    void aClaimsLookAtNewerManifestsIsCheckedAgainstRootReadAgain() {
        WriterToken first = store.claimWriter("r");
        store.save(first, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v1"), 1, 2, 30_000), "r", 1));
        dev.ckpt.store.manifest.RootState read = store.root(); // the claim's first read
        WriterToken other = store.claimWriter("r"); // another writer claims and saves meanwhile
        SaveResult saved = store.save(other, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v2"), 2, 2, 30_000), "r", 2));
        store.forget(new ForgetRequest(List.of(saved.checkpointId()), false)); // unreferenced by the ROOT read afresh too
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        assertTrue(dev.ckpt.store.commit.NewerThanRoot.forClaim(objects, () -> reads.getAndIncrement() == 0 ? read
                : store.root(), "r").isEmpty(), "the fresh ROOT records the other writer's epoch");
        assertEquals(2, reads.get());
        dev.ckpt.store.commit.NewerThanRoot older = dev.ckpt.store.commit.NewerThanRoot.forClaim(objects, () -> read, "r")
                .orElseThrow();
        assertEquals("manifests/" + saved.checkpointId() + ".json", older.manifest());
        assertEquals(other.epoch(), older.writerEpoch());
        store.claimWriter("r"); // and the claim itself goes through
    }

    /**
     * The claim's look takes any step (helper-125: a restarted run's lost step 50 below the old
     * ROOT's step 100 was missed) and only the run's own manifests (helper-125: run "a-s1", of the
     * same prefix and found first, hid run "a"'s).
     */
    @Test
    void aClaimOverAnOlderRootIsRefusedForALowerStepAndBesideARunOfTheSamePrefix() {
        WriterToken m1 = store.claimWriter("m");
        store.save(m1, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("m100"), 1, 2, 30_000), "m", 100));
        WriterToken a1 = store.claimWriter("a");
        store.save(a1, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("a1"), 2, 2, 30_000), "a", 1));
        byte[] olderRoot = objects.delegate().get("ROOT").data();
        SaveResult m50 = store.save(store.claimWriter("m"), SaveRequest.of(TestDirs.checkpoint(tmp.resolve("m50"), 3, 2,
                30_000), "m", 50));
        store.save(store.claimWriter("a-s1"), SaveRequest.of(TestDirs.checkpoint(tmp.resolve("as1"), 4, 2, 30_000), "a-s1", 10));
        SaveResult a5 = store.save(store.claimWriter("a"), SaveRequest.of(TestDirs.checkpoint(tmp.resolve("a5"), 5, 2, 30_000),
                "a", 5));
        objects.delegate().put("ROOT", olderRoot);
        dev.ckpt.store.error.CorruptObjectException lower = assertThrows(dev.ckpt.store.error.CorruptObjectException.class,
                () -> store.claimWriter("m"));
        assertTrue(lower.getMessage().startsWith("cannot claim run 'm': manifests/" + m50.checkpointId() + ".json (run 'm',"
                + " step 50)"), lower.getMessage());
        dev.ckpt.store.error.CorruptObjectException prefix = assertThrows(dev.ckpt.store.error.CorruptObjectException.class,
                () -> store.claimWriter("a"));
        assertTrue(prefix.getMessage().startsWith("cannot claim run 'a': manifests/" + a5.checkpointId() + ".json (run 'a',"
                + " step 5)"), prefix.getMessage());
    }

    @Test
    void onlyTheShapesThisStoreWritesAreItsManifestKeys() {
        for (String own : List.of("manifests/r-s1-0a0b0c0d.json", "manifests/r-s10-e3/part-00002.json",
                "manifests/r-s10-e3/part-123456.json", "manifests/r-s10-e3/refused.json", "manifests/chunks-s1-e1.json")) {
            assertTrue(dev.ckpt.store.manifest.Manifest.isOwnKey(own), own);
        }
        for (String other : List.of("manifests/ROOT", "manifests/chunks.json", "manifests/manifests/r-s1-e1.json",
                "manifests/r-s1-e1/ROOT", "manifests/r-s1-e1/part-1.json", "manifests/a..b.json", "manifests/.x.json",
                "manifests/r-s1-e1.json.tmp", "manifests/x/y/z.json")) {
            assertFalse(dev.ckpt.store.manifest.Manifest.isOwnKey(other), other);
        }
    }

    @Test
    void unreferencedObjectsYoungerThanGraceAreSpared() {
        makeGarbage();
        clock.advance(Duration.ofMinutes(30)); // grace is 60 min
        GcResult r = store.gc(GcRequest.collect());
        assertEquals(0, r.deletedKeys().size());
        assertTrue(r.youngUnreferenced() > 0);
    }

    @Test
    void onlyOneGcAtATime() {
        makeGarbage();
        // a GC that crashed in MARK holds the lease until it expires
        objects.crashAtWrite(objects.writes() + 1, false); // after acquiring: crash at the gc/ record
        assertThrows(Error.class, () -> store.gc(GcRequest.collect()));
        objects.heal();
        CheckpointStore other = Stores.open(objects, clock);
        CommitConflictException e = assertThrows(CommitConflictException.class, () -> other.gc(GcRequest.collect()));
        assertTrue(e.getMessage().contains("lease"), e.getMessage());
        clock.advance(Duration.ofMinutes(6));
        other.gc(GcRequest.collect());
        assertEquals(GcState.Phase.IDLE, other.root().gc().phase());
    }

    @Test
    void commitReuploadsChunksThatAGcDeletedWhileTheSaveWasInFlight() {
        Path shared = TestDirs.checkpoint(tmp.resolve("shared"), 7, 3, 40_000);
        WriterToken a = store.claimWriter("a");
        store.save(a, SaveRequest.of(shared, "a", 1).withRetention(Retention.keepLast(1)));
        CheckpointStore other = Stores.open(objects, clock);
        WriterToken b = other.claimWriter("b");
        AtomicBoolean raced = new AtomicBoolean();
        // When b writes its manifest (all its chunks deduplicated against a's checkpoint),
        // a drops that checkpoint and a GC deletes its chunks.
        objects.inject(FaultInjectingObjectStore.Op.PUT_IF_ABSENT, k -> {
            if (k.startsWith("manifests/b-") && raced.compareAndSet(false, true)) {
                store.save(a, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("other"), 8, 1, 1000), "a", 2)
                        .withRetention(Retention.keepLast(1)));
                clock.advance(Duration.ofHours(2));
                GcResult gc = store.gc(GcRequest.collect());
                assertTrue(gc.deletedKeys().stream().anyMatch(x -> x.startsWith("chunks/")), gc.toString());
            }
            return false;
        }, FaultInjectingObjectStore.Fault.ERROR_BEFORE, 0);
        SaveResult r = other.save(b, SaveRequest.of(shared, "b", 1));
        assertTrue(raced.get());
        assertEquals(0, r.newChunks(), "all chunks were deduplicated at upload time");
        assertTrue(r.reuploadedChunks() > 0, "the commit re-uploaded what the GC deleted");
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
        other.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(shared), tmp.resolve("out"));
    }

    @Test
    void commitWaitsForARunningSweepAndProceedsWhenItFinishes() throws Exception {
        makeGarbage();
        clock.advance(Duration.ofHours(2));
        // Hold the sweep at its first delete until a commit has started waiting.
        java.util.concurrent.CountDownLatch commitStarted = new java.util.concurrent.CountDownLatch(1);
        AtomicBoolean once = new AtomicBoolean();
        objects.inject(FaultInjectingObjectStore.Op.DELETE, k -> {
            if (once.compareAndSet(false, true)) {
                try {
                    commitStarted.await();
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return false;
        }, FaultInjectingObjectStore.Fault.ERROR_BEFORE, 0);
        Thread gc = new Thread(() -> store.gc(GcRequest.collect()));
        gc.start();
        while (store.root().gc().phase() != GcState.Phase.SWEEP) {
            Thread.sleep(5);
        }
        CheckpointStore other = Stores.open(objects, clock);
        WriterToken w = other.claimWriter("w");
        Path src = TestDirs.checkpoint(tmp.resolve("w"), 9, 2, 10_000);
        objects.inject(FaultInjectingObjectStore.Op.GET, k -> {
            if (k.equals("ROOT")) {
                commitStarted.countDown();
            }
            return false;
        }, FaultInjectingObjectStore.Fault.ERROR_BEFORE, 0);
        SaveResult r = other.save(w, SaveRequest.of(src, "w", 1));
        gc.join();
        assertEquals(GcState.Phase.IDLE, other.root().gc().phase());
        GcState.FinishedGeneration fin = other.root().gc().finished().get(0);
        assertFalse(fin.cancelled());
        assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
    }

    @Test
    void gcThatCrashedMidSweepIsResumedByTheNextGcOnceItsLeaseExpires() {
        makeGarbage();
        clock.advance(Duration.ofHours(2));
        GcResult preview = store.gc(GcRequest.preview());
        // writes: acquire ROOT, gc/ record, seal ROOT, then deletes: crash after the 3rd delete
        objects.crashAtWrite(objects.writes() + 3 + 2, true);
        assertThrows(Error.class, () -> store.gc(GcRequest.collect()));
        objects.heal();
        CheckpointStore next = Stores.open(objects, clock);
        assertEquals(GcState.Phase.SWEEP, next.root().gc().phase());
        assertThrows(CommitConflictException.class, () -> next.gc(GcRequest.collect()), "lease still held");
        clock.advance(Duration.ofMinutes(6));
        GcResult dry = next.gc(GcRequest.preview());
        assertTrue(dry.resumed());
        GcResult resumed = next.gc(GcRequest.collect());
        assertTrue(resumed.resumed());
        // the sealed delete list of the crashed generation, less the 2 it deleted before it died: what is deleted now
        assertEquals(preview.deletedKeys().subList(2, preview.deletedKeys().size()), resumed.deletedKeys());
        assertEquals(dry.deletedKeys(), resumed.deletedKeys(), "the dry run said the same");
        for (String k : preview.deletedKeys()) {
            assertTrue(objects.delegate().head(k).isEmpty(), k);
        }
        assertEquals(GcState.Phase.IDLE, next.root().gc().phase());
        assertTrue(next.verify(VerifyRequest.deep()).ok());
    }

    @Test
    void aCommitCancelsASweepWhoseGcDiedAndReuploadsWhatItNeeds() {
        Path shared = TestDirs.checkpoint(tmp.resolve("shared"), 7, 3, 40_000);
        WriterToken a = store.claimWriter("a");
        store.save(a, SaveRequest.of(shared, "a", 1).withRetention(Retention.keepLast(1)));
        store.save(a, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("x"), 8, 1, 1000), "a", 2)
                .withRetention(Retention.keepLast(1)));
        clock.advance(Duration.ofHours(2));
        objects.crashAtWrite(objects.writes() + 3, false); // GC dies before its first delete
        assertThrows(Error.class, () -> store.gc(GcRequest.collect()));
        objects.heal();
        clock.advance(Duration.ofMinutes(6));
        CheckpointStore other = Stores.open(objects, clock);
        SaveResult r = other.save(other.claimWriter("b"), SaveRequest.of(shared, "b", 1));
        GcState gc = other.root().gc();
        assertEquals(GcState.Phase.IDLE, gc.phase());
        assertTrue(gc.finished().get(gc.finished().size() - 1).cancelled());
        assertTrue(r.reuploadedChunks() > 0, "chunks on the dead list were re-uploaded before the commit");
        assertTrue(other.verify(VerifyRequest.deep()).ok());
        other.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(shared), tmp.resolve("out"));
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.commit.Outcome.NeedObjects;
import dev.ckpt.store.commit.Outcome.Refused;
import dev.ckpt.store.commit.Outcome.SweepLease;
import dev.ckpt.store.commit.Outcome.Unchanged;
import dev.ckpt.store.commit.Outcome.WaitUntil;
import dev.ckpt.store.commit.Outcome.Watermark;
import dev.ckpt.store.commit.Outcome.Write;
import dev.ckpt.store.commit.Transitions.CommitRequest;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.error.GcLeaseHeldException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.GcState.Phase;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every ROOT change as a pure transition: (ROOT, request, now) → outcome, without a store and
 * with time passed in. Each case names the row of the transitions table in docs/design.md.
 */
class TransitionsTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration LEASE = Duration.ofMinutes(10);
    private static final String STORE = "mem://t";

    static CheckpointEntry entry(String run, long step) {
        String id = run + "-s" + step + "-00000000";
        return new CheckpointEntry(id, "manifests/" + id + ".json", "sha", run, step, null, T0.plusSeconds(step), 1, 10,
                1, Map.of(), false, null);
    }

    static RootState with(RootState r, CheckpointEntry... es) {
        Map<String, CheckpointEntry> c = new HashMap<>(r.checkpoints());
        for (CheckpointEntry e : es) {
            c.put(e.id(), e);
        }
        return r.withCheckpoints(c);
    }

    /** ROOT with run "r" claimed at epoch 1. */
    static RootState claimed() {
        return RootState.empty().withRuns(Map.of("r", new RunState(1, "w1", T0)));
    }

    static GcState gc(Phase phase, long gen, String owner, Instant expiry, List<String> dead,
                      List<GcState.FinishedGeneration> finished) {
        return new GcState(phase, gen, owner, expiry, dead, finished);
    }

    // ---- Writers ----
    @Test
    void initCreatesAnAbsentRootAndLeavesAnExistingOne() {
        assertInstanceOf(Write.class, Transitions.init(RootState.empty()));
        RootState existing = RootState.empty().stamped("t1");
        assertInstanceOf(Unchanged.class, Transitions.init(existing));
    }

    @Test
    void claimBumpsOnlyThatRunsEpoch() {
        RootState r = claimed().withRuns(Map.of("r", new RunState(1, "w1", T0), "other", new RunState(7, "x", T0)));
        Write<Long> w = assertInstanceOf(Write.class, Transitions.claim(r, "r", "w2", T0.plusSeconds(5)));
        assertEquals(2L, w.value());
        assertEquals(new RunState(2, "w2", T0.plusSeconds(5)), w.next().runs().get("r"));
        assertEquals(7, w.next().runs().get("other").writerEpoch());
        Write<Long> fresh = assertInstanceOf(Write.class, Transitions.claim(r, "new", "w", T0));
        assertEquals(1L, fresh.value());
    }

    @Test
    void ranksOfOneJobShareTheEpochAndAReplacedJobCannotJoinAgain() {
        // first rank of job A: claims the run, the single-process writer w1 is not retired (it cannot come back)
        Write<Long> a = assertInstanceOf(Write.class, Transitions.join(claimed(), "r", "job:a", T0));
        assertEquals(2L, a.value());
        assertEquals(List.of(), a.next().runs().get("r").retired());
        // every later rank of job A: the same epoch, nothing written
        Unchanged<Long> again = assertInstanceOf(Unchanged.class, Transitions.join(a.next(), "r", "job:a", T0));
        assertEquals(2L, again.value());
        // job B (the requeued job) claims: job A is retired
        Write<Long> b = assertInstanceOf(Write.class, Transitions.join(a.next(), "r", "job:b", T0.plusSeconds(1)));
        assertEquals(3L, b.value());
        assertEquals(List.of("job:a"), b.next().runs().get("r").retired());
        // a late rank of job A is refused and leaves ROOT as it is
        Refused<Long> late = assertInstanceOf(Refused.class, Transitions.join(b.next(), "r", "job:a", T0));
        assertInstanceOf(FencedException.class, late.reason());
        assertEquals(3, ((FencedException) late.reason()).currentEpoch());
        // a single process claiming the run retires job B too
        Write<Long> c = assertInstanceOf(Write.class, Transitions.claim(b.next(), "r", "w9", T0));
        assertEquals(List.of("job:a", "job:b"), c.next().runs().get("r").retired());
        assertInstanceOf(Refused.class, Transitions.join(c.next(), "r", "job:b", T0));
        // the retired list is bounded: the oldest jobs fall out
        RootState many = c.next();
        for (int i = 0; i < RunState.KEEP_RETIRED + 5; i++) {
            many = ((Write<Long>) Transitions.join(many, "r", "job:n" + i, T0)).next();
        }
        assertEquals(RunState.KEEP_RETIRED, many.runs().get("r").retired().size());
    }

    @Test
    void fenceHoldsOnlyForTheCurrentEpoch() {
        assertTrue(Transitions.fence(claimed(), "r", 1).isEmpty());
        FencedException e = Transitions.fence(claimed(), "r", 0).orElseThrow();
        assertEquals(1, e.currentEpoch());
        assertTrue(Transitions.fence(claimed(), "unclaimed", 1).isPresent());
    }

    @Test
    void recordVerifiedStampsKnownIdsAndSkipsGoneOnes() {
        CheckpointEntry a = entry("r", 1);
        RootState r = with(claimed(), a);
        Write<Integer> w = assertInstanceOf(Write.class,
                Transitions.recordVerified(r, List.of(a.id(), "gone-s1-00000000"), T0.plusSeconds(9)));
        assertEquals(1, w.value());
        assertEquals(T0.plusSeconds(9), w.next().checkpoints().get(a.id()).verifiedAt());
        assertInstanceOf(Unchanged.class, Transitions.recordVerified(r, List.of("gone-s1-00000000"), T0));
    }

    @Test
    void pinFlipsWritesAndIsUnchangedWhenAlreadySoAndRefusedWhenGone() {
        CheckpointEntry a = entry("r", 1);
        RootState r = with(claimed(), a);
        Write<CheckpointEntry> w = assertInstanceOf(Write.class, Transitions.pin(r, a.id(), true));
        assertTrue(w.value().pinned());
        assertTrue(w.next().checkpoints().get(a.id()).pinned());
        assertInstanceOf(Unchanged.class, Transitions.pin(w.next(), a.id(), true));
        Refused<CheckpointEntry> gone = assertInstanceOf(Refused.class, Transitions.pin(r, "gone-s1-00000000", true));
        assertInstanceOf(NotFoundException.class, gone.reason());
    }

    @Test
    void forgetRemovesAndIsUnchangedWhenAlreadyGone() {
        CheckpointEntry a = entry("r", 1);
        CheckpointEntry b = entry("r", 2);
        RootState r = with(claimed(), a, b);
        Write<List<String>> w = assertInstanceOf(Write.class, Transitions.forget(r, List.of(a.id())));
        assertEquals(Set.of(b.id()), w.next().checkpoints().keySet());
        assertInstanceOf(Unchanged.class, Transitions.forget(w.next(), List.of(a.id())));
    }

    @Test
    void retentionDropsWhatThePolicyDoesNotKeepAndRefusesAPolicyKeepingNone() {
        RootState r = with(claimed(), entry("r", 1), entry("r", 2), entry("r", 3));
        Write<RetentionResult> w = assertInstanceOf(Write.class, Transitions.retention(r, "r", Retention.keepLast(1), java.util.Map.of()));
        assertEquals(List.of(entry("r", 1).id(), entry("r", 2).id()), w.value().forgotten());
        assertEquals(Set.of(entry("r", 3).id()), w.next().checkpoints().keySet());
        assertInstanceOf(Unchanged.class, Transitions.retention(w.next(), "r", Retention.keepLast(1), java.util.Map.of()));
        Retention none = Retention.KEEP_ALL.withKeepEverySteps(1000);
        Unchanged<RetentionResult> refused = assertInstanceOf(Unchanged.class, Transitions.retention(r, "r", none, java.util.Map.of()));
        assertTrue(refused.value().refused());
    }

    // ---- Commit ----
    final CheckpointEntry cp = entry("r", 5);
    final Set<String> needed = Set.of(cp.manifest(), "chunks/aa", "chunks/bb");
    final CommitRequest request = new CommitRequest("r", 1, cp, needed, Retention.KEEP_ALL);

    @Test
    void commitsIntoAnIdleRoot() {
        Write<List<String>> w = assertInstanceOf(Write.class, Transitions.commit(claimed(), request, Watermark.at(0), T0));
        assertSame(cp, w.next().checkpoints().get(cp.id()));
        assertEquals(List.of(), w.value());
    }

    @Test
    void aFencedWriterIsRefused() {
        CommitRequest stale = new CommitRequest("r", 0, cp, needed, Retention.KEEP_ALL);
        Refused<List<String>> o = assertInstanceOf(Refused.class, Transitions.commit(claimed(), stale, Watermark.at(0), T0));
        assertInstanceOf(FencedException.class, o.reason());
    }

    @Test
    void anAlreadyCommittedCheckpointIsUnchanged() {
        assertInstanceOf(Unchanged.class, Transitions.commit(with(claimed(), cp), request, Watermark.at(0), T0));
    }

    @Test
    void aLiveSweepDeletingANeededObjectMakesItWaitUntilTheLeaseExpires() {
        Instant expiry = T0.plus(LEASE);
        RootState r = claimed().withGc(gc(Phase.SWEEP, 3, "gc", expiry, List.of("chunks/aa", "chunks/zz"), List.of()));
        WaitUntil<List<String>> w = assertInstanceOf(WaitUntil.class, Transitions.commit(r, request, Watermark.at(3), T0));
        assertEquals(expiry, w.until());
        assertEquals(1, w.blocking());
        assertEquals(3, w.gc().generation());
    }

    /** The same sweep, its owner known to be gone: cancelled as an expired one, what it may have deleted uploaded again. */
    @Test
    void aSweepWhoseOwnerIsGoneIsTakenOverAsAnExpiredOne() {
        RootState r = claimed().withGc(gc(Phase.SWEEP, 3, "gc", T0.plus(LEASE), List.of("chunks/aa", "chunks/zz"), List.of()));
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class,
                Transitions.commit(r, request, Watermark.at(3), T0, true));
        assertTrue(need.keys().contains("chunks/aa") && !need.keys().contains("chunks/zz"), need.keys().toString());
        Write<List<String>> w = assertInstanceOf(Write.class, Transitions.commit(r, request, need.watermark(), T0, true));
        assertEquals(Phase.IDLE, w.next().gc().phase());
        assertTrue(w.next().gc().finished().get(w.next().gc().finished().size() - 1).cancelled());
        assertInstanceOf(WaitUntil.class, Transitions.commit(r, request, Watermark.at(3), T0, false), "not gone: waited for");
    }

    @Test
    void aLiveSweepDeletingNothingNeededDoesNotDelayIt() {
        RootState r = claimed().withGc(gc(Phase.SWEEP, 3, "gc", T0.plus(LEASE), List.of("chunks/zz"), List.of()));
        Write<List<String>> w = assertInstanceOf(Write.class, Transitions.commit(r, request, Watermark.at(3), T0));
        assertEquals(Phase.SWEEP, w.next().gc().phase(), "the live sweep goes on");
    }

    @Test
    void objectsAFinishedGenerationDeletedAreReuploadedThenTheWatermarkLetsItCommit() {
        var done = new GcState.FinishedGeneration(4, T0, List.of("chunks/bb", "chunks/other"), false);
        RootState r = claimed().withGc(gc(Phase.IDLE, 4, null, null, List.of(), List.of(done)));
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class,
                Transitions.commit(r, request, Watermark.at(3), T0));
        assertEquals(Set.of("chunks/bb"), need.keys());
        assertEquals(4, need.watermark().finishedThrough());
        assertInstanceOf(Write.class, Transitions.commit(r, request, need.watermark(), T0));
    }

    @Test
    void generationsFinishedBeforeTheSaveBeganAreIgnored() {
        var done = new GcState.FinishedGeneration(4, T0, List.of("chunks/bb"), false);
        RootState r = claimed().withGc(gc(Phase.IDLE, 4, null, null, List.of(), List.of(done)));
        assertInstanceOf(Write.class, Transitions.commit(r, request, Watermark.at(5), T0));
    }

    @Test
    void whenRootNoLongerRecordsEveryGenerationSinceTheSaveBeganEverythingIsReuploaded() {
        List<GcState.FinishedGeneration> finished = new ArrayList<>();
        for (int g = 10; g < 10 + GcState.KEEP_FINISHED; g++) {
            finished.add(new GcState.FinishedGeneration(g, T0, List.of(), false));
        }
        RootState r = claimed().withGc(gc(Phase.IDLE, 41, null, null, List.of(), finished));
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class,
                Transitions.commit(r, request, Watermark.at(3), T0));
        assertEquals(needed, need.keys());
    }

    @Test
    void anAbandonedSweepIsReuploadedOnceThenCancelledByTheCommit() {
        Instant expired = T0.minusSeconds(1);
        RootState r = claimed().withGc(gc(Phase.SWEEP, 6, "dead-gc", expired, List.of("chunks/aa"), List.of()));
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class,
                Transitions.commit(r, request, Watermark.at(6), T0));
        assertEquals(Set.of("chunks/aa"), need.keys());
        assertEquals(new SweepLease(6, "dead-gc", expired), need.watermark().expiredSweep());
        Write<List<String>> w = assertInstanceOf(Write.class, Transitions.commit(r, request, need.watermark(), T0));
        assertEquals(Phase.IDLE, w.next().gc().phase());
        assertSame(cp, w.next().checkpoints().get(cp.id()));
        GcState.FinishedGeneration cancelled = w.next().gc().finished().get(0);
        assertEquals(6, cancelled.generation());
        assertTrue(cancelled.cancelled());
    }

    @Test
    void aSweepTakenOverAfterTheReuploadIsReuploadedAgain() {
        Instant expired = T0.minusSeconds(1);
        Watermark accounted = new Watermark(5, new SweepLease(6, "dead-gc", expired));
        // another GC took the sweep over and its lease expired too: a new holding of the lease
        RootState r = claimed().withGc(gc(Phase.SWEEP, 6, "gc2", T0.minusMillis(1), List.of("chunks/aa"), List.of()));
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class, Transitions.commit(r, request, accounted, T0));
        assertEquals(Set.of("chunks/aa"), need.keys());
        assertEquals(new SweepLease(6, "gc2", T0.minusMillis(1)), need.watermark().expiredSweep());
    }

    @Test
    void retentionDropsOlderCheckpointsOfTheRunButNeverTheOneCommitted() {
        CheckpointEntry old1 = entry("r", 1);
        CheckpointEntry old2 = entry("r", 2);
        CheckpointEntry otherRun = entry("q", 1);
        RootState r = with(claimed(), old2, old1, otherRun);
        CommitRequest keepOne = new CommitRequest("r", 1, cp, needed, Retention.keepLast(1));
        Write<List<String>> w = assertInstanceOf(Write.class, Transitions.commit(r, keepOne, Watermark.at(0), T0));
        assertEquals(List.of(old1.id(), old2.id()), w.value(), "sorted ids of the run's dropped checkpoints");
        assertEquals(Set.of(cp.id(), otherRun.id()), w.next().checkpoints().keySet());
    }

    @Test
    void anAlreadyCommittedCheckpointDropsNothingButAFencedWriterIsRefusedFirst() {
        Unchanged<List<String>> u = assertInstanceOf(Unchanged.class,
                Transitions.commit(with(claimed(), cp), request, Watermark.at(0), T0));
        assertEquals(List.of(), u.value());
        CommitRequest stale = new CommitRequest("r", 0, cp, needed, Retention.KEEP_ALL);
        assertInstanceOf(Refused.class, Transitions.commit(with(claimed(), cp), stale, Watermark.at(0), T0));
        // committed already beats a live sweep that deletes what it needs
        RootState sweeping = with(claimed(), cp).withGc(gc(Phase.SWEEP, 3, "gc", T0.plus(LEASE), List.of("chunks/aa"),
                List.of()));
        assertInstanceOf(Unchanged.class, Transitions.commit(sweeping, request, Watermark.at(3), T0));
    }

    @Test
    void aSweepWhoseLeaseEndsExactlyNowIsExpired() {
        RootState r = claimed().withGc(gc(Phase.SWEEP, 3, "gc", T0, List.of("chunks/aa"), List.of()));
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class,
                Transitions.commit(r, request, Watermark.at(3), T0));
        assertEquals(Set.of("chunks/aa"), need.keys());
    }

    @Test
    void historyIsLostExactlyWhenItsOldestGenerationIsPastTheWatermarkPlusOne() {
        long through = 9;
        for (long oldest : new long[]{through + 1, through + 2}) {
            List<GcState.FinishedGeneration> finished = new ArrayList<>();
            for (long g = oldest; g < oldest + GcState.KEEP_FINISHED; g++) {
                // only the oldest recorded generation deleted something this checkpoint needs
                finished.add(new GcState.FinishedGeneration(g, T0, g == oldest ? List.of("chunks/aa") : List.of(), false));
            }
            long newest = oldest + GcState.KEEP_FINISHED - 1;
            RootState r = claimed().withGc(gc(Phase.IDLE, newest, null, null, List.of(), finished));
            NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class,
                    Transitions.commit(r, request, new Watermark(through, null), T0));
            assertEquals(oldest == through + 1 ? Set.of("chunks/aa") : needed, need.keys(),
                    "oldest recorded generation " + oldest + ", watermark " + through);
            assertEquals(newest, need.watermark().finishedThrough());
            assertInstanceOf(Write.class, Transitions.commit(r, request, need.watermark(), T0), "then it commits");
        }
    }

    @Test
    void theSameGcRenewingAnExpiredSweepIsANewLeaseToReuploadFor() {
        Instant firstExpiry = T0.minusSeconds(60);
        Watermark accounted = new Watermark(5, new SweepLease(6, "gc", firstExpiry));
        Instant secondExpiry = T0.minusSeconds(1); // it woke, renewed, deleted again and expired again
        RootState r = claimed().withGc(gc(Phase.SWEEP, 6, "gc", secondExpiry, List.of("chunks/aa"), List.of()));
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class, Transitions.commit(r, request, accounted, T0));
        assertEquals(Set.of("chunks/aa"), need.keys());
        assertEquals(new SweepLease(6, "gc", secondExpiry), need.watermark().expiredSweep());
        // the very same lease, already accounted for: no re-upload, the commit cancels it
        RootState same = claimed().withGc(gc(Phase.SWEEP, 6, "gc", firstExpiry, List.of("chunks/aa"), List.of()));
        Write<List<String>> w = assertInstanceOf(Write.class, Transitions.commit(same, request, accounted, T0));
        assertSame(cp, w.next().checkpoints().get(cp.id()));
        assertTrue(w.next().gc().finished().get(0).cancelled());
    }

    // ---- Gc ----
    @Test
    void acquireStartsANewGenerationInMark() {
        Write<GcState> w = assertInstanceOf(Write.class, Transitions.gcAcquire(claimed(), "me", T0, LEASE, STORE));
        assertEquals(gc(Phase.MARK, 1, "me", T0.plus(LEASE), List.of(), List.of()), w.value());
        assertEquals(w.value(), w.next().gc());
    }

    @Test
    void acquireIsRefusedWhileAnotherGcHoldsAValidLease() {
        RootState r = claimed().withGc(gc(Phase.MARK, 2, "other", T0.plusSeconds(1), List.of(), List.of()));
        Refused<GcState> o = assertInstanceOf(Refused.class, Transitions.gcAcquire(r, "me", T0, LEASE, STORE));
        GcLeaseHeldException e = assertInstanceOf(GcLeaseHeldException.class, o.reason());
        assertEquals("other", e.owner());
    }

    @Test
    void acquireResumesASweepWhoseLeaseExpiredAndRestartsAnExpiredMark() {
        RootState sweeping = claimed().withGc(gc(Phase.SWEEP, 2, "crashed", T0, List.of("chunks/x"), List.of()));
        Write<GcState> resumed = assertInstanceOf(Write.class, Transitions.gcAcquire(sweeping, "me", T0, LEASE, STORE));
        assertEquals(gc(Phase.SWEEP, 2, "me", T0.plus(LEASE), List.of("chunks/x"), List.of()), resumed.value());
        RootState marking = claimed().withGc(gc(Phase.MARK, 2, "crashed", T0, List.of(), List.of()));
        Write<GcState> fresh = assertInstanceOf(Write.class, Transitions.gcAcquire(marking, "me", T0, LEASE, STORE));
        assertEquals(3, fresh.value().generation());
        assertEquals(Phase.MARK, fresh.value().phase());
    }

    @Test
    void sealMovesToSweepWithTheDeadList() {
        RootState r = with(claimed(), entry("r", 1)).withGc(gc(Phase.MARK, 1, "me", T0.plus(LEASE), List.of(), List.of()));
        Write<GcState> w = assertInstanceOf(Write.class, Transitions.gcSeal(r, 1, "me", Set.of(entry("r", 1).id()),
                List.of("chunks/x"), T0.plusSeconds(30), LEASE, STORE));
        assertEquals(gc(Phase.SWEEP, 1, "me", T0.plusSeconds(30).plus(LEASE), List.of("chunks/x"), List.of()), w.value());
    }

    @Test
    void sealAsksForTheManifestsOfCheckpointsCommittedSinceTheMark() {
        CheckpointEntry late = entry("r", 2);
        RootState r = with(claimed(), entry("r", 1), late).withGc(gc(Phase.MARK, 1, "me", T0.plus(LEASE), List.of(), List.of()));
        NeedObjects<GcState> need = assertInstanceOf(NeedObjects.class, Transitions.gcSeal(r, 1, "me",
                Set.of(entry("r", 1).id()), List.of("chunks/x"), T0, LEASE, STORE));
        assertEquals(Set.of(late.manifest()), need.keys());
        assertNull(need.watermark());
    }

    @Test
    void everyPhaseStepIsRefusedOnceTheLeaseIsAnotherGcs() {
        RootState takenOver = claimed().withGc(gc(Phase.SWEEP, 1, "other", T0.plus(LEASE), List.of(), List.of()));
        RootState marking = claimed().withGc(gc(Phase.MARK, 1, "other", T0.plus(LEASE), List.of(), List.of()));
        assertInstanceOf(CommitConflictException.class, ((Refused<GcState>) Transitions.gcSeal(marking, 1, "me",
                Set.of(), List.of(), T0, LEASE, STORE)).reason());
        assertInstanceOf(Refused.class, Transitions.gcRenew(takenOver, 1, "me", T0, LEASE, STORE));
        assertInstanceOf(Refused.class, Transitions.gcFinish(takenOver, 1, "me", T0, STORE));
        // a different generation, even with our owner name, is not ours either
        RootState later = claimed().withGc(gc(Phase.SWEEP, 2, "me", T0.plus(LEASE), List.of(), List.of()));
        assertInstanceOf(Refused.class, Transitions.gcRenew(later, 1, "me", T0, LEASE, STORE));
    }

    @Test
    void renewExtendsTheLeaseFromNow() {
        RootState r = claimed().withGc(gc(Phase.SWEEP, 1, "me", T0.plusSeconds(10), List.of("chunks/x"), List.of()));
        Write<GcState> w = assertInstanceOf(Write.class, Transitions.gcRenew(r, 1, "me", T0.plusSeconds(5), LEASE, STORE));
        assertEquals(T0.plusSeconds(5).plus(LEASE), w.value().leaseExpiry());
        assertEquals(List.of("chunks/x"), w.value().dead());
    }

    @Test
    void finishRecordsTheGenerationAndWhatItDeletedKeepingTheNewestGenerations() {
        List<GcState.FinishedGeneration> full = new ArrayList<>();
        for (int g = 1; g <= GcState.KEEP_FINISHED; g++) {
            full.add(new GcState.FinishedGeneration(g, T0, List.of(), false));
        }
        long gen = GcState.KEEP_FINISHED + 1;
        RootState r = claimed().withGc(gc(Phase.SWEEP, gen, "me", T0.plus(LEASE), List.of("chunks/x"), full));
        Write<GcState> w = assertInstanceOf(Write.class, Transitions.gcFinish(r, gen, "me", T0.plusSeconds(1), STORE));
        GcState g = w.value();
        assertEquals(Phase.IDLE, g.phase());
        assertNull(g.owner());
        assertEquals(GcState.KEEP_FINISHED, g.finished().size());
        assertEquals(2, g.finished().get(0).generation(), "the oldest generation is forgotten");
        GcState.FinishedGeneration last = g.finished().get(g.finished().size() - 1);
        assertEquals(new GcState.FinishedGeneration(gen, T0.plusSeconds(1), List.of("chunks/x"), false), last);
    }

    @Test
    void yieldExpiresOnlyOurOwnSweepKeepingItsSealedList() {
        RootState mine = claimed().withGc(gc(Phase.SWEEP, 4, "me", T0.plus(LEASE), List.of("chunks/x"), List.of()));
        Write<GcState> w = assertInstanceOf(Write.class, Transitions.gcYield(mine, 4, "me", T0.plusSeconds(3)));
        assertEquals(gc(Phase.SWEEP, 4, "me", T0.plusSeconds(3), List.of("chunks/x"), List.of()), w.value());
        assertTrue(Transitions.otherGc(w.value(), T0.plusSeconds(3), STORE).isEmpty(), "the next GC may take over at once");
        assertInstanceOf(Unchanged.class, Transitions.gcYield(mine, 4, "other", T0));
        RootState marking = claimed().withGc(gc(Phase.MARK, 4, "me", T0.plus(LEASE), List.of(), List.of()));
        assertInstanceOf(Unchanged.class, Transitions.gcYield(marking, 4, "me", T0), "a mark is released, not yielded");
        // a commit needing an object on the yielded list re-uploads it rather than waiting
        CheckpointEntry cp = entry("r", 5);
        CommitRequest c = new CommitRequest("r", 1, cp, Set.of(cp.manifest(), "chunks/x"), Retention.KEEP_ALL);
        NeedObjects<List<String>> need = assertInstanceOf(NeedObjects.class,
                Transitions.commit(w.next(), c, Watermark.at(4), T0.plusSeconds(3)));
        assertEquals(Set.of("chunks/x"), need.keys());
    }

    @Test
    void releaseGivesBackOnlyOurOwnMark() {
        RootState mine = claimed().withGc(gc(Phase.MARK, 1, "me", T0.plus(LEASE), List.of(), List.of()));
        Write<GcState> w = assertInstanceOf(Write.class, Transitions.gcRelease(mine, 1, "me"));
        assertEquals(Phase.IDLE, w.value().phase());
        assertEquals(1, w.value().generation());
        assertInstanceOf(Unchanged.class, Transitions.gcRelease(mine, 1, "other"));
        RootState sweeping = claimed().withGc(gc(Phase.SWEEP, 1, "me", T0.plus(LEASE), List.of(), List.of()));
        assertInstanceOf(Unchanged.class, Transitions.gcRelease(sweeping, 1, "me"), "a sealed sweep is never released");
    }

    @Test
    void otherGcIsNoneWhenIdleOrExpired() {
        assertTrue(Transitions.otherGc(GcState.initial(), T0, STORE).isEmpty());
        assertTrue(Transitions.otherGc(gc(Phase.SWEEP, 1, "x", T0, List.of(), List.of()), T0, STORE).isEmpty());
        assertFalse(Transitions.otherGc(gc(Phase.SWEEP, 1, "x", T0.plusMillis(1), List.of(), List.of()), T0, STORE)
                .isEmpty());
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.commit.Outcome.NeedObjects;
import dev.ckpt.store.commit.Outcome.Refused;
import dev.ckpt.store.commit.Outcome.SweepLease;
import dev.ckpt.store.commit.Outcome.Unchanged;
import dev.ckpt.store.commit.Outcome.WaitUntil;
import dev.ckpt.store.commit.Outcome.Watermark;
import dev.ckpt.store.commit.Outcome.Write;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.error.GcLeaseHeldException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every change to ROOT, each a pure function of (current ROOT, request, now) returning an
 * {@link Outcome}. Nothing here reads or writes a store or a clock: {@link RootStore#update}
 * applies these to the ROOT it read and writes a {@link Write} with {@code If-Match}, so a
 * transition is re-applied to the newer ROOT after a conflict and must re-check its
 * preconditions each time (they all do: they only look at their argument).
 * {@code docs/design.md} ("ROOT transitions") is the table of state × request → outcome.
 */
public final class Transitions {
    private Transitions() {
    }

    // ---- writers ----

    /** Creates ROOT when the store has none (an absent ROOT reads as version 0); otherwise unchanged. */
    public static Outcome<RootState> init(RootState r) {
        return r.version() == 0 && r.txn() == null ? new Write<>(r, r) : new Unchanged<>(r);
    }

    /**
     * Claims {@code run} for a new writer: the run's writer epoch + 1, so every earlier writer
     * of the run is fenced from now on. The value is the new epoch.
     */
    public static Outcome<Long> claim(RootState r, String run, String writerId, Instant now) {
        Map<String, RunState> runs = new HashMap<>(r.runs());
        RunState old = runs.get(run);
        RunState next = old == null ? new RunState(1, writerId, now) : old.next(writerId, now);
        runs.put(run, next);
        return new Write<>(r.withRuns(runs), next.writerEpoch());
    }

    /**
     * A rank of job {@code jobWriterId} ({@code job:<job id>}) joins {@code run}: every rank of
     * one job gets the same epoch, whichever comes first. The value is the epoch.
     * <ul>
     * <li>the job already holds the run → {@link Unchanged} (its epoch);</li>
     * <li>the job held the run before and was replaced (it is in the run's retired writers) →
     *     {@link Refused} ({@link FencedException}): a late rank of a requeued job's predecessor
     *     must not take the run back;</li>
     * <li>otherwise → {@link Write}: epoch + 1 for this job, the previous writer retired.</li>
     * </ul>
     */
    public static Outcome<Long> join(RootState r, String run, String jobWriterId, Instant now) {
        RunState old = r.runs().get(run);
        if (old != null && jobWriterId.equals(old.writerId())) {
            return new Unchanged<>(old.writerEpoch());
        }
        if (old != null && old.retired().contains(jobWriterId)) {
            return new Refused<>(FencedException.replaced(run, jobWriterId, old.writerEpoch(), old.writerId()));
        }
        return claim(r, run, jobWriterId, now);
    }

    /** The fence: empty while {@code epoch} is the run's current writer epoch. */
    public static Optional<FencedException> fence(RootState r, String run, long epoch) {
        RunState rs = r.runs().get(run);
        long current = rs == null ? 0 : rs.writerEpoch();
        return current == epoch ? Optional.empty() : Optional.of(new FencedException(run, epoch, current));
    }

    /**
     * A checkpoint to commit: its ROOT entry, the writer's claim, the keys of every object it
     * needs (its manifest and chunks) and the retention applied to its run.
     */
    public record CommitRequest(String run, long epoch, CheckpointEntry entry, Set<String> needed, Retention retention) {
        public CommitRequest {
            needed = Set.copyOf(needed);
        }
    }

    /**
     * Commits a checkpoint whose objects are uploaded. In order:
     * <ul>
     * <li>fenced writer → {@link Refused} ({@link FencedException});</li>
     * <li>already in ROOT → {@link Unchanged} (a retried commit);</li>
     * <li>a live sweep deletes some of {@code needed} → {@link WaitUntil} its lease expiry;</li>
     * <li>a GC generation finished past the watermark deleted some of {@code needed}, or an
     *     abandoned sweep (lease expired) not yet accounted for may have → {@link NeedObjects}
     *     with the watermark to ask again with; when ROOT no longer records every generation
     *     since the watermark, all of {@code needed};</li>
     * <li>otherwise {@link Write}: the entry added, retention applied to its run (the new
     *     checkpoint protected), an abandoned sweep cancelled. The value is the ids retention
     *     dropped, sorted.</li>
     * </ul>
     */
    public static Outcome<List<String>> commit(RootState r, CommitRequest c, Watermark w, Instant now) {
        return commit(r, c, w, now, false);
    }

    /**
     * {@link #commit(RootState, CommitRequest, Watermark, Instant)}, where {@code sweepOwnerGone}
     * says the owner of ROOT's sweep is known to be gone ({@link LeaseOwner.Verdict#GONE}, decided
     * by the caller): its sweep is then abandoned though its lease has not expired, and is
     * cancelled and accounted for as an expired one is (what the commit needs of its list is
     * uploaded again), instead of waited for up to its lease (10 minutes by default).
     */
    public static Outcome<List<String>> commit(RootState r, CommitRequest c, Watermark w, Instant now,
                                               boolean sweepOwnerGone) {
        Optional<FencedException> fenced = fence(r, c.run(), c.epoch());
        if (fenced.isPresent()) {
            return new Refused<>(fenced.get());
        }
        String id = c.entry().id();
        if (r.checkpoints().containsKey(id)) {
            return new Unchanged<>(List.of());
        }
        GcState gc = r.gc();
        boolean liveSweep = gc.phase() == GcState.Phase.SWEEP && gc.leaseValid(now) && !sweepOwnerGone;
        if (liveSweep) {
            // The sweep deletes exactly its sealed list: a checkpoint needing none of it is safe to commit now
            // (the next generation marks it live). One needing some must wait: re-uploading is no use while
            // the sweep may still delete the object after it.
            Set<String> blocking = neededOf(gc.dead(), c.needed());
            if (!blocking.isEmpty()) {
                return new WaitUntil<>(gc.leaseExpiry(), gc, blocking.size());
            }
        }
        List<GcState.FinishedGeneration> finished = gc.finished();
        long newestFinished = finished.isEmpty() ? w.finishedThrough() : finished.get(finished.size() - 1).generation();
        Set<String> missing = new LinkedHashSet<>();
        boolean historyLost = finished.size() >= GcState.KEEP_FINISHED
                && finished.get(0).generation() > w.finishedThrough() + 1;
        if (historyLost) {
            // Generations this save may have raced with are no longer recorded: assume the worst.
            missing.addAll(new TreeSet<>(c.needed()));
        } else {
            for (GcState.FinishedGeneration f : finished) {
                if (f.generation() > w.finishedThrough()) {
                    missing.addAll(neededOf(f.deleted(), c.needed()));
                }
            }
        }
        boolean cancelSweep = gc.phase() == GcState.Phase.SWEEP && !liveSweep; // lease expired or owner gone: its GC is
        if (cancelSweep && !SweepLease.of(gc).equals(w.expiredSweep())) {
            missing.addAll(neededOf(gc.dead(), c.needed()));
        }
        if (!missing.isEmpty()) {
            return new NeedObjects<>(missing, new Watermark(Math.max(w.finishedThrough(), newestFinished),
                    cancelSweep ? SweepLease.of(gc) : w.expiredSweep()));
        }
        Map<String, CheckpointEntry> cps = new HashMap<>(r.checkpoints());
        cps.put(id, c.entry());
        List<CheckpointEntry> ofRun = cps.values().stream().filter(e -> e.run().equals(c.run())).toList();
        // The checkpoint being committed is protected, so the run is never emptied; a policy whose rules
        // keep nothing else (a refusal for forget) drops only what no rule keeps and no rule left unjudged.
        List<String> dropped = new ArrayList<>(new TreeSet<>(c.retention().dropped(ofRun, id)));
        dropped.forEach(cps::remove);
        RootState next = r.withCheckpoints(cps);
        return new Write<>(cancelSweep ? next.withGc(gc.finish(now, true)) : next, dropped);
    }

    /** Marks these checkpoints read back in full with every hash matching; ids no longer in ROOT are skipped. */
    public static Outcome<Integer> recordVerified(RootState r, Collection<String> ids, Instant now) {
        Map<String, CheckpointEntry> c = new HashMap<>(r.checkpoints());
        int n = 0;
        for (String id : ids) {
            CheckpointEntry e = c.get(id);
            if (e != null) {
                c.put(id, e.withVerifiedAt(now));
                n++;
            }
        }
        return n == 0 ? new Unchanged<>(0) : new Write<>(r.withCheckpoints(c), n);
    }

    /** Pins or unpins a checkpoint; the value is its entry as it then is. Refused when it is no longer in ROOT. */
    public static Outcome<CheckpointEntry> pin(RootState r, String id, boolean pinned) {
        CheckpointEntry e = r.checkpoints().get(id);
        if (e == null) {
            return new Refused<>(new NotFoundException(id, "checkpoint " + id + " is no longer in ROOT"));
        }
        if (e.pinned() == pinned) {
            return new Unchanged<>(e);
        }
        Map<String, CheckpointEntry> c = new HashMap<>(r.checkpoints());
        CheckpointEntry changed = e.withPinned(pinned);
        c.put(id, changed);
        return new Write<>(r.withCheckpoints(c), changed);
    }

    /**
     * Removes these checkpoints from ROOT (already resolved and checked not pinned by the
     * caller); ids already gone are skipped. The value is the ids given.
     */
    public static Outcome<List<String>> forget(RootState r, List<String> ids) {
        Map<String, CheckpointEntry> c = new HashMap<>(r.checkpoints());
        ids.forEach(c::remove);
        List<String> value = List.copyOf(ids);
        return c.size() == r.checkpoints().size() ? new Unchanged<>(value) : new Write<>(r.withCheckpoints(c), value);
    }

    /**
     * Applies a retention policy to one run (every run when {@code run} is null). A policy
     * that would keep none of some run is refused for the whole call: {@link Unchanged} with
     * the refusals in the result, as is a plan that drops nothing.
     */
    public static Outcome<RetentionResult> retention(RootState r, String run, Retention policy,
                                                     Map<String, String> unrestorable) {
        RetentionResult p = RetentionResult.plan(r, run, policy, false, unrestorable);
        if (p.refused() || p.forgotten().isEmpty()) {
            return new Unchanged<>(p);
        }
        Map<String, CheckpointEntry> c = new HashMap<>(r.checkpoints());
        p.forgotten().forEach(c::remove);
        return new Write<>(r.withCheckpoints(c), p);
    }

    // ---- the garbage collector (phases IDLE → MARK → SWEEP → IDLE; see GarbageCollector) ----

    /** Another GC that holds a valid lease, as the refusal to give; empty when none does. */
    public static Optional<GcLeaseHeldException> otherGc(GcState gc, Instant now, String store) {
        if (gc.phase() != GcState.Phase.IDLE && gc.leaseValid(now)) {
            // "holds the lease", not "is running": a GC killed where this host cannot check its owner (another machine,
            // another pid namespace) holds it until it expires (helper-109: a dry run said "crashed", then "is running")
            return Optional.of(new GcLeaseHeldException(gc.describeLease(now) + " holds the GC lease of " + store
                    + " (it is running, or it was stopped without giving the lease back where this host cannot"
                    + " check: another machine or container); only one GC runs at a time: run gc again after it"
                    + " finishes or its lease expires (a GC then takes over at once and finishes its work)",
                    gc.generation(), gc.owner(), gc.leaseExpiry()));
        }
        return Optional.empty();
    }

    /**
     * Takes the GC lease for {@code owner} until {@code now + lease}: a new generation in
     * MARK, or — when a sweep's lease expired — that sweep, to resume its sealed list.
     * Refused while another GC's lease is valid. The value is the GC state taken.
     */
    public static Outcome<GcState> gcAcquire(RootState r, String owner, Instant now, Duration lease, String store) {
        return gcAcquire(r, owner, now, lease, store, null);
    }

    /**
     * {@link #gcAcquire(RootState, String, Instant, Duration, String)}, except that a valid lease held by
     * {@code goneOwner} (an owner the caller found gone, {@link LeaseOwner.Verdict#GONE}; null: none) is taken
     * over as an expired one would be: its sweep resumed, or a new generation begun. The verdict must be
     * right: that owner's seal, renewals and finish are refused once the lease is another's, but a sweep
     * still running would delete its sealed list after commits re-uploaded part of it (docs/design.md).
     */
    public static Outcome<GcState> gcAcquire(RootState r, String owner, Instant now, Duration lease, String store,
                                             String goneOwner) {
        GcState gc = r.gc();
        Optional<GcLeaseHeldException> other = goneOwner != null && goneOwner.equals(gc.owner()) ? Optional.empty()
                : otherGc(gc, now, store);
        if (other.isPresent()) {
            return new Refused<>(other.get());
        }
        GcState next = gc.phase() == GcState.Phase.SWEEP
                ? new GcState(GcState.Phase.SWEEP, gc.generation(), owner, now.plus(lease), gc.dead(), gc.finished())
                : new GcState(GcState.Phase.MARK, gc.generation() + 1, owner, now.plus(lease), List.of(), gc.finished());
        return new Write<>(r.withGc(next), next);
    }

    /**
     * Seals a marked generation's delete list: MARK → SWEEP with {@code dead}, lease renewed.
     * {@code loaded} are the checkpoints whose manifests the GC read; if ROOT holds others (they
     * were committed since), {@link NeedObjects} names their manifests, to be read and taken
     * out of the list before sealing again. Refused when the lease was lost.
     */
    public static Outcome<GcState> gcSeal(RootState r, long gen, String owner, Set<String> loaded, List<String> dead,
                                          Instant now, Duration lease, String store) {
        Optional<CommitConflictException> lost = lostLease(r.gc(), gen, owner, GcState.Phase.MARK, store);
        if (lost.isPresent()) {
            return new Refused<>(lost.get());
        }
        Set<String> unread = new TreeSet<>();
        r.checkpoints().values().forEach(e -> {
            if (!loaded.contains(e.id())) {
                unread.add(e.manifest());
            }
        });
        if (!unread.isEmpty()) {
            return new NeedObjects<>(unread, null);
        }
        GcState next = new GcState(GcState.Phase.SWEEP, gen, owner, now.plus(lease), dead, r.gc().finished());
        return new Write<>(r.withGc(next), next);
    }

    /** Renews a sweep's lease to {@code now + lease}; refused when it is no longer this GC's. */
    public static Outcome<GcState> gcRenew(RootState r, long gen, String owner, Instant now, Duration lease, String store) {
        GcState g = r.gc();
        Optional<CommitConflictException> lost = lostLease(g, gen, owner, GcState.Phase.SWEEP, store);
        if (lost.isPresent()) {
            return new Refused<>(lost.get());
        }
        GcState next = new GcState(g.phase(), g.generation(), owner, now.plus(lease), g.dead(), g.finished());
        return new Write<>(r.withGc(next), next);
    }

    /** Ends a sweep: IDLE, the generation and its deletions recorded; refused when the lease was lost. */
    public static Outcome<GcState> gcFinish(RootState r, long gen, String owner, Instant now, String store) {
        Optional<CommitConflictException> lost = lostLease(r.gc(), gen, owner, GcState.Phase.SWEEP, store);
        if (lost.isPresent()) {
            return new Refused<>(lost.get());
        }
        GcState next = r.gc().finish(now, false);
        return new Write<>(r.withGc(next), next);
    }

    /**
     * Gives a sweep's lease back when its GC stops on an error (a delete it is not allowed, a store
     * that stopped answering): the sweep stays sealed with its lease expired at {@code now}, as if
     * its GC had crashed long ago, so the next GC resumes it at once and a commit needing one of its
     * objects re-uploads it instead of waiting out the lease. Unchanged if the lease is no longer
     * this GC's.
     */
    public static Outcome<GcState> gcYield(RootState r, long gen, String owner, Instant now) {
        GcState g = r.gc();
        if (g.generation() != gen || !owner.equals(g.owner()) || g.phase() != GcState.Phase.SWEEP) {
            return new Unchanged<>(g);
        }
        GcState next = new GcState(GcState.Phase.SWEEP, gen, owner, now, g.dead(), g.finished());
        return new Write<>(r.withGc(next), next);
    }

    /** Gives the lease back after a failed mark (nothing was deleted); unchanged if it is no longer this GC's MARK. */
    public static Outcome<GcState> gcRelease(RootState r, long gen, String owner) {
        GcState g = r.gc();
        if (g.generation() != gen || !owner.equals(g.owner()) || g.phase() != GcState.Phase.MARK) {
            return new Unchanged<>(g);
        }
        GcState next = new GcState(GcState.Phase.IDLE, gen, null, null, List.of(), g.finished());
        return new Write<>(r.withGc(next), next);
    }

    private static Optional<CommitConflictException> lostLease(GcState g, long gen, String owner, GcState.Phase phase,
                                                               String store) {
        if (g.generation() != gen || !owner.equals(g.owner()) || g.phase() != phase) {
            return Optional.of(new CommitConflictException("GC generation " + gen + " of " + store
                    + " lost its lease (a commit or another GC took over after it expired, or another GC of this"
                    + " machine took it for a GC that had died); it stopped. Run GC again to finish the work"));
        }
        return Optional.empty();
    }

    private static Set<String> neededOf(List<String> keys, Set<String> needed) {
        Set<String> out = new LinkedHashSet<>();
        for (String k : keys) {
            if (needed.contains(k)) {
                out.add(k);
            }
        }
        return out;
    }
}

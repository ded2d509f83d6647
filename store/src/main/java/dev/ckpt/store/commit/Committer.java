package dev.ckpt.store.commit;

import dev.ckpt.store.StoreConfig;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.error.GcLeaseHeldException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;

import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Commits a checkpoint whose chunks and manifest are uploaded: one ROOT update that
 * checks the writer's fence, waits out a running GC sweep whose delete list holds an object
 * the checkpoint needs (a sweep that deletes none of them does not delay it; one whose
 * lease expired is taken over at once), makes sure no object the
 * checkpoint needs was deleted by a GC generation that ran since the save began (and
 * re-uploads any that were), adds the checkpoint and applies retention.
 */
final class Committer {
    /** Signals out of the pure update function: a live sweep is deleting objects the checkpoint needs. */
    private static final class SweepRunning extends RuntimeException {
        final GcState gc;
        final int blocking;

        SweepRunning(GcState gc, int blocking) {
            super(null, null, false, false);
            this.gc = gc;
            this.blocking = blocking;
        }
    }

    private static final class NeedReupload extends RuntimeException {
        final Set<String> keys;
        final long finishedThrough;
        final SweepLease expiredSweep;

        NeedReupload(Set<String> keys, long finishedThrough, SweepLease expiredSweep) {
            super(null, null, false, false);
            this.keys = keys;
            this.finishedThrough = finishedThrough;
            this.expiredSweep = expiredSweep;
        }
    }

    /**
     * What this commit has accounted for: every generation up to {@code finishedThrough}
     * had finished when the objects it deleted were re-uploaded, so it cannot delete them
     * again; {@code expiredSweep} is the lease of an abandoned sweep whose dead list was
     * re-uploaded. It is the lease, not the generation, that is remembered: the same
     * generation can be taken over by another GC, or renewed by its own GC waking up, and
     * delete again after the re-upload; both change the owner or the expiry, and the dead
     * list is then re-uploaded again before the commit (found in review; see
     * GcLeaseWaitTest#aSweepTakenOverAfterTheReuploadIsReuploadedAgain).
     */
    private static final class Progress {
        long finishedThrough;
        SweepLease expiredSweep;
    }

    /** One holding of a sweep's lease: a takeover or a renewal makes another. */
    record SweepLease(long generation, String owner, Instant leaseExpiry) {
        static SweepLease of(GcState gc) {
            return new SweepLease(gc.generation(), gc.owner(), gc.leaseExpiry());
        }
    }

    record Committed(RootState state, List<String> dropped, int reuploaded) {
    }

    private final RootStore root;
    private final StoreConfig config;

    Committer(RootStore root, StoreConfig config) {
        this.root = root;
        this.config = config;
    }

    static void checkFence(RootState s, WriterToken token) {
        RunState rs = s.runs().get(token.run());
        long current = rs == null ? 0 : rs.writerEpoch();
        if (current != token.epoch()) {
            throw new FencedException(token.run(), token.epoch(), current);
        }
    }

    /**
     * @param startGeneration GC generation in ROOT when the save began
     * @param gcWait          how long to wait for a live sweep that deletes objects the checkpoint
     *                        needs (null = {@link StoreConfig#commitWait()}, zero = fail at once)
     * @param deadline        never wait past this instant (null = no deadline)
     * @param notice          told once, when a wait for a GC starts, who holds the lease and until when
     * @param reupload        re-creates the object at a key (a chunk key or the manifest key)
     * @throws GcLeaseHeldException when the wait would last longer than allowed
     */
    Committed commit(WriterToken token, Manifest manifest, String manifestSha, Retention retention,
                     long startGeneration, java.time.Duration gcWait, Instant deadline, Consumer<String> notice,
                     Consumer<String> reupload) {
        Set<String> needed = new HashSet<>();
        needed.add(manifest.key());
        for (String h : manifest.chunks()) {
            needed.add(ChunkRef.keyOf(h));
        }
        Progress progress = new Progress();
        // Generations that finished before the save began deleted nothing it relies on.
        progress.finishedThrough = startGeneration - 1;
        Instant waitStart = null;
        long allowed = 0; // ms this commit may wait for a GC, from waitStart
        long slept = 0;   // ms slept so far (the clock may be a fake that sleeping does not move)
        String announced = null;
        int reuploaded = 0;
        while (true) {
            try {
                Map<String, CheckpointEntry> before = new HashMap<>();
                RootState s = root.update(r -> {
                    before.clear();
                    before.putAll(r.checkpoints());
                    return apply(r, token, manifest, manifestSha, retention, needed, progress);
                });
                List<String> dropped = before.keySet().stream()
                        .filter(id -> !s.checkpoints().containsKey(id) && before.get(id).run().equals(token.run()))
                        .sorted().toList();
                return new Committed(s, dropped, reuploaded);
            } catch (SweepRunning e) {
                Instant now = config.clock().instant();
                if (waitStart == null) {
                    waitStart = now;
                    allowed = (gcWait == null ? config.commitWait() : gcWait).toMillis();
                    if (deadline != null) {
                        allowed = Math.max(0, Math.min(allowed, deadline.toEpochMilli() - now.toEpochMilli()));
                    }
                }
                long waited = Math.max(slept, now.toEpochMilli() - waitStart.toEpochMilli());
                String holder = e.gc.describeLease(now);
                if (waited >= allowed) {
                    throw new GcLeaseHeldException(holder + " is deleting " + e.blocking + " object(s) that checkpoint "
                            + manifest.id() + " needs, in " + root.objectStore().describe() + "; the checkpoint was uploaded"
                            + " but not committed" + (waited > 0 ? " after waiting " + waited / 1000 + " s" : "")
                            + ". Save again once that GC has finished or its lease has expired (a commit then takes over"
                            + " at once)", e.gc.generation(), e.gc.owner(), e.gc.leaseExpiry());
                }
                String who = e.gc.generation() + "/" + e.gc.owner();
                if (!who.equals(announced)) {
                    announced = who;
                    notice.accept("commit of " + manifest.id() + " waits for " + holder + ": it is deleting "
                            + e.blocking + " object(s) the checkpoint needs; waiting at most "
                            + (allowed - waited + 999) / 1000 + " s more");
                }
                long untilExpiry = e.gc.leaseExpiry().toEpochMilli() - now.toEpochMilli();
                long pause = Math.max(10, Math.min(Math.min(250, untilExpiry), allowed - waited));
                sleep(pause);
                slept += pause;
            } catch (NeedReupload e) {
                for (String key : e.keys) {
                    reupload.accept(key);
                    reuploaded++;
                }
                progress.finishedThrough = Math.max(progress.finishedThrough, e.finishedThrough);
                if (e.expiredSweep != null) {
                    progress.expiredSweep = e.expiredSweep;
                }
            }
        }
    }

    private RootState apply(RootState r, WriterToken token, Manifest manifest, String manifestSha, Retention retention,
                            Set<String> needed, Progress progress) {
        checkFence(r, token);
        if (r.checkpoints().containsKey(manifest.id())) {
            return r;
        }
        GcState gc = r.gc();
        Instant now = config.clock().instant();
        boolean liveSweep = gc.phase() == GcState.Phase.SWEEP && gc.leaseValid(now);
        if (liveSweep) {
            // The sweep deletes exactly its sealed list: a checkpoint needing none of it is safe to commit now
            // (the next generation marks it live). One needing some must wait: re-uploading is no use while
            // the sweep may still delete the object after it.
            Set<String> blocking = new HashSet<>();
            collect(gc.dead(), needed, blocking);
            if (!blocking.isEmpty()) {
                throw new SweepRunning(gc, blocking.size());
            }
        }
        List<GcState.FinishedGeneration> finished = gc.finished();
        long newestFinished = finished.isEmpty() ? progress.finishedThrough : finished.get(finished.size() - 1).generation();
        Set<String> missing = new LinkedHashSet<>();
        boolean historyLost = finished.size() >= GcState.KEEP_FINISHED
                && finished.get(0).generation() > progress.finishedThrough + 1;
        if (historyLost) {
            // Generations this save may have raced with are no longer recorded: assume the worst.
            missing.addAll(needed);
        } else {
            for (GcState.FinishedGeneration f : finished) {
                if (f.generation() > progress.finishedThrough) {
                    collect(f.deleted(), needed, missing);
                }
            }
        }
        boolean cancelSweep = gc.phase() == GcState.Phase.SWEEP && !liveSweep; // lease expired: its GC is gone
        if (cancelSweep && !SweepLease.of(gc).equals(progress.expiredSweep)) {
            collect(gc.dead(), needed, missing);
        }
        if (!missing.isEmpty()) {
            throw new NeedReupload(missing, Math.max(progress.finishedThrough, newestFinished),
                    cancelSweep ? SweepLease.of(gc) : null);
        }
        Map<String, CheckpointEntry> cps = new HashMap<>(r.checkpoints());
        cps.put(manifest.id(), CheckpointEntry.of(manifest, manifestSha));
        List<CheckpointEntry> ofRun = cps.values().stream().filter(e -> e.run().equals(token.run())).toList();
        // The checkpoint being committed is protected, so the run is never emptied; a policy whose rules
        // keep nothing else (a refusal for forget) drops only what no rule keeps and no rule left unjudged.
        for (String id : retention.dropped(ofRun, manifest.id())) {
            cps.remove(id);
        }
        RootState next = r.withCheckpoints(cps);
        return cancelSweep ? next.withGc(gc.finish(now, true)) : next;
    }

    private static void collect(List<String> deleted, Set<String> needed, Set<String> out) {
        for (String k : deleted) {
            if (needed.contains(k)) {
                out.add(k);
            }
        }
    }
    private void sleep(long millis) {
        try {
            config.sleeper().sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while waiting for a GC sweep to finish", e);
        }
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.StoreConfig;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.FencedException;
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
 * checks the writer's fence, waits out a running GC sweep, makes sure no object the
 * checkpoint needs was deleted by a GC generation that ran since the save began (and
 * re-uploads any that were), adds the checkpoint and applies retention.
 */
final class Committer {
    /** Signals out of the pure update function. */
    private static final class SweepRunning extends RuntimeException {
        final Instant until;

        SweepRunning(Instant until) {
            super(null, null, false, false);
            this.until = until;
        }
    }

    private static final class NeedReupload extends RuntimeException {
        final Set<String> keys;
        final long finishedThrough;
        final long expiredSweep;

        NeedReupload(Set<String> keys, long finishedThrough, long expiredSweep) {
            super(null, null, false, false);
            this.keys = keys;
            this.finishedThrough = finishedThrough;
            this.expiredSweep = expiredSweep;
        }
    }

    /**
     * What this commit has accounted for: every generation up to {@code finishedThrough}
     * had finished when the objects it deleted were re-uploaded, so it cannot delete them
     * again; {@code expiredSweep} is the generation of an abandoned sweep whose dead list
     * was re-uploaded (it never deletes again: its lease is gone).
     */
    private static final class Progress {
        long finishedThrough;
        long expiredSweep = -1;
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
     * @param reupload        re-creates the object at a key (a chunk key or the manifest key)
     */
    Committed commit(WriterToken token, Manifest manifest, String manifestSha, Retention retention,
                     long startGeneration, Consumer<String> reupload) {
        Set<String> needed = new HashSet<>();
        needed.add(manifest.key());
        for (String h : manifest.chunks()) {
            needed.add(ChunkRef.keyOf(h));
        }
        Progress progress = new Progress();
        // Generations that finished before the save began deleted nothing it relies on.
        progress.finishedThrough = startGeneration - 1;
        long waited = 0;
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
                long pause = Math.max(10, Math.min(250, e.until.toEpochMilli() - config.clock().millis()));
                if (waited + pause > config.commitWait().toMillis()) {
                    throw new CommitConflictException("a GC sweep of " + root.objectStore().describe()
                            + " has been running for longer than " + config.commitWait()
                            + "; the checkpoint was uploaded but not committed; retry when the GC finishes");
                }
                sleep(pause);
                waited += pause;
            } catch (NeedReupload e) {
                for (String key : e.keys) {
                    reupload.accept(key);
                    reuploaded++;
                }
                progress.finishedThrough = Math.max(progress.finishedThrough, e.finishedThrough);
                if (e.expiredSweep >= 0) {
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
        if (gc.phase() == GcState.Phase.SWEEP && gc.leaseValid(now)) {
            throw new SweepRunning(gc.leaseExpiry());
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
        boolean cancelSweep = gc.phase() == GcState.Phase.SWEEP; // lease expired: its GC is gone
        if (cancelSweep && progress.expiredSweep != gc.generation()) {
            collect(gc.dead(), needed, missing);
        }
        if (!missing.isEmpty()) {
            throw new NeedReupload(missing, Math.max(progress.finishedThrough, newestFinished),
                    cancelSweep ? gc.generation() : -1);
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

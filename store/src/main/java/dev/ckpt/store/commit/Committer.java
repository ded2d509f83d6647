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
        final Set<String> pairs; // "generation:key"

        NeedReupload(Set<String> pairs) {
            super(null, null, false, false);
            this.pairs = pairs;
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
     * @param reupload        re-creates the object at a key (a chunk key or the manifest key)
     */
    Committed commit(WriterToken token, Manifest manifest, String manifestSha, Retention retention,
                     long startGeneration, Consumer<String> reupload) {
        Set<String> needed = new HashSet<>();
        needed.add(manifest.key());
        for (String h : manifest.chunks()) {
            needed.add(ChunkRef.keyOf(h));
        }
        Set<String> handled = new HashSet<>();
        long waited = 0;
        int reuploaded = 0;
        while (true) {
            try {
                Map<String, CheckpointEntry> before = new HashMap<>();
                RootState s = root.update(r -> {
                    before.clear();
                    before.putAll(r.checkpoints());
                    return apply(r, token, manifest, manifestSha, retention, startGeneration, needed, handled);
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
                Set<String> keys = new LinkedHashSet<>();
                for (String pair : e.pairs) {
                    keys.add(pair.substring(pair.indexOf(':') + 1));
                }
                for (String key : keys) {
                    reupload.accept(key);
                    reuploaded++;
                }
                handled.addAll(e.pairs);
            }
        }
    }

    private RootState apply(RootState r, WriterToken token, Manifest manifest, String manifestSha, Retention retention,
                            long startGeneration, Set<String> needed, Set<String> handled) {
        checkFence(r, token);
        if (r.checkpoints().containsKey(manifest.id())) {
            return r;
        }
        GcState gc = r.gc();
        Instant now = config.clock().instant();
        if (gc.phase() == GcState.Phase.SWEEP && gc.leaseValid(now)) {
            throw new SweepRunning(gc.leaseExpiry());
        }
        Set<String> missing = new LinkedHashSet<>();
        List<GcState.FinishedGeneration> finished = gc.finished();
        boolean historyLost = finished.size() >= GcState.KEEP_FINISHED
                && finished.get(0).generation() > startGeneration;
        if (historyLost) {
            // Generations this save may have raced with are no longer recorded: assume the worst.
            for (String k : needed) {
                if (!handled.contains("lost:" + k)) {
                    missing.add("lost:" + k);
                }
            }
        }
        for (GcState.FinishedGeneration f : finished) {
            if (f.generation() >= startGeneration) {
                collect(f.generation(), f.deleted(), needed, handled, missing);
            }
        }
        boolean cancelSweep = gc.phase() == GcState.Phase.SWEEP; // lease expired: its GC is gone
        if (cancelSweep) {
            collect(gc.generation(), gc.dead(), needed, handled, missing);
        }
        if (!missing.isEmpty()) {
            throw new NeedReupload(missing);
        }
        Map<String, CheckpointEntry> cps = new HashMap<>(r.checkpoints());
        cps.put(manifest.id(), CheckpointEntry.of(manifest, manifestSha));
        List<CheckpointEntry> ofRun = cps.values().stream().filter(e -> e.run().equals(token.run())).toList();
        for (String id : retention.dropped(ofRun, manifest.id())) {
            cps.remove(id);
        }
        RootState next = r.withCheckpoints(cps);
        return cancelSweep ? next.withGc(gc.finish(now, true)) : next;
    }

    private static void collect(long generation, List<String> deleted, Set<String> needed, Set<String> handled,
                                Set<String> out) {
        for (String k : deleted) {
            if (needed.contains(k) && !handled.contains(generation + ":" + k)) {
                out.add(generation + ":" + k);
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

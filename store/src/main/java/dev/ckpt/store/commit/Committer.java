package dev.ckpt.store.commit;

import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.error.GcLeaseHeldException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.RootState;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Commits a checkpoint whose chunks and manifest are uploaded, by driving
 * {@link Transitions#commit} to a write: on {@link Outcome.WaitUntil} it waits for the GC
 * sweep that is deleting objects the checkpoint needs (up to the save's GC wait and
 * deadline, telling the caller once who holds the lease), on {@link Outcome.NeedObjects} it
 * re-uploads what a GC generation deleted and asks again with the new watermark, and a
 * {@link Outcome.Refused} (a fenced writer) is thrown.
 */
final class Committer {
    record Committed(RootState state, List<String> dropped, int reuploaded) {
    }

    private final RootStore root;
    private final StoreConfig config;

    Committer(RootStore root, StoreConfig config) {
        this.root = root;
        this.config = config;
    }

    static void checkFence(RootState s, WriterToken token) {
        Transitions.fence(s, token.run(), token.epoch()).ifPresent(e -> {
            throw e;
        });
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
        Transitions.CommitRequest request = new Transitions.CommitRequest(token.run(), token.epoch(),
                CheckpointEntry.of(manifest, manifestSha), needed, retention);
        Outcome.Watermark watermark = Outcome.Watermark.at(startGeneration);
        Instant waitStart = null;
        long allowed = 0; // ms this commit may wait for a GC, from waitStart
        long slept = 0;   // ms slept so far (the clock may be a fake that sleeping does not move)
        String announced = null;
        int reuploaded = 0;
        while (true) {
            Outcome.Watermark w = watermark;
            Outcome<List<String>> o = root.update(r -> Transitions.commit(r, request, w, config.clock().instant()), deadline);
            if (o instanceof Outcome.Write<List<String>> written) {
                return new Committed(written.next(), written.value(), reuploaded);
            } else if (o instanceof Outcome.Unchanged<List<String>> u) {
                return new Committed(null, u.value(), reuploaded);
            } else if (o instanceof Outcome.Refused<List<String>> refused) {
                throw refused.reason();
            } else if (o instanceof Outcome.NeedObjects<List<String>> need) {
                for (String key : new java.util.TreeSet<>(need.keys())) {
                    reupload.accept(key);
                    reuploaded++;
                }
                watermark = need.watermark();
            } else if (o instanceof Outcome.WaitUntil<List<String>> wait) {
                GcState gc = wait.gc();
                Instant now = config.clock().instant();
                if (waitStart == null) {
                    waitStart = now;
                    allowed = (gcWait == null ? config.commitWait() : gcWait).toMillis();
                    if (deadline != null) {
                        allowed = Math.max(0, Math.min(allowed, deadline.toEpochMilli() - now.toEpochMilli()));
                    }
                }
                long waited = Math.max(slept, now.toEpochMilli() - waitStart.toEpochMilli());
                String holder = gc.describeLease(now);
                if (waited >= allowed) {
                    throw new GcLeaseHeldException(holder + " is deleting " + wait.blocking() + " object(s) that checkpoint "
                            + manifest.id() + " needs, in " + root.objectStore().describe() + "; the checkpoint was uploaded"
                            + " but not committed" + (waited > 0 ? " after waiting " + waited / 1000 + " s" : "")
                            + ". Save again once that GC has finished or its lease has expired (a commit then takes over"
                            + " at once)", gc.generation(), gc.owner(), gc.leaseExpiry());
                }
                String who = gc.generation() + "/" + gc.owner();
                if (!who.equals(announced)) {
                    announced = who;
                    notice.accept("commit of " + manifest.id() + " waits for " + holder + ": it is deleting "
                            + wait.blocking() + " object(s) the checkpoint needs; waiting at most "
                            + (allowed - waited + 999) / 1000 + " s more");
                }
                long untilExpiry = wait.until().toEpochMilli() - now.toEpochMilli();
                long pause = Math.max(10, Math.min(Math.min(250, untilExpiry), allowed - waited));
                sleep(pause);
                slept += pause;
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

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
 * deadline, telling the caller once who holds the lease); a {@link Outcome.NeedObjects}
 * goes back to the saver, which re-uploads what a GC generation deleted and attempts again
 * from the new watermark; a {@link Outcome.Refused} (a fenced writer) is thrown.
 */
final class Committer {
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
     * Starts the commit of one uploaded checkpoint.
     *
     * @param startGeneration GC generation in ROOT when the save began
     * @param gcWait          how long to wait for a live sweep that deletes objects the checkpoint
     *                        needs (null = {@link StoreConfig#commitWait()}, zero = fail at once)
     * @param deadline        never wait or retry past this instant (null = no deadline)
     * @param notice          told once per GC, when a wait for it starts, who holds the lease and until when
     */
    Commit begin(WriterToken token, Manifest manifest, String manifestSha, Retention retention, long startGeneration,
                 java.time.Duration gcWait, Instant deadline, Consumer<String> notice) {
        Set<String> needed = new HashSet<>();
        needed.add(manifest.key());
        for (String h : manifest.chunks()) {
            needed.add(ChunkRef.keyOf(h));
        }
        return begin(token, CheckpointEntry.of(manifest, manifestSha), needed, retention, startGeneration, gcWait,
                deadline, notice);
    }

    /** Starts the commit of a checkpoint given as its ROOT entry and every key it needs (a checkpoint of several ranks). */
    Commit begin(WriterToken token, CheckpointEntry entry, Set<String> needed, Retention retention, long startGeneration,
                 java.time.Duration gcWait, Instant deadline, Consumer<String> notice) {
        return new Commit(new Transitions.CommitRequest(token.run(), token.epoch(), entry, needed, retention),
                entry.id(), Outcome.Watermark.at(startGeneration), gcWait, deadline, notice);
    }

    /** One checkpoint's commit: its watermark and how long it has waited for GCs, across attempts. */
    final class Commit {
        private final Transitions.CommitRequest request;
        private final String id;
        private final java.time.Duration gcWait;
        private final Instant deadline;
        private final Consumer<String> notice;
        private Outcome.Watermark watermark;
        private Instant waitStart;
        private long allowed; // ms this commit may wait for a GC, from waitStart
        private long slept;   // ms slept so far (the clock may be a fake that sleeping does not move)
        private String announced;
        private Runnable beforeWrite = () -> { };

        private Commit(Transitions.CommitRequest request, String id, Outcome.Watermark watermark,
                       java.time.Duration gcWait, Instant deadline, Consumer<String> notice) {
            this.request = request;
            this.id = id;
            this.watermark = watermark;
            this.gcWait = gcWait;
            this.deadline = deadline;
            this.notice = notice;
        }

        /**
         * Applies {@link Transitions#commit} until it is not a wait: returns a {@link Outcome.Write}
         * (committed), {@link Outcome.Unchanged} (it already was) or {@link Outcome.NeedObjects}
         * (re-create those objects, then {@link #reuploaded} and attempt again).
         *
         * @throws dev.ckpt.store.error.FencedException the refusal of a fenced writer
         * @throws GcLeaseHeldException when waiting for a GC would last longer than allowed
         */
        Outcome<List<String>> attempt() {
            while (true) {
                Outcome.Watermark w = watermark;
                // a sweep whose GC is known to be gone (killed on this machine) is taken over, not waited for
                Outcome<List<String>> o = root.update(r -> {
                    Outcome<List<String>> next = Transitions.commit(r, request, w, config.clock().instant(),
                            r.gc().phase() == GcState.Phase.SWEEP
                                    && LeaseOwner.verdict(r.gc().owner()) == LeaseOwner.Verdict.GONE);
                    if (next instanceof Outcome.Write) {
                        beforeWrite.run(); // the write of ROOT goes out next
                    }
                    return next;
                }, deadline);
                if (o instanceof Outcome.Refused<List<String>> refused) {
                    throw refused.reason();
                }
                if (!(o instanceof Outcome.WaitUntil<List<String>> wait)) {
                    return o;
                }
                waitFor(wait);
            }
        }

        /** Runs {@code r} before each write of ROOT this commit sends (from then on it may land). */
        Commit beforeWrite(Runnable r) {
            this.beforeWrite = r;
            return this;
        }

        /** The id of the checkpoint this commits. */
        String id() {
            return id;
        }

        /** The objects of a {@link Outcome.NeedObjects} are re-created: later attempts start from its watermark. */
        void reuploaded(Outcome.NeedObjects<List<String>> need) {
            watermark = need.watermark();
        }

        private void waitFor(Outcome.WaitUntil<List<String>> wait) {
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
                        + id + " needs, in " + root.objectStore().describe() + "; the checkpoint was uploaded"
                        + " but not committed" + (waited > 0 ? " after waiting " + waited / 1000 + " s" : "")
                        + ". Save again once that GC has finished or its lease has expired (a commit then takes over"
                        + " at once)", gc.generation(), gc.owner(), gc.leaseExpiry());
            }
            String who = gc.generation() + "/" + gc.owner();
            if (!who.equals(announced)) {
                announced = who;
                notice.accept("commit of " + id + " waits for " + holder + ": it is deleting "
                        + wait.blocking() + " object(s) the checkpoint needs; waiting at most "
                        + (allowed - waited + 999) / 1000 + " s more");
            }
            long untilExpiry = wait.until().toEpochMilli() - now.toEpochMilli();
            long pause = Math.max(10, Math.min(Math.min(250, untilExpiry), allowed - waited));
            sleep(pause);
            slept += pause;
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

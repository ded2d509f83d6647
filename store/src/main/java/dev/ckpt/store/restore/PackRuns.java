package dev.ckpt.store.restore;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.objectstore.ObjectStore;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The packs of one restore (small files packed into shared chunks, see {@code docs/design.md},
 * "Packs"): a run of a pack starts at its first member file (in the manifest's order) and
 * ends after its last member, or earlier when a member of another pack comes first; it
 * fetches the pack once, decodes it and checks its SHA-256 and length once, and writes every
 * member's slice from those bytes. Files that are not packed (large or empty ones) may sit
 * between the members. A writer never interleaves the members of two packs, so each pack is
 * fetched once per restore; a manifest that does costs a fetch per run, never a wrong byte.
 *
 * <p>Memory: at most one run is open for dispatch at a time. It holds one permit of the
 * restore from its first member's dispatch until it ends and every member is flushed and
 * closed: the permit covers the pack's bytes (at most 1 MiB) and its members' temporaries,
 * which are created only when the pack is in, at most {@link #MEMBERS_OPEN} open at once
 * (the next member starts when one is closed). Members take no permit of their own, so as
 * many packs are fetched at once as there are permits (when each member held a permit from
 * its dispatch, a pack of 16 files took 16 permits while its GET was in flight, and a
 * restore on S3 fetched about one pack at a time). A run waits only for its own fetch and
 * for the dispatcher, which blocks only for permits that other holders give back on their
 * own; the restore keeps at least 2 permits so that a run and one more file (a large file
 * between its members) can both hold one: no deadlock.
 *
 * <p>Used by the dispatching thread ({@link #before}, {@link #add}, {@link #end}); the
 * stages run on the restore's executors through {@link Stages}.
 */
final class PackRuns {
    /** A step of a stage; a failure of it fails the restore. */
    interface Step {
        void run() throws Exception;
    }

    /** What a run needs from its restore. */
    interface Stages {
        /** Runs {@code step} on the I/O executor unless the restore failed. */
        void io(Step step);

        /** Runs {@code step} on the CPU executor unless the restore failed. */
        void cpu(Step step);

        /** Takes a permit; false when the restore failed meanwhile. */
        boolean acquire();

        /** Gives a permit back. */
        void release();

        /** A chunk was downloaded and checked. */
        void downloaded();

        /** {@code e}, a problem of the chunk {@code pack}, said with the files packed in it (see ChunkProblems). */
        RuntimeException located(RuntimeException e, ChunkRef pack);
    }

    /**
     * Writes a file's bytes {@code [offset, offset + length)} of a pack (on the CPU executor)
     * and runs {@code closed} once that file is flushed and closed.
     */
    interface Slice {
        void write(byte[] pack, int offset, int length, Runnable closed) throws Exception;
    }

    /**
     * Members of one run written and not yet closed, at most: open temporaries are bounded by
     * this times the permits. (Members are small files: each is closed on the CPU thread that
     * wrote it, and all are flushed together at the end, see {@link RestoreRun#FLUSH_EACH_MIN_BYTES}.)
     */
    static final int MEMBERS_OPEN = 4;

    private final ObjectStore store;
    private final Stages stages;
    /** Members of each pack not yet dispatched. */
    private final Map<String, Integer> members = new HashMap<>();
    private Run current;

    PackRuns(ObjectStore store, List<FileEntry> files, Stages stages) {
        this.store = store;
        this.stages = stages;
        for (FileEntry f : files) {
            if (f.packed()) {
                members.merge(f.chunks().get(0).hash(), 1, Integer::sum);
            }
        }
    }

    /** Before dispatching {@code next} (null: no more files): ends the current run if {@code next} is a member of another pack. */
    void before(FileEntry next) {
        if (current != null && (next == null || next.packed() && !next.chunks().get(0).hash().equals(current.pack.hash()))) {
            endRun();
        }
    }

    private void endRun() {
        current.done(); // the dispatcher's hold
        current = null;
    }

    /**
     * Dispatches a packed file's slice: starts a run (a permit, then a GET) unless the previous
     * file was of the same pack. False when the restore failed meanwhile (nothing dispatched).
     */
    boolean add(ChunkRef slice, Slice writer) {
        if (current == null) {
            if (!stages.acquire()) {
                return false;
            }
            current = new Run(slice.whole());
            current.fetch();
        }
        current.add(slice, writer);
        if (members.merge(slice.hash(), -1, Integer::sum) == 0) {
            endRun(); // its last member: the pack's bytes go as soon as it is written
        }
        return true;
    }

    /** After the last file: ends the current run. */
    void end() {
        before(null);
    }

    private final class Run {
        final ChunkRef pack;
        /** The dispatcher's hold until it moves past the run, plus one per member not yet flushed and closed. */
        final AtomicInteger holds = new AtomicInteger(1);
        /** Guarded by this: the pack's verified bytes (null until fetched), members not yet started, members open. */
        private byte[] raw;
        private final ArrayDeque<Runnable> pending = new ArrayDeque<>();
        private int open;

        Run(ChunkRef pack) {
            this.pack = pack;
        }

        void fetch() {
            stages.io(() -> {
                byte[] stored;
                try {
                    stored = ChunkProblems.get(store, pack);
                } catch (NotFoundException e) {
                    throw stages.located(e, pack);
                }
                stages.cpu(() -> {
                    byte[] decoded; // its own array: held until every member is written
                    try {
                        decoded = ChunkCodec.decode(pack, stored);
                    } catch (CorruptObjectException e) {
                        throw stages.located(e, pack);
                    }
                    stages.downloaded();
                    synchronized (this) {
                        raw = decoded;
                        startMore();
                    }
                });
            });
        }

        void add(ChunkRef slice, Slice writer) {
            holds.incrementAndGet();
            synchronized (this) {
                // on a failed fetch nothing starts: the restore has failed and nothing more is written
                pending.add(() -> stages.cpu(() -> writer.write(raw, slice.sliceOffset(), slice.sliceLength(),
                        this::closed)));
                startMore();
            }
        }

        /** Under the lock: starts members while fewer than {@link #MEMBERS_OPEN} are open. */
        private void startMore() {
            while (raw != null && open < MEMBERS_OPEN && !pending.isEmpty()) {
                open++;
                pending.poll().run();
            }
        }

        /** A member is flushed and closed. */
        private void closed() {
            synchronized (this) {
                open--;
                startMore();
            }
            done();
        }

        void done() {
            if (holds.decrementAndGet() == 0) {
                stages.release(); // the pack's bytes go with the run
            }
        }
    }
}

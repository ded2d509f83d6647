package dev.ckpt.store.restore;

import dev.ckpt.store.chunk.SuspectChunks;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.objectstore.DeadlineObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.TransferListener;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Restores a checkpoint into a directory. Every destination is checked before anything is
 * written (a directory or file in the way, an unwritable directory). The data path is
 * {@link RestoreRun}: GETs on the I/O executor, decoding and hash checks on the CPU
 * executor, each decoded chunk's SHA-256 checked and each whole file's computed from its
 * chunks in order as they are written (no second pass over the files), each distinct chunk
 * downloaded once, memory bounded by {@link StoreConfig#maxChunksInFlight()} chunks. Every
 * file is written under a short temporary name and flushed (small files together, see
 * {@link FilesystemSync}); only when all
 * files of the checkpoint verified are they renamed into place, and if one rename fails
 * the ones before it are undone (see {@link TargetDirectory}), so a failed restore leaves
 * the target as it was, and nothing is ever written outside the target: a symbolic link on
 * a checkpoint file's path below the target is refused, and the writes go through directory
 * handles that do not follow links (see {@link TargetDirectory}). A chunk
 * whose bytes are already at the same place in an existing local copy (the target or a
 * given reuse directory) is read from there instead of downloaded, after its hash matches.
 */
public final class Restorer {
    private final ObjectStore store;
    private final ManifestLoader manifests;
    private final StoreConfig config;
    private final ExecutorService cpu;
    private final ExecutorService io;
    private final TargetDirectory.Mover mover;
    private final FilesystemSync filesystemSync;

    public Restorer(ObjectStore store, ManifestLoader manifests, StoreConfig config, ExecutorService cpu, ExecutorService io) {
        this(store, manifests, config, cpu, io, TargetDirectory.Mover.ATOMIC, FilesystemSync.SYNCFS);
    }

    /** Where a restore that falls back past a missing or corrupt chunk notes it (see {@link SuspectChunks}). */
    private SuspectChunks suspects = new SuspectChunks();

    /** Shares {@code s} with the store's saves: they write the chunks noted there again. */
    public Restorer withSuspects(SuspectChunks s) {
        this.suspects = s;
        return this;
    }

    /**
     * With the rename of the publish phase replaced (tests make it fail half-way) and the
     * flush of many files at once (tests watch it, or take it away).
     */
    Restorer(ObjectStore store, ManifestLoader manifests, StoreConfig config, ExecutorService cpu, ExecutorService io,
             TargetDirectory.Mover mover, FilesystemSync filesystemSync) {
        this.store = store;
        this.manifests = manifests;
        this.config = config;
        this.cpu = cpu;
        this.io = io;
        this.mover = mover;
        this.filesystemSync = filesystemSync;
    }

    /**
     * Restores the newest checkpoint among {@code newestFirst} that verifies; each one
     * that fails verification is reported in {@link RestoreResult#fallbacks()}.
     */
    public RestoreResult restoreFirstGood(List<CheckpointEntry> newestFirst, Path target, List<Path> reuse) {
        List<String> fallbacks = new ArrayList<>();
        List<CheckpointEntry> failed = new ArrayList<>();
        CkptException last = null;
        for (CheckpointEntry e : newestFirst) {
            try {
                RestoreResult r = restore(e, target, reuse).withFallbacks(fallbacks);
                suspectTheRest(failed, e);
                return r;
            } catch (CorruptObjectException | NotFoundException ex) {
                failed.add(e);
                suspects.report(ex instanceof CorruptObjectException c ? c.key() : ((NotFoundException) ex).key());
                // its reason without the advice a single restore gives (the temporary directory is as it was, restore
                // an earlier checkpoint: helper-113, in the middle of a fall-back that does just that)
                fallbacks.add("checkpoint " + e.id() + " (step " + e.step() + ") failed verification: " + ex.reason());
                last = ex;
            }
        }
        if (last == null) {
            throw new NotFoundException("", "no checkpoint to restore");
        }
        // each reason once, then what to do, as a note: a caller whose target is its own (the trainer's) says its own
        CorruptObjectException none = new CorruptObjectException("", "no checkpoint could be restored: "
                + String.join(" | ", fallbacks), last);
        none.addNote("; nothing was written, " + target + " is as it was. ckpt-tool verify --read-data "
                + dev.ckpt.store.util.ShellWords.word(store.describe()) + " says what is wrong with each and what to do");
        throw none;
    }

    /**
     * A restore stops at the first bad chunk of a checkpoint, so others of it may be bad too
     * (helper-108: a second corrupt chunk was reused by the retrained save): every chunk of the
     * {@code failed} checkpoints that {@code restored} does not hold is noted as suspect, and the
     * next save reads it back before it reuses it. Best effort: a manifest that cannot be read
     * notes nothing more.
     */
    private void suspectTheRest(List<CheckpointEntry> failed, CheckpointEntry restored) {
        if (failed.isEmpty()) {
            return;
        }
        try {
            java.util.Set<String> good = manifests.load(restored).chunkRefs().keySet();
            for (CheckpointEntry f : failed) {
                try {
                    manifests.load(f).chunkRefs().keySet().stream().filter(h -> !good.contains(h))
                            .forEach(suspects::reportHash);
                } catch (RuntimeException ignored) {
                    // its manifest is what failed: its chunks are not this restore's to name
                }
            }
        } catch (RuntimeException ignored) {
            // the restored checkpoint's manifest was just read: not expected; the first bad chunk is noted already
        }
    }

    public RestoreResult restore(CheckpointEntry entry, Path target, List<Path> reuse) {
        return restore(entry, target, reuse, TransferListener.NONE);
    }

    /** Restores and reports the bytes written so far to {@code listener}. */
    public RestoreResult restore(CheckpointEntry entry, Path target, List<Path> reuse, TransferListener listener) {
        return restore(entry, target, reuse, listener, null);
    }

    /**
     * Restores only rank {@code rank}'s part of a checkpoint saved by several ranks (its
     * files, as that rank saved them); rank 0 of a checkpoint of one writer is all of it.
     */
    public RestoreResult restorePart(CheckpointEntry entry, int rank, Path target, List<Path> reuse,
                                     TransferListener listener) {
        return restore(entry, rank, target, reuse, listener, null);
    }

    /**
     * Restores only the tensors whose names match {@code patterns} (globs, see {@link TensorSelection}) of the
     * whole checkpoint or, with {@code rank} not null, of that rank's part: one safetensors file per source
     * file with matching tensors, holding just those; see {@link TensorRestore}.
     *
     * @throws NotFoundException if no tensor matches (nothing is written); the message says what the
     *         checkpoint has instead
     */
    public TensorRestoreResult restoreTensors(CheckpointEntry entry, Integer rank, List<String> patterns, Path target) {
        return restoreTensors(entry, rank, patterns, target, null);
    }

    /**
     * {@link #restoreTensors(CheckpointEntry, Integer, List, Path)}, abandoned when {@code deadline}
     * (null = none) passes first, as {@link #restore(CheckpointEntry, Integer, Path, List, TransferListener, Instant)}:
     * the target is left as it was.
     */
    public TensorRestoreResult restoreTensors(CheckpointEntry entry, Integer rank, List<String> patterns, Path target,
                                              Instant deadline) {
        DeadlineObjectStore store = DeadlineObjectStore.of(this.store, deadline, config.clock(), "restore of the tensors "
                + String.join(", ", patterns) + " of checkpoint " + entry.id() + " into " + target, target
                + " is as it was (no file written); restore again, with more time if the store is slow");
        try {
            Manifest m = manifests.load(store, entry, rank);
            TensorSelection sel = TensorSelection.of(m, patterns);
            if (sel.isEmpty()) {
                throw new NotFoundException(entry.id(), noMatch(m, sel, rank));
            }
            return new TensorRestore(store, io, config.maxChunksInFlight(), config.chunkSize()).run(m, sel, target);
        } finally {
            store.close(); // the deadline's threads only
        }
    }

    /** Why a tensor selection is empty, and what the checkpoint holds instead. */
    private static String noMatch(Manifest m, TensorSelection sel, Integer rank) {
        String what = "checkpoint " + m.id() + (rank == null ? "" : " rank " + rank);
        List<String> names = new ArrayList<>(); // distinct below: "e.g. a.w, a.w" repeated a name (helper-142)
        for (FileEntry f : m.files()) {
            if (f.tensors() != null) {
                f.tensors().forEach(t -> names.add(t.name()));
            }
        }
        String msg = "no tensor of " + what + " matches " + String.join(" or ", sel.patterns().stream()
                .map(p -> "'" + p + "'").toList()) + "; nothing was written";
        if (!names.isEmpty()) {
            List<String> distinct = names.stream().distinct().toList();
            // the files not searched too: the tensor asked for may be in one (helper-143)
            return msg + " (it has " + names.size() + " tensors, e.g. " + String.join(", ", distinct.subList(0,
                    Math.min(3, distinct.size()))) + "; a pattern is a glob on the whole name: * any run, ? one character"
                    + (sel.unindexed().isEmpty() ? "" : "; " + TensorSelection.unindexedWords(sel.unindexed())
                    + ": restore them whole") + ")";
        }
        if (!sel.unindexed().isEmpty()) {
            return msg + " (" + TensorSelection.unindexedWords(sel.unindexed()) + "; restore them whole)";
        }
        return msg + " (it holds no safetensors files)";
    }

    /**
     * Restores, and when {@code deadline} (on the configured clock; null = none) passes first,
     * abandons the requests in flight and fails with {@link dev.ckpt.store.error.DeadlineExceededException}
     * naming the object stuck longest; the target is left as it was, as after any failure.
     */
    public RestoreResult restore(CheckpointEntry entry, Path target, List<Path> reuse, TransferListener listener,
                                 Instant deadline) {
        return restore(entry, null, target, reuse, listener, deadline);
    }

    /** {@code rank}: only that rank's part (null: the whole checkpoint). */
    public RestoreResult restore(CheckpointEntry entry, Integer rank, Path target, List<Path> reuse,
                                 TransferListener listener, Instant deadline) {
        long t0 = System.nanoTime();
        DeadlineObjectStore store = DeadlineObjectStore.of(this.store, deadline, config.clock(), "restore of checkpoint "
                + entry.id() + " into " + target, target + " is as it was (no file of the checkpoint written); restore again, with more"
                + " time if the store is slow");
        try {
            Manifest m = manifests.load(store, entry, rank);
            return restore(store, m, target, reuse, listener, t0);
        } finally {
            store.close(); // the deadline's threads only
        }
    }

    private RestoreResult restore(DeadlineObjectStore store, Manifest m, Path target, List<Path> reuse,
                                  TransferListener listener, long t0) {
        listener.progress(0, m.logicalBytes());
        Path root = target.toAbsolutePath().normalize();
        List<Path> finals = new ArrayList<>();
        for (FileEntry f : m.files()) {
            Path dest;
            try {
                dest = root.resolve(f.path()).normalize();
            } catch (InvalidPathException e) {
                // a name this JVM cannot encode: its file-name charset comes from the locale at start
                // (sun.jnu.encoding), ASCII under LANG=C, while manifests hold names in UTF-8
                throw new InvalidInputException("checkpoint " + m.id() + " holds file '" + f.path() + "', whose name this"
                        + " JVM cannot write: " + LocalFiles.encodingHint() + "; nothing was written", e);
            }
            if (!dest.startsWith(root) || dest.equals(root)) {
                throw new CorruptObjectException(m.key(), "manifest " + m.key() + " names file '" + f.path()
                        + "' outside the restore directory; refused, nothing written");
            }
            finals.add(dest);
        }
        TargetDirectory dir = new TargetDirectory(root, m, mover);
        dir.check(finals); // every destination, before anything is written
        RestoreRun run = new RestoreRun(store, m, root, reuse, dir, listener, cpu, io, config.maxChunksInFlight(),
                filesystemSync);
        boolean ok = false;
        TargetDirectory.Leftovers leftovers;
        int replaced;
        dev.ckpt.store.error.CkptException failed = null;
        try {
            dir.createDirectories(finals);
            run.run(finals); // every file written, verified, flushed and closed
            List<Path> temps = run.temps();
            List<Object> keys = setModes(dir, temps, m.files());
            listener.committing(m.id()); // from here the renames run to their end (a signal waits for them)
            replaced = dir.publish(temps, finals, keys); // all or nothing: rolls back what it renamed if one fails
            ok = true;
            syncNames(finals);
            leftovers = dir.findLeftovers(finals, finals); // named, never deleted: see TargetDirectory.findLeftovers
        } catch (dev.ckpt.store.error.CkptException e) {
            failed = e;
            throw e;
        } finally {
            if (!ok) {
                run.abort(); // no task runs after this, so none writes after the cleanup
                removeTemporaries(dir, run.createdTemps(), failed);
                dir.removeCreatedDirectories();
            }
            dir.close();
        }
        long bytes = m.logicalBytes();
        return new RestoreResult(m.id(), m.run(), m.step(), m.files().size(), bytes, run.downloaded(), run.reused(),
                List.of(), Duration.ofNanos(System.nanoTime() - t0), leftovers.temporaries(),
                leftovers.replacedVersions(), replaced, leftovers.replacedFrom(), leftovers.journals());
    }

    /**
     * Removes a failed restore's temporaries, best effort. Those that stay (an append-only
     * directory refuses the unlink) are named in a note on {@code failed}, whose "as it was"
     * they would otherwise belie (helper-119: seven .ckpt-*.tmp left unnamed in a chattr +a directory).
     */
    static void removeTemporaries(TargetDirectory dir, java.util.Collection<Path> temps,
                                  dev.ckpt.store.error.CkptException failed) {
        List<Path> left = new ArrayList<>();
        String why = null;
        for (Path t : temps) {
            try {
                dir.delete(t);
            } catch (IOException | RuntimeException e) {
                left.add(t); // a leftover temporary never has a checkpoint file's name
                why = why != null ? why : e instanceof IOException io ? LocalFiles.reason(io) : e.getMessage();
            }
        }
        if (!left.isEmpty() && failed != null) {
            failed.addNote("; but " + (left.size() == 1 ? "its temporary " + left.get(0) + " could not be removed"
                    : left.size() + " of its temporaries (.ckpt-*.tmp, e.g. " + left.get(0) + ") could not be removed")
                    + " (" + why + "): delete " + (left.size() == 1 ? "it" : "them") + " once the directory allows it");
        }
    }

    /**
     * Makes the renames of the publish phase durable, best effort (the files' bytes were
     * flushed before): one syncfs per filesystem, else an fsync of each directory. A
     * directory that cannot be synced is left as it is; the renames themselves are atomic.
     */
    private void syncNames(List<Path> finals) {
        Set<Path> dirs = new LinkedHashSet<>();
        for (Path f : finals) {
            dirs.add(f.getParent());
        }
        if (filesystemSync.sync(dirs)) {
            return;
        }
        dirs.forEach(LocalFiles::fsyncDirectory);
    }

    /** From this many files on, {@link #setModes} shares the work with the CPU pool. */
    public static final int SHARED_MODES_FROM = 1_000;

    /**
     * Sets every restored file's mode that its create did not give it ({@link FileModes}),
     * after every file is written and verified (a file may still be read back until then, and
     * its mode may forbid that). Each is a lookup, and where the mode differs an open, an fchmod
     * and a close (about 9 us a file on this project's machines, 0.09 s for 10,000 files): from
     * {@link #SHARED_MODES_FROM} files on, the CPU pool (idle by now) takes the second half while
     * this thread takes the first. Returns each temporary's file key as the lookup read it
     * (null where none was read), for the publish.
     */
    private List<Object> setModes(TargetDirectory dir, List<Path> temps, List<FileEntry> files) {
        int n = temps.size();
        Object[] keys = new Object[n];
        int half = n < SHARED_MODES_FROM ? n : n / 2;
        Future<?> rest = half == n ? null : cpu.submit(() -> {
            for (int i = half; i < n; i++) {
                keys[i] = setMode(dir, temps.get(i), files.get(i).mode());
            }
        });
        for (int i = 0; i < half; i++) {
            keys[i] = setMode(dir, temps.get(i), files.get(i).mode());
        }
        if (rest != null) {
            try {
                rest.get(); // also makes the pool's keys visible here
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreUnavailableException("restore interrupted", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Error err) {
                    throw err;
                }
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }
        return Arrays.asList(keys);
    }

    /**
     * Sets a restored file's POSIX permission bits from its manifest mode (0: left as created),
     * unless its create gave it exactly those ({@link FileModes}: one lookup instead of a chmod).
     * Returns the file's key (device and inode) as the lookup read it; null for mode 0 or where
     * the filesystem gives none.
     */
    static Object setMode(TargetDirectory dir, Path p, int mode) {
        if (mode == 0) {
            return null;
        }
        java.util.Set<java.nio.file.attribute.PosixFilePermission> want = FileModes.permissions(mode);
        java.nio.file.attribute.PosixFileAttributes now = dir.attributes(p);
        if (now == null || !want.equals(now.permissions())) {
            dir.setPermissions(p, want);
        }
        return now == null ? null : now.fileKey();
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.DeadlineExceededException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.util.ProcStat;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The exclusive lock on a local store's lock file ({@link LocalObjectStore#putIfMatch}), taken
 * with bounded patience. A process holds it for milliseconds (read ROOT, write and rename it,
 * two fsyncs), so one that holds it for {@link #PATIENCE} is stopped or hung; waiting in
 * {@link FileChannel#lock()} waited with it, silently, for as long as it stayed so (helper-71:
 * {@code gc} behind a push stopped with SIGSTOP). Polls {@link FileChannel#tryLock()} (pauses of
 * 1 ms doubling to 20 ms) and after the patience fails naming the object, the lock file and, on
 * Linux, the process that holds it ({@code /proc/locks}) and whether it is stopped. A caller's
 * deadline ({@link CallerDeadline}) that comes first ends the wait then, as
 * {@link DeadlineExceededException}.
 */
final class LocalLocks {
    private LocalLocks() {
    }

    /**
     * How long a write of ROOT waits for another process's lock: far above the milliseconds a
     * live holder takes, and above the seconds an fsync can take on a loaded shared filesystem.
     */
    static final Duration PATIENCE = Duration.ofSeconds(30);

    private static final long MAX_PAUSE_MS = 20;

    /**
     * The lock on {@code ch} (the lock file {@code lockFile} of object {@code key} of {@code store}).
     *
     * @throws StoreUnavailableException {@link StoreUnavailableException#needsAction needing action} when
     *         another process holds it for {@code patience} (the message names that process where
     *         {@code /proc/locks} does, and says whether it is stopped); retryable when interrupted
     */
    static FileLock take(FileChannel ch, Path lockFile, String key, String store, Duration patience) throws IOException {
        long start = System.nanoTime();
        long allowed = patience.toNanos();
        Optional<Instant> callers = CallerDeadline.current();
        boolean byCaller = false;
        if (callers.isPresent()) {
            long left = Math.max(0, Duration.between(Instant.now(), callers.get()).toNanos());
            byCaller = left < allowed;
            allowed = Math.min(allowed, left);
        }
        FileLock first = ch.tryLock();
        if (first != null) {
            return first;
        }
        CallerDeadline.waitingForLock(true);
        try {
            return waitFor(ch, lockFile, key, store, patience, start, allowed, byCaller);
        } finally {
            CallerDeadline.waitingForLock(false);
        }
    }

    private static FileLock waitFor(FileChannel ch, Path lockFile, String key, String store, Duration patience, long start,
                                 long allowed, boolean byCaller) throws IOException {
        long pause = 1;
        while (true) {
            FileLock lock = ch.tryLock();
            if (lock != null) {
                return lock;
            }
            long waited = System.nanoTime() - start;
            if (waited >= allowed) {
                if (byCaller) {
                    throw deadlinePassed(lockFile, key, store, Duration.ofNanos(waited), allowed < 1_000_000);
                }
                throw held(lockFile, key, store, patience);
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreUnavailableException("interrupted while waiting for the lock on " + key + " of store "
                        + store + " (" + lockFile + "); " + key + " was not replaced", e);
            }
            pause = Math.min(Math.min(pause * 2, MAX_PAUSE_MS), Math.max(1, (allowed - waited) / 1_000_000));
        }
    }

    private static StoreUnavailableException held(Path lockFile, String key, String store, Duration patience) {
        Holder h = holder(lockFile);
        String who = h == null ? null : "process " + h.pid() + (h.name() == null ? "" : " (" + h.name() + ")");
        String what = h == null ? " (a ckpt process that is stopped or hung, on this machine or on another that mounts"
                + " the store): find it and resume or end it, then retry"
                : h.stopped() ? ": " + who + " holds it and is stopped (SIGSTOP, Ctrl-Z, a debugger); resume it (kill"
                + " -CONT " + h.pid() + ") or end it, then retry"
                : ": " + who + " holds it and has not let go (hung on its filesystem?); end it if it does not finish,"
                + " then retry";
        // Needing action in every case: a holder this slow is stopped or hung, and retrying only waits
        // behind it again; and the write is certainly not applied (the lock was never taken), which a
        // retryable failure of a conditional write would leave in doubt for the caller.
        return StoreUnavailableException.needingAction("cannot replace " + key + " of store " + store + ": another"
                + " process has held its lock file " + lockFile + " for " + seconds(patience)
                + ", where a write takes milliseconds"
                + what + "; " + key + " was not replaced", null);
    }

    /** The caller's deadline ({@link CallerDeadline}) passed while another process held the lock. */
    private static DeadlineExceededException deadlinePassed(Path lockFile, String key, String store, Duration waited,
                                                            boolean noTimeLeft) {
        Holder h = holder(lockFile);
        String who = h == null ? "another process" : "process " + h.pid() + (h.name() == null ? "" : " (" + h.name() + ")")
                + (h.stopped() ? ", which is stopped," : "");
        // by the time allowed, not the time the first try took: a loaded machine took a millisecond over it, and a
        // deadline already past read "for the 1 ms that were left" (CI)
        String how = noTimeLeft ? " holds its lock file " + lockFile + " and no time was left to wait for it"
                : " held its lock file " + lockFile + " for the " + seconds(waited) + " that were left";
        String advice = h != null && h.stopped() ? "; resume it (kill -CONT " + h.pid() + ") or end it, then retry" : "";
        return new DeadlineExceededException("cannot replace " + key + " of store " + store + " by its deadline: "
                + who + how + "; " + key + " was not replaced" + advice, key, waited, waited);
    }

    /** {@code d} for a message: milliseconds under a second, else seconds with a tenth (1.9 s, not 1 s), whole ones bare. */
    static String seconds(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + " ms";
        }
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    /** The process holding a POSIX lock on a file: its id, name (null when unknown), whether it is stopped. */
    record Holder(long pid, String name, boolean stopped) {
    }

    /**
     * Who holds a POSIX (or open-file-description) lock on {@code file}, from Linux's
     * {@code /proc/locks} ({@code "1: POSIX ADVISORY WRITE <pid> <major>:<minor>:<inode> 0 EOF"},
     * device numbers in hex; a waiter's line has {@code ->} after the number) and the
     * holder's {@link ProcStat}. Where no line has the file's device (btrfs: stat gives the
     * subvolume's device, {@code /proc/locks} the filesystem's), the one process holding a lock on
     * that inode number that has the file open; null where there is
     * no {@code /proc/locks}, the holder is not visible from here (another machine, another
     * PID namespace) or the file cannot be looked at.
     */
    static Holder holder(Path file) {
        long ino;
        long dev;
        List<String> lines;
        try {
            ino = ((Number) Files.getAttribute(file, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
            dev = ((Number) Files.getAttribute(file, "unix:dev", LinkOption.NOFOLLOW_LINKS)).longValue();
            lines = Files.readAllLines(Path.of("/proc/locks"));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return holder(ino, dev, lines, pid -> opens(pid, file));
    }

    /**
     * Whether process {@code pid} has {@code file} open (one of its {@code /proc/PID/fd} links is
     * the same file: device and inode as stat gives them, so a subvolume's file of the same inode
     * number is not). False where its descriptors cannot be read (another user's process).
     */
    static boolean opens(long pid, Path file) {
        try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.isSameFile(fd, file);
                } catch (IOException | RuntimeException e) {
                    return false; // closed meanwhile, or not a file
                }
            });
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The holder of inode {@code ino} on device {@code dev} ({@code st_dev}) by the lines of
     * {@code /proc/locks}; where no line has that device, the one holder of the inode number on
     * another device for which {@code opensFile} is true.
     */
    static Holder holder(long ino, long dev, List<String> lines, java.util.function.LongPredicate opensFile) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        java.util.Set<Long> sameInode = new java.util.HashSet<>(); // holders of this inode on any device
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 6 || f[1].equals("->") || !(f[1].equals("POSIX") || f[1].equals("OFDLCK"))) {
                continue;
            }
            String[] where = f[5].split(":");
            try {
                if (where.length != 3 || Long.parseLong(where[2]) != ino) {
                    continue;
                }
                long pid = Long.parseLong(f[4]);
                if (pid <= 0 || pid == ProcessHandle.current().pid()) {
                    continue; // not visible here, or ours
                }
                if (Long.parseLong(where[0], 16) == major && Long.parseLong(where[1], 16) == minor) {
                    return describe(pid);
                }
                sameInode.add(pid);
            } catch (NumberFormatException e) {
                // a line of another shape
            }
        }
        // btrfs reports a subvolume's own device to stat and the filesystem's to /proc/locks (helper-73):
        // no line matches both. Subvolumes reuse inode numbers, so a holder of the same number may hold
        // another store's lock file (helper-76): only one that has this file open is taken
        List<Long> opening = sameInode.stream().filter(opensFile::test).toList();
        return opening.size() == 1 ? describe(opening.get(0)) : null;
    }

    private static Holder describe(long pid) {
        return ProcStat.of(pid).map(st -> new Holder(pid, st.name(), st.stopped())).orElse(new Holder(pid, null, false));
    }
}

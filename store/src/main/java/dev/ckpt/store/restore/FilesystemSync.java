package dev.ckpt.store.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Makes everything written to the local filesystems holding some directories durable in
 * one step per filesystem: Linux's {@code syncfs(2)}, through coreutils' {@code sync -f}
 * (the JDK has no call for it). A restore of many small files uses it instead of one
 * {@code fsync} per file: on a disk that writes each inode synchronously (ext4 without a
 * journal, this machine's) 10,000 fsyncs of 100-byte files cost about 3 s of 5, one
 * syncfs writes the same inodes in a few blocks (docs/benchmarks.md, "Small files flushed
 * in one syncfs").
 *
 * <p>Linux before 5.8 does not report a writeback error through syncfs (it does through
 * fsync); the restore checked every byte it wrote before, so only a disk failing during
 * the writeback goes unseen there.
 */
interface FilesystemSync {
    /**
     * Flushes the filesystem of each of {@code dirs} (one {@code syncfs} per filesystem,
     * told apart by device number).
     *
     * @return true when every one was flushed; false when that cannot be done here (no
     *     Linux {@code sync -f}, a failed syncfs): the caller then flushes each file itself
     */
    boolean sync(Collection<Path> dirs);

    /**
     * How long {@link #SYNCFS} waits for {@code sync} (60 s): far beyond a healthy disk's
     * flush of a restore's small files; a {@code sync} that takes longer (a hung disk, or
     * something else named {@code sync} on the PATH) is killed and each file is flushed on
     * its own instead.
     */
    Duration SYNC_LIMIT = Duration.ofSeconds(60);

    /** {@code sync -f -- DIR...}, one directory per device, within {@link #SYNC_LIMIT}. */
    FilesystemSync SYNCFS = command(List.of("sync", "-f", "--"), SYNC_LIMIT);

    /**
     * Runs {@code command} followed by one directory per filesystem (devices told apart
     * with links followed, as {@code sync} opens them); true when it exits 0 within
     * {@code limit}, false when it fails, is not there, or is killed at the limit.
     */
    static FilesystemSync command(List<String> command, Duration limit) {
        return dirs -> {
            List<String> args = new ArrayList<>(command);
            Set<Object> devices = new HashSet<>();
            try {
                for (Path d : dirs) {
                    if (devices.add(Files.getAttribute(d, "unix:dev"))) {
                        args.add(d.toAbsolutePath().toString());
                    }
                }
            } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
                return false; // not a Unix filesystem the JDK can stat: no syncfs either
            }
            if (devices.isEmpty()) {
                return true;
            }
            Process p;
            try {
                p = new ProcessBuilder(args).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            } catch (IOException | OutOfMemoryError e) {
                // no `sync` on the PATH; or, under a limit on threads, no thread for the JDK's process
                // reaper (the `sync` may run, but cannot be waited for): the caller flushes each itself
                return false;
            }
            try {
                if (p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                    return p.exitValue() == 0;
                }
                p.destroyForcibly();
                return false;
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                return false;
            }
        };
    }

    /** Never flushes: every file is flushed by its own fsync (tests, and where syncfs is not wanted). */
    FilesystemSync NONE = dirs -> false;
}

package dev.ckpt.trainer;

import dev.ckpt.store.util.Printable;
import dev.ckpt.store.util.LocalFiles;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The local staging directory of one run, {@code <staging>/<run>/}: {@code step-N} is a
 * complete checkpoint, {@code step-N.tmp} one being written. It keeps only the checkpoint
 * being uploaded (and one staged behind it) and the newest committed one (a fast local source
 * for the next resume);
 * leftovers of a crash are removed at start; free space is checked before writing.
 */
final class Staging {
    private static final String PREFIX = "step-";
    private final Path dir;
    private final long minFreeBytes;
    private final PrintStream out;
    private final FreeSpace freeSpace;

    /** The bytes free for this process in a directory's filesystem; tests give a full disk on cue. */
    interface FreeSpace {
        long usable(Path dir) throws IOException;
    }

    /** The filesystem's own count ({@link java.nio.file.FileStore#getUsableSpace}). */
    static final FreeSpace FILE_STORE = d -> Files.getFileStore(d).getUsableSpace();

    Staging(Path base, String run, long minFreeBytes, PrintStream out) throws IOException {
        this(base, run, minFreeBytes, out, FILE_STORE);
    }

    Staging(Path base, String run, long minFreeBytes, PrintStream out, FreeSpace freeSpace) throws IOException {
        this.freeSpace = freeSpace;
        this.dir = base.resolve(run);
        this.minFreeBytes = minFreeBytes;
        this.out = out;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot create the staging directory " + dir + ": " + why(dir, e) + "; give --staging"
                    + " a directory this process can write (nothing was trained or saved)", e);
        }
        requireWritable();
    }

    /**
     * Writes and removes an empty file in the staging directory: one that exists but cannot be
     * written (a read-only mount, another user's directory) would otherwise fail the first save,
     * after the training up to it (helper-106). The file ends in {@code .tmp}, so a run killed
     * between the two steps leaves nothing that {@link #removeLeftovers} does not remove.
     */
    private void requireWritable() throws IOException {
        Path probe;
        try {
            probe = Files.createTempFile(dir, "write-check-", ".tmp");
        } catch (IOException e) {
            throw new IOException("cannot write in the staging directory " + dir + ": " + LocalFiles.explain(e)
                    + "; give --staging a directory this process can write (nothing was trained or saved)", e);
        }
        Files.deleteIfExists(probe);
    }

    /** Why {@code dir} could not be created: a path on the way that is no directory, else the system's reason. */
    private static String why(Path dir, IOException e) {
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p)) {
                return LocalFiles.notADirectory(p);
            }
        }
        return LocalFiles.explain(e);
    }

    Path dir() {
        return dir;
    }

    /** Removes {@code *.tmp} leftovers of an interrupted write or restore. */
    void removeLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().endsWith(".tmp")) {
                    out.println("staging: removing leftover of an interrupted write: " + Printable.of(String.valueOf(p))); // one line
                    LocalFiles.deleteTree(p);
                }
            }
        }
    }

    /** The complete staged checkpoints, newest step first. */
    List<Path> complete() throws IOException {
        List<Path> r = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> stepOf(p) >= 0 && Files.isDirectory(p)).forEach(r::add);
        }
        r.sort(Comparator.comparingLong(Staging::stepOf).reversed());
        return r;
    }

    static long stepOf(Path p) {
        String n = p.getFileName().toString();
        if (!n.startsWith(PREFIX)) {
            return -1;
        }
        try {
            return Long.parseLong(n.substring(PREFIX.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    Path pathOf(long step) {
        return dir.resolve(PREFIX + step);
    }

    /** {@code step-N.tmp}: the checkpoint of step N while it is written. */
    Path tmpPathOf(long step) {
        return dir.resolve(PREFIX + step + ".tmp");
    }

    /** Deletes {@code step-N.tmp} if it exists; a failure is ignored (the next start removes leftovers). */
    void deleteTmpQuietly(long step) {
        try {
            LocalFiles.deleteTree(tmpPathOf(step));
        } catch (IOException ignored) {
            // a leftover .tmp is harmless: removeLeftovers deletes it at the next start
        }
    }

    /** The bytes free for this process in the staging directory's filesystem now. */
    long free() throws IOException {
        return freeSpace.usable(dir);
    }

    /** What --min-free-mb keeps free, in words ("" when nothing): for a message about the space. */
    String keeping() {
        return minFreeBytes > 0 ? " and --min-free-mb keeps " + mib(minFreeBytes) : "";
    }

    /** Whether {@code bytes} fit in {@code free} bytes beside --min-free-mb. */
    boolean fits(long bytes, long free) {
        return free >= bytes + minFreeBytes;
    }

    /** Fails with a clear message unless {@code bytes} (plus --min-free-mb) fit. */
    void checkSpace(long bytes, long step, String lastCommitted) throws IOException {
        long free;
        try {
            free = freeSpace.usable(dir);
        } catch (IOException e) {
            // the directory removed or replaced under the run: its message was the bare path (helper-106, helper-107)
            throw new Failed("staging directory " + dir + ": cannot read its free space for the checkpoint of step "
                    + step + " (" + gone(e) + "). Give --staging a directory that stays while the run trains. Nothing"
                    + " was written", lastCommitted, e);
        }
        if (!fits(bytes, free)) {
            throw new Failed(String.format("staging directory %s has %s free; the checkpoint of step %d needs %s%s. "
                            + "Free space there or point --staging elsewhere. Nothing was written",
                    dir, mib(free), step, mib(bytes), minFreeBytes > 0 ? " and --min-free-mb keeps " + mib(minFreeBytes) : ""),
                    lastCommitted, null);
        }
    }

    /**
     * A checkpoint that could not be staged. Its message ends with what the store holds, which
     * {@link #now} says again once the saves still in flight have ended (helper-103: a save
     * uploading when the next could not be staged was abandoned at the exit).
     */
    static final class Failed extends IOException {
        private final String what;

        Failed(String what, String lastCommitted, Throwable cause) {
            super(what + "; " + (lastCommitted == null ? "the store holds no checkpoint of this run yet"
                    : "the last committed checkpoint " + lastCommitted + " is untouched"), cause);
            this.what = what;
        }

        /** What failed and what to do, without the sentence about the last committed checkpoint. */
        String what() {
            return what;
        }

        /** The same failure, naming {@code lastCommitted} as the store's latest now. */
        Failed now(String lastCommitted) {
            Failed f = new Failed(what, lastCommitted, getCause());
            f.setStackTrace(getStackTrace());
            return f;
        }
    }

    interface Writer {
        void write(Path dir) throws IOException;
    }

    /** Writes a checkpoint into {@code step-N.tmp}, then renames it to {@code step-N}. */
    Path stage(long step, Writer writer, String lastCommitted) throws IOException {
        return complete(stageTmp(step, writer, lastCommitted), step, lastCommitted);
    }

    /** Writes a checkpoint into {@code step-N.tmp} and returns that directory, for {@link #complete} later. */
    Path stageTmp(long step, Writer writer, String lastCommitted) throws IOException {
        Path tmp = tmpPathOf(step);
        try {
            LocalFiles.deleteTree(tmp);
            Files.createDirectories(tmp);
            writer.write(tmp);
        } catch (IOException | RuntimeException e) {
            removeAfter(tmp, e);
            throw new Failed("staging directory " + dir + ": writing the checkpoint of step " + step + " failed ("
                    + (e instanceof IOException io ? gone(io) : e.getMessage()) + ")", lastCommitted, e);
        }
        return tmp;
    }

    /** Removes what a failed staging left at {@code p}; a failure to is added to {@code e}. */
    private static void removeAfter(Path p, Throwable e) {
        try {
            LocalFiles.deleteTree(p);
        } catch (IOException suppressed) {
            e.addSuppressed(suppressed);
        }
    }

    /**
     * What an I/O error says, in words: a missing path ("NoSuchFileException: /x", whose message
     * is only the path) is said to be gone, with a guess at why.
     */
    static String gone(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException n) {
            return (n.getFile() == null ? "a path" : n.getFile()) + " does not exist: was the staging directory removed"
                    + " while the run trained?";
        }
        return LocalFiles.explain(e);
    }

    /**
     * Renames a written {@code step-N.tmp} to {@code step-N}, replacing an older one.
     *
     * @throws Failed as {@link #replace}
     */
    Path complete(Path tmp, long step, String lastCommitted) throws IOException {
        return replace(tmp, step, "the checkpoint of step " + step + " was written", "", lastCommitted);
    }

    /**
     * Moves a resume's restored directory into place as {@code step-N}.
     *
     * @throws Failed as {@link #replace}, saying nothing was trained (helper-116: a bare "Operation
     *         not permitted", the restored copy left behind)
     */
    Path adopt(Path restored, long step, String checkpointId) throws IOException {
        return replace(restored, step, "checkpoint " + checkpointId + " was restored", "; nothing was trained",
                checkpointId);
    }

    /**
     * Renames {@code from} to {@code step-N}, replacing an older one.
     *
     * @throws Failed naming both directories, the file that stopped it and what to do,
     *         {@code from} removed: an older {@code step-N} that cannot be removed (helper-112: a
     *         read-only {@code step-N} failed the save with a bare "Read-only file system", left
     *         {@code step-N.tmp}, and the save still uploading before it went unreported), or a
     *         rename refused
     */
    private Path replace(Path from, long step, String done, String after, String lastCommitted) throws IOException {
        Path fin = pathOf(step);
        try {
            LocalFiles.deleteTree(fin);
            Files.move(from, fin, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            removeAfter(from, e);
            // the file that stopped it (helper-115: "check the directory's owner and mode" named no file), and a way out
            // that works for a mount point too
            throw new Failed("staging directory " + dir + ": " + done + " but cannot replace " + fin + " ("
                    + (e instanceof IOException io ? withFile(io) : e.getMessage()) + "); move " + fin + " out of the"
                    + " staging directory (unmount it if it is a mount point), or give the run a staging directory of its"
                    + " own" + after, lastCommitted, e);
        }
        return fin;
    }

    /**
     * Deletes every complete staged checkpoint but those {@code keep} accepts, each one it can.
     * {@code keep} is asked for each copy as it is reached, after the listing: a copy staged
     * while this runs (a save staged as the one before it commits) is in the listing and must be
     * in {@code keep} by then, not in a set taken before the listing (a CI run: the commit of step
     * 10 removed step 20's copy, staged meanwhile, and the save of step 20 failed).
     *
     * @return the copies it could not remove, each with why (empty: none); the others are gone
     *         (helper-115: one undeletable copy kept the others too, and failed the save that
     *         had just committed)
     * @throws IOException when the staging directory itself cannot be listed
     */
    Map<Path, IOException> keepOnly(java.util.function.Predicate<Path> keep) throws IOException {
        Map<Path, IOException> left = new java.util.LinkedHashMap<>();
        for (Path p : complete()) {
            if (!keep.test(p)) {
                try {
                    LocalFiles.deleteTree(p);
                } catch (IOException e) {
                    left.put(p, e);
                }
            }
        }
        return left;
    }

    /** An I/O error in words with the file it names, when it names one (a file inside a directory being removed). */
    static String withFile(IOException e) {
        return (e instanceof java.nio.file.FileSystemException f && f.getFile() != null ? f.getFile() + ": " : "") + gone(e);
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}

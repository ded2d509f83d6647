package dev.ckpt.store.commit;

import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.TempNames;
import dev.ckpt.store.util.NonFiles;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.SafePaths;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The directory a save reads, as the save sees it. Guarantees: every entry below it is
 * either saved byte for byte under its exact name or refused with a message naming it;
 * nothing is skipped silently. Two kinds are skipped, and the scan reports them: empty
 * directories, which a checkpoint cannot hold ({@link #emptyDirectories()}), and what an
 * interrupted ckpt command left, by the names only ckpt makes ({@link TempNames}): a
 * restore's temporaries and the versions it renamed aside ({@code .ckpt-<12 hex>.tmp},
 * {@code .old}), an export's or import's staging directory ({@link #leftOut()}; a push of a
 * directory an interrupted restore had written into saved its partial temporary: helper-95).
 *
 * <ul>
 *   <li>Regular files are saved; directories are walked. The source directory itself may
 *       be reached through a symbolic link (it is what the caller named).</li>
 *   <li>Every symbolic link below it is refused (whether it points inside, outside, to a
 *       directory, or nowhere), and so are FIFOs, sockets and devices: a manifest holds
 *       regular files only, and a link saved as a copy of its target would restore as
 *       something else.</li>
 *   <li>A file name that this JVM cannot read back exactly (decoded with U+FFFD because
 *       the locale's charset, fixed at JVM start as {@code sun.jnu.encoding}, is not the
 *       one the name is in) is refused: it would be stored as other characters.</li>
 *   <li>Each file's {@link Stamp} (size, modification and change time, inode) is taken at
 *       the scan; the save compares it after reading the file, so a file rewritten in place
 *       while it is read is refused instead of committed torn.</li>
 * </ul>
 */
public final class SourceDir {
    /**
     * How long after a file's newest timestamp a read may start. Linux stamps writes with a
     * coarse clock (one scheduler tick, up to 10 ms): a write in the same tick as the scan
     * would not move the timestamps. Once the clock is past a file's timestamps by more than
     * a tick, every later write moves them.
     */
    static final long RACY_NANOS = 30_000_000L;

    /** What identifies a file's content without reading it. {@code ctime} and {@code inode} are null where the platform has none. */
    record Stamp(long size, FileTime mtime, FileTime ctime, Object inode) {
        FileTime newest() {
            return ctime != null && ctime.compareTo(mtime) > 0 ? ctime : mtime;
        }
    }

    record SourceFile(Path path, String relative, long size, int mode, Stamp stamp) {
    }

    private final Path root;
    private final List<SourceFile> files;
    private final List<String> emptyDirectories;
    private final List<String> leftOut;
    private final Duration took;
    /** What each file must hash to (SHA-256, hex) by relative path, or null: {@link #expecting}. */
    private final Map<String, String> expectedSha256;

    private SourceDir(Path root, List<SourceFile> files, List<String> emptyDirectories, List<String> leftOut, Duration took,
                      Map<String, String> expectedSha256) {
        this.root = root;
        this.took = took;
        this.files = List.copyOf(files);
        this.emptyDirectories = List.copyOf(emptyDirectories);
        this.leftOut = List.copyOf(leftOut);
        this.expectedSha256 = expectedSha256 == null ? null : Map.copyOf(expectedSha256);
    }

    /**
     * This scan, with the SHA-256 (hex) each file must hash to by its relative path: a save of
     * it computes each file's SHA-256 as it reads it, and before it writes its manifest, refuses
     * with {@link InvalidInputException} a file that hashes otherwise, or that has no expected
     * hash; nothing is committed. For files checked once already that something may have
     * changed since with their size unchanged (an import's unpacked archive, whose manifest
     * gives every file's hash: helper-94 rewrote one in place and the import committed it).
     */
    public SourceDir expecting(Map<String, String> sha256ByPath) {
        return new SourceDir(root, files, emptyDirectories, leftOut, took, sha256ByPath);
    }

    /**
     * This scan, with each file's mode (type and permission bits, as a manifest records it) taken
     * from {@code modeByPath} by its relative path instead of from the file: for files unpacked
     * from an archive whose manifest says what their modes were (an import saved every file as
     * 0644, the staging's default, where the archive recorded 0777, 0700 or 0000: helper-142). A
     * path not in the map, or mapped to 0 ("no mode recorded"), keeps the scanned mode.
     */
    public SourceDir withModes(Map<String, Integer> modeByPath) {
        List<SourceFile> moded = files.stream().map(f -> {
            Integer m = modeByPath.get(f.relative());
            return m == null || m == 0 ? f : new SourceFile(f.path(), f.relative(), f.size(), m, f.stamp());
        }).toList();
        return new SourceDir(root, moded, emptyDirectories, leftOut, took, expectedSha256);
    }

    /** Refuses {@code f}'s content, hashed to {@code sha256} by a save, if {@link #expecting} says otherwise. */
    void checkHash(String relative, String sha256) {
        if (expectedSha256 == null) {
            return;
        }
        String want = expectedSha256.get(relative);
        if (!sha256.equals(want)) {
            throw new InvalidInputException("file " + root.resolve(relative) + " hashed to " + sha256 + " as it was"
                    + " saved, " + (want == null ? "but no hash was expected for it" : "not " + want + " as expected")
                    + ": it changed after it was checked; nothing was committed");
        }
    }

    /** The directory scanned, as it was given. */
    public Path root() {
        return root;
    }

    /** How long the scan took: a save given this scan counts it in its scan time. */
    Duration took() {
        return took;
    }

    /** How many files a save of it holds (0: only empty directories, or nothing). */
    public int fileCount() {
        return files.size();
    }

    /** Each regular file's size in bytes by its path relative to the source ({@code a/b.bin}), sorted. */
    public java.util.SortedMap<String, Long> sizes() {
        java.util.SortedMap<String, Long> m = new java.util.TreeMap<>();
        for (SourceFile f : files) {
            m.put(f.relative(), f.size());
        }
        return m;
    }

    /** The regular files, sorted by relative path. */
    List<SourceFile> files() {
        return files;
    }

    /** Directories below the source with nothing in them ({@code a/b/}), sorted; a checkpoint does not recreate them. */
    List<String> emptyDirectories() {
        return emptyDirectories;
    }

    /**
     * What an interrupted ckpt command left below the source, by relative path, sorted, and
     * not saved: a restore's {@code .ckpt-<12 hex>.tmp}, {@code .old} and {@code .journal} files, an import's or
     * export's {@code .ckpt-<12 hex>-import/} or {@code -export/} directory. Empty for a scan
     * of everything ({@link #scan(Path, boolean)}).
     */
    public List<String> leftOut() {
        return leftOut;
    }

    /** Whether {@code name} is one that only an interrupted ckpt command leaves: see {@link #leftOut()}. */
    static boolean ckptLeftover(String name, boolean directory) {
        return directory ? TempNames.isStaging(name) : TempNames.matches(name, ".tmp") || TempNames.matches(name, ".old")
                || TempNames.matches(name, ".journal");
    }

    /**
     * Walks {@code dir} as a save does and writes nothing: throws the {@link InvalidInputException}
     * a save of it would, naming every entry it refuses. For callers that must know before they
     * claim a run (a refused save must not fence the run's writer); such a caller hands the
     * result to the save ({@link SaveRequest#withScan}), which then does not walk the directory
     * again. Each file's stamp (size, times, inode) is taken here, and every file is checked
     * against it before, after it is opened and after it is read, however long after the
     * scan the save starts.
     */
    public static SourceDir scan(Path dir) {
        return scan(dir, true);
    }

    /**
     * {@link #scan(Path)}; {@code leaveOutLeftovers} false keeps what an interrupted ckpt
     * command left ({@link #leftOut()}) as any other file: for a directory whose every file
     * belongs to the checkpoint (an import's unpacked archive, which may hold such a name saved
     * before they were left out).
     */
    public static SourceDir scan(Path dir, boolean leaveOutLeftovers) {
        long t0 = System.nanoTime();
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            String tooLong = LocalFiles.tooLong(dir); // Java's check says "does not exist" of such a path (helper-127)
            // what to do, as every other refusal here says (helper-141: "does not exist" alone)
            throw new InvalidInputException("source directory " + dir + (tooLong == null ? " does not exist" + (dir.isAbsolute()
                    ? "" : " (relative to " + Path.of("").toAbsolutePath() + ")") + "; give the directory the checkpoint is"
                    + " in; nothing was saved" : ": " + tooLong));
        }
        if (!Files.isDirectory(dir)) { // a link to what does not exist or is no directory says where it points
            throw new InvalidInputException("source " + LocalFiles.notADirectory(dir)
                    + "; give the directory the checkpoint is in");
        }
        if (!Files.isReadable(dir)) {
            throw new InvalidInputException("source directory " + dir + " is not readable: give this user read and search"
                    + " permission on it (chmod u+rx); nothing was saved");
        }
        List<SourceFile> files = new ArrayList<>();
        List<String> empty = new ArrayList<>();
        List<String> leftOut = leaveOutLeftovers ? new ArrayList<>() : null;
        Refusals refused = new Refusals();
        walk(dir, files, empty, leftOut, refused);
        refused.throwIfAny(dir);
        files.sort(Comparator.comparing(SourceFile::relative));
        empty.sort(Comparator.naturalOrder());
        List<String> left = leftOut == null ? List.of() : leftOut.stream().sorted().toList();
        return new SourceDir(dir, files, empty, left, Duration.ofNanos(System.nanoTime() - t0), null);
    }

    /**
     * The entries below the source that cannot be saved: the whole tree is scanned, so one
     * push names every symbolic link, FIFO, unreadable file or unstorable name (the first
     * {@link #SHOWN}), not one per attempt.
     */
    private static final class Refusals {
        static final int SHOWN = 20; // in the order of the walk: each directory's entries by name, depth first
        private final List<String> messages = new ArrayList<>();
        private InvalidInputException first;
        private InvalidInputException stop;
        private int count;

        /** A refusal whose cure is the same for every entry: the scan ends, and it alone is reported. */
        void stop(InvalidInputException e) {
            stop = e;
        }

        boolean stopped() {
            return stop != null;
        }

        void add(InvalidInputException e) {
            if (count++ < SHOWN) {
                // the list's heading says nothing was saved: not once more on each line
                messages.add(e.getMessage().replaceFirst("[;:,]? *nothing was saved$", ""));
            }
            if (first == null) {
                first = e;
            }
        }

        void throwIfAny(Path dir) {
            if (stop != null) {
                throw stop;
            }
            if (count == 1) {
                throw first;
            }
            if (count > 1) {
                throw new InvalidInputException(count + " entries below " + dir + " cannot be saved, and nothing was"
                        + " saved" + (count > SHOWN ? " (the first " + SHOWN + " are listed)" : "")).listing(messages);
            }
        }
    }

    /**
     * Walks the tree depth first, each directory's entries by name (the refusals' order), with
     * a stack of its own: a tree thousands of levels deep would overflow the thread's stack
     * if the walk recursed.
     */
    private static void walk(Path root, List<SourceFile> files, List<String> empty, List<String> leftOut, Refusals refused) {
        Deque<Level> stack = new ArrayDeque<>();
        open(root, "", stack, empty, refused);
        while (!stack.isEmpty() && !refused.stopped()) {
            Level level = stack.peek();
            if (!level.entries().hasNext()) {
                stack.pop();
                continue;
            }
            Path p = level.entries().next();
            try {
                String dir = entry(p, level.prefix(), files, leftOut, refused);
                if (dir != null) {
                    open(p, dir, stack, empty, refused);
                }
            } catch (InvalidInputException e) {
                refused.add(e);
            }
        }
    }

    /** A directory being walked: its entries not yet visited, and its path below the source ({@code a/b/}). */
    private record Level(Iterator<Path> entries, String prefix) {
    }

    /** Lists {@code dir} (its entries by name) onto the walk's stack; a directory that cannot be listed is refused. */
    private static void open(Path dir, String prefix, Deque<Level> stack, List<String> empty, Refusals refused) {
        List<Path> list = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(list::add);
        } catch (AccessDeniedException e) {
            // a directory needs search (x) as well as read to be saved: u+r alone was not enough (helper-142)
            refused.add(new InvalidInputException("cannot list directory " + dir + ": permission denied; nothing was"
                    + " committed: give the user running the save read and search access to it (chmod u+rx, or a+rx),"
                    + " or run the save as the directory's owner"));
            return;
        } catch (IOException | RuntimeException e) {
            refused.add(new InvalidInputException("cannot list directory " + dir + ": " + reasonOf(e), e));
            return;
        }
        if (list.isEmpty() && !prefix.isEmpty()) {
            empty.add(prefix);
        }
        list.sort(null); // by name: the refusals are listed in a stable, readable order
        stack.push(new Level(list.iterator(), prefix));
    }

    /**
     * Adds a regular file, or returns the prefix of a directory to walk into (null for a file);
     * refuses anything else. A ckpt command's leftover goes to {@code leftOut} instead, unless
     * that is null.
     */
    private static String entry(Path p, String prefix, List<SourceFile> files, List<String> leftOut, Refusals refused) {
        if (!checkName(p, refused)) {
            return null;
        }
        String rel = prefix + p.getFileName().toString();
        Map<String, Object> a = attributes(p);
        int type = ((Integer) a.get("mode")) & S_IFMT;
        if (leftOut != null && (type == S_IFDIR || type == S_IFREG) && ckptLeftover(p.getFileName().toString(), type == S_IFDIR)) {
            leftOut.add(type == S_IFDIR ? rel + "/" : rel);
            return null;
        }
        if (type == S_IFDIR) {
            return rel + "/";
        } else if (type == S_IFREG) {
            checkStorable(p, rel);
            if (!Files.isReadable(p)) {
                throw unreadable(p, null);
            }
            // the type bit kept, so a file of mode 0000 is recorded as such, not as 0, "no mode recorded" (restored
            // with the default mode, wider than it was)
            files.add(new SourceFile(p, rel, (Long) a.get("size"), S_IFREG | ((Integer) a.get("mode")) & 0777, stampOf(a)));
            return null;
        } else {
            throw new InvalidInputException(dev.ckpt.store.util.Printable.of(p.toString()) + " " + describeOther(p, type) + "; a checkpoint holds regular files only: "
                    + (type == S_IFLNK && Files.isRegularFile(p) ? "replace the link with a copy of the file it points to"
                    + " (cp -L), or remove it," : "remove it,") + " and save again; nothing was saved");
        }
    }

    /**
     * Called once before the first file is read. If some file was changed less than
     * {@link #RACY_NANOS} ago, a write in the same clock tick may not have moved its
     * timestamps yet: wait until the clock is past that, and refuse a file whose stamp moved
     * meanwhile (something is still writing it). Costs at most one short wait per save
     * (the trainer's freshly staged files), nothing for files older than that.
     */
    static void settle(List<SourceFile> files) {
        long now = nowNanos();
        long newest = Long.MIN_VALUE;
        for (SourceFile f : files) {
            long t = f.stamp().newest().to(TimeUnit.NANOSECONDS);
            if (t <= now + RACY_NANOS && t > newest) { // a timestamp further ahead is clock skew: waiting cannot help
                newest = t;
            }
        }
        long wait = newest == Long.MIN_VALUE ? 0 : newest + RACY_NANOS - now;
        if (wait <= 0) {
            return;
        }
        try {
            TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("save interrupted", e);
        }
        for (SourceFile f : files) {
            if (f.stamp().newest().to(TimeUnit.NANOSECONDS) > now - RACY_NANOS) {
                checkUnchanged(f);
            }
        }
    }

    /** Refuses {@code f} if its stamp differs from the one taken at the scan. */
    static void checkUnchanged(SourceFile f) {
        Stamp now;
        try {
            now = stamp(f.path());
        } catch (IOException e) {
            // an I/O error's message is often the path alone: its reason in words (a directory above the file
            // that lost its search permission gives "permission denied")
            throw new InvalidInputException("cannot read the attributes of " + f.path() + ": " + LocalFiles.reason(e)
                    + "; nothing was committed: save again once it can be read", e);
        }
        if (now == null) {
            throw new InvalidInputException("file " + f.path() + " disappeared while it was being saved; nothing was"
                    + " committed: save again once whatever writes the directory has finished");
        }
        Stamp was = f.stamp();
        if (now.equals(was)) {
            return;
        }
        String other = notAFile(f.path()); // first: a new FIFO may get the deleted file's inode number
        String what = other != null ? "it was replaced by " + other
                : !Objects.equals(now.inode(), was.inode()) ? "it was replaced by another file"
                : now.size() != was.size() ? "its size went from " + was.size() + " to " + now.size() + " bytes"
                : !now.mtime().equals(was.mtime()) ? "its modification time moved from " + was.mtime() + " to " + now.mtime()
                : "its change time moved from " + was.ctime() + " to " + now.ctime();
        throw new InvalidInputException("file " + f.path() + " changed while it was being saved (" + what
                + "); nothing was committed: save again once whatever writes it has finished");
    }

    /**
     * Refuses what {@code ch} opened at {@code f}'s path, right after the open, if it cannot
     * be the file the scan found: its size differs. A FIFO, a device or a socket that took the
     * file's place between the check before the open and the open has size 0 (Linux's
     * {@code fstat}, even with bytes in a FIFO), and a read from it could wait for ever (a FIFO
     * with a writer that writes nothing). One {@code fstat} of the open file: a stamp of the
     * path here ({@link #checkUnchanged}: an {@code lstat} with a path lookup, and a map of
     * attributes) cost about 0.1 CPU s more per 10,000-file push (docs/benchmarks.md, "Small
     * files: one stat less per file"). A regular file of the same size that took the
     * file's place is harmless to read and is found by the check after the read, as a path
     * check here would find it (neither proves what was opened: the JDK has no {@code fstat}
     * of a channel's inode). An empty file is never read.
     */
    static void checkOpened(FileChannel ch, SourceFile f) throws IOException {
        long size = ch.size();
        if (size != f.size()) {
            checkUnchanged(f); // names what stands at the path now, if it is not the file
            throw new InvalidInputException("file " + f.path() + " changed while it was being saved (what was opened"
                    + " has " + size + " bytes, the file had " + f.size() + "); nothing was committed: save again once"
                    + " whatever writes it has finished");
        }
    }

    /** An I/O error's reason in words (its message is often the path alone); a runtime error's message. */
    private static String reasonOf(Exception e) {
        return e instanceof IOException io ? LocalFiles.reason(io) : String.valueOf(e.getMessage());
    }

    /** What stands at {@code p} if not a regular file: "a FIFO (named pipe)", "a directory", "a symbolic link", ...; else null. */
    private static String notAFile(Path p) {
        String kind = NonFiles.kindAt(p, LinkOption.NOFOLLOW_LINKS);
        return kind != null ? kind : Files.isSymbolicLink(p) ? "a symbolic link" : null;
    }

    private static long nowNanos() {
        Instant i = Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    /** The file's stamp now, or null if it no longer exists. */
    static Stamp stamp(Path p) throws IOException {
        try {
            return stampOf(attributes0(p));
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFIFO = 0010000;
    private static final int S_IFSOCK = 0140000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFBLK = 0060000;

    private static String describeOther(Path p, int type) {
        switch (type) {
            case S_IFLNK:
                String target;
                try {
                    target = Files.readSymbolicLink(p).toString();
                } catch (IOException | RuntimeException e) {
                    target = "?";
                }
                return "is a symbolic link (to " + target + (Files.exists(p) ? "" : ", which does not exist or is a loop of"
                        + " links") + ")";
            case S_IFIFO:
                return "is a FIFO (named pipe)";
            case S_IFSOCK:
                return "is a socket";
            case S_IFCHR:
                return "is a character device";
            case S_IFBLK:
                return "is a block device";
            default:
                return "is not a regular file";
        }
    }

    /** What to do about a source file this user cannot read: every file of a checkpoint is saved, or none. */
    static final String UNREADABLE = "; nothing was committed: give the user running the save read access to it"
            + " (chmod u+r, or a+r), or run the save as the file's owner";

    /**
     * Whether {@code dir}'s mode denies this user search (x): the owner's bit when this user owns
     * it, else neither group nor others having it (a group bit this user may not have is not
     * judged). By the mode, not access(2), which grants root everything.
     */
    static boolean unsearchable(Path dir) {
        try {
            java.nio.file.attribute.PosixFileAttributes a = Files.readAttributes(dir,
                    java.nio.file.attribute.PosixFileAttributes.class);
            Set<java.nio.file.attribute.PosixFilePermission> p = a.permissions();
            return a.owner().getName().equals(System.getProperty("user.name"))
                    ? !p.contains(java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE)
                    : !p.contains(java.nio.file.attribute.PosixFilePermission.GROUP_EXECUTE)
                    && !p.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The error for a file whose read or look-up was denied: its directory's missing search
     * permission (x) when that is the cause, which "give read access to it" did not mend for a
     * file already readable (helper-122), else the file's read permission.
     */
    static InvalidInputException unreadable(Path file, Throwable cause) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null && unsearchable(dir)) {
            Path shown = file.getParent() != null ? file.getParent() : dir;
            return new InvalidInputException("cannot read file " + dev.ckpt.store.util.Printable.of(file.toString()) + ": permission denied, because its directory "
                    + dev.ckpt.store.util.Printable.of(shown.toString()) + " cannot be searched (no x permission for this user); nothing was committed: chmod u+x "
                    + shown + " (or a+x), or run the save as the directory's owner", cause);
        }
        return new InvalidInputException("cannot read file " + dev.ckpt.store.util.Printable.of(file.toString()) + ": permission denied" + UNREADABLE, cause);
    }

    private static Map<String, Object> attributes(Path p) {
        try {
            return attributes0(p);
        } catch (AccessDeniedException e) {
            throw unreadable(p, null);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("file " + dev.ckpt.store.util.Printable.of(p.toString()) + " disappeared while the directory was being scanned; save again");
        } catch (IOException e) {
            throw new InvalidInputException("cannot read the attributes of " + p + ": " + LocalFiles.explain(e), e);
        }
    }

    /** size, lastModifiedTime, mode (type and permission bits), and ctime and inode where the platform has them. */
    private static Map<String, Object> attributes0(Path p) throws IOException {
        try {
            return Files.readAttributes(p, "unix:size,lastModifiedTime,ctime,ino,dev,mode", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            // not a Unix file system: the basic attributes, the type from them, permissions as far as known
            BasicFileAttributes b = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            int type = b.isRegularFile() ? S_IFREG : b.isDirectory() ? S_IFDIR : b.isSymbolicLink() ? S_IFLNK : 0;
            return Map.of("size", b.size(), "lastModifiedTime", b.lastModifiedTime(), "mode", type | permissions(p),
                    "ino", Objects.requireNonNullElse(b.fileKey(), ""));
        }
    }

    private static Stamp stampOf(Map<String, Object> a) {
        Object inode = a.containsKey("dev") ? a.get("dev") + ":" + a.get("ino") : a.get("ino");
        return new Stamp((Long) a.get("size"), (FileTime) a.get("lastModifiedTime"), (FileTime) a.get("ctime"), inode);
    }

    private static int permissions(Path p) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
            int mode = 0;
            for (PosixFilePermission perm : perms) {
                mode |= 1 << (8 - perm.ordinal());
            }
            return mode;
        } catch (UnsupportedOperationException | IOException e) {
            return 0644;
        }
    }

    /**
     * Refuses a name the JVM cannot read back exactly: encoding the decoded name must give
     * the same bytes (Unix paths compare by bytes), else the name was decoded lossily. A name
     * that is not UTF-8 is refused (thrown, listed with the others); under a JVM that does not
     * decode names as UTF-8 the scan stops instead ({@link Refusals#stop}): returns false.
     */
    private static boolean checkName(Path p, Refusals refused) {
        Path name = p.getFileName();
        boolean exact;
        try {
            exact = name.getFileSystem().getPath(name.toString()).equals(name);
        } catch (InvalidPathException e) {
            exact = false;
        }
        if (exact) {
            return true;
        }
        String shown = p.toString().replace('\uFFFD', '?');
        Charset cs = dev.ckpt.store.util.LocalFiles.fileNameCharset();
        if (cs.equals(StandardCharsets.UTF_8)) {
            throw new InvalidInputException("file name " + shown + " is not valid UTF-8 (shown with ? for the bytes that"
                    + " are not); a checkpoint stores names as UTF-8: rename it and save again; nothing was saved");
        }
        // the cure is one for every name (the locale), so this one stops the scan: no list of names that all say so
        refused.stop(new InvalidInputException("file name " + shown + " cannot be read exactly: this JVM decodes file"
                + " names as " + cs.name() + " (from the locale when it started, LANG/LC_ALL) and the name is not in it;"
                + " run under a UTF-8 locale, e.g. LC_ALL=C.UTF-8 (bin/ckpt-tool and bin/ckpt-train do this themselves);"
                + " nothing was saved"));
        return false;
    }

    /** Names the manifest's path rule refuses (a backslash, a drive letter, ...), with the reason in the user's terms. */
    private static void checkStorable(Path p, String rel) {
        try {
            SafePaths.check(rel);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("file " + p + " cannot be stored under its name: " + e.getMessage()
                    + "; nothing was saved");
        }
    }
}

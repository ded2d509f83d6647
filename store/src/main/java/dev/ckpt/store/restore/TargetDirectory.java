package dev.ckpt.store.restore;

import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.TempNames;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.Manifest;

import java.io.IOException;
import java.text.Normalizer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The restore target: checks every destination before anything is written, creates the
 * missing directories, and publishes the verified temporaries all or nothing.
 *
 * <p>"As it was" after a failed restore means: every file of the target has the content
 * (the same inode) it had before, files the checkpoint does not name were never touched,
 * and directories the restore created are removed again. When the publish phase fails
 * half-way, the files it already renamed into place are taken back: a destination that
 * existed before gets its old file back (kept aside as a hard link, or renamed aside where
 * no link can be made), one that did not is deleted. Only a crash of the process in the
 * middle of the publish phase can leave a mix, plus hidden {@code .ckpt-*.old} files
 * holding the replaced versions; every name keeps a file at every moment.
 *
 * <p>Nothing is ever written outside the target. A symbolic link anywhere below the target
 * on a checkpoint file's path (the file itself or a directory on the way) is refused before
 * anything is written; the target itself may be a link (it is what the user named). Where
 * the JDK offers {@link SecureDirectoryStream} (Linux, macOS), every file operation after
 * the check (create the temporary, chmod, rename, delete) is made relative to a directory
 * handle opened without following links, so a link swapped in after the check is not
 * followed either; before the publish each handle is checked to still be the directory at
 * its path, and a swapped one fails the restore naming it. Only creating a missing
 * directory goes by path (the JDK has no {@code mkdirat}); its parent is checked just
 * before, and its handle just after.
 */
final class TargetDirectory {
    /**
     * The rename that puts a file into place; a seam for tests. {@link #ATOMIC} means the
     * rename relative to the verified directory handle where there is one.
     */
    interface Mover {
        Mover ATOMIC = (from, to) -> Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

        void move(Path from, Path to) throws IOException;
    }

    /**
     * The suffix of a publish's journal, {@code .ckpt-<12 hex>.journal} at the target's top: one
     * JSON object a line, {@code {"old": ".ckpt-<hex>.old", "was": "f1129"}} (paths relative to
     * the target), written before each file is kept aside. A publish that ends, done or taken
     * back, deletes it; one killed leaves it, and the next restore says from it which file each
     * {@code .old} it finds was (helper-146: 6,528 of them after a kill -9, nothing saying whose).
     */
    static final String JOURNAL = ".journal";

    private static final com.fasterxml.jackson.databind.ObjectMapper JOURNAL_JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private final Path root;
    private final Manifest manifest;
    private final Mover mover;
    /** This publish's journal, opened at the first file it keeps aside; null before. */
    private FileChannel journal;
    private Path journalPath;
    private final List<Path> created = new ArrayList<>();
    /** Handles opened without following links once the directories exist; by path before. */
    private NoFollowDirectories handles;

    TargetDirectory(Path root, Manifest manifest, Mover mover) {
        this.root = root;
        this.handles = NoFollowDirectories.byPath(root);
        this.manifest = manifest;
        this.mover = mover;
        this.posix = root.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    /** An error about the target naming what failed, where, and why; nothing of it is left behind. */
    static InvalidInputException cannot(String what, Path root, IOException e) {
        return cannot(what, root, e, -1);
    }

    /**
     * As above; on a full disk it says how much the checkpoint needs, {@code checkpointBytes} in all
     * (-1: unknown), and how much is free (helper-103: a resume's restore said only "No space left").
     */
    static InvalidInputException cannot(String what, Path root, IOException e, long checkpointBytes) {
        return cannot(what, root, e, checkpointBytes, -1);
    }

    /**
     * As above, with the free space measured before the restore wrote anything ({@code freeBefore},
     * -1: unknown, then measured now): measured at the failure, it counted the restore's own
     * temporaries as taken and said "0 B is free" of a disk that had 5 MiB (helper-122).
     */
    static InvalidInputException cannot(String what, Path root, IOException e, long checkpointBytes, long freeBefore) {
        String explained = LocalFiles.explain(e);
        String room = "";
        if (checkpointBytes >= 0 && explained.contains("No space left on device")) {
            room = "; the checkpoint needs " + dev.ckpt.store.util.Sizes.human(checkpointBytes) + " there in all";
            long free = freeBefore >= 0 ? freeBefore : usableSpace(root);
            if (free >= 0) {
                room += ", " + dev.ckpt.store.util.Sizes.human(free) + (freeBefore >= 0 ? " was free when the restore began"
                        : " is free");
            }
        }
        // of a directory that never was, "as it was" read as if it had been (helper-142)
        return new InvalidInputException("cannot " + what + ": " + explained + room + " (restore into " + root
                + " abandoned; " + (java.nio.file.Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                ? "the directory is as it was)" : "nothing was written)"), e);
    }

    /** The usable space of the file system {@code p} (or its nearest existing ancestor) is on; -1 when unknown. */
    static long usableSpace(Path p) {
        try {
            Path at = p;
            while (at != null && !Files.exists(at)) {
                at = at.getParent();
            }
            return at == null ? -1 : Files.getFileStore(at).getUsableSpace();
        } catch (IOException | RuntimeException e) {
            return -1; // the free space is a detail of a message
        }
    }

    /** Free space where the target is, measured by {@link #check} before anything is written; -1 before or unknown. */
    private volatile long freeAtStart = -1;

    long freeAtStart() {
        return freeAtStart;
    }

    private InvalidInputException blocked(String what) {
        return new InvalidInputException("cannot restore checkpoint " + manifest.id() + " into " + root + ": " + what
                + "; nothing was written");
    }

    /**
     * Refuses, before anything is written, a target where some destination cannot be
     * written: a directory where a file goes, a file where a directory is needed, a
     * directory that is read-only or not writable by this user.
     */
    void check(List<Path> finals) {
        freeAtStart = usableSpace(root);
        Set<Path> files = new HashSet<>(finals);
        for (Path dest : finals) {
            for (Path p = dest.getParent(); p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
                if (files.contains(p)) {
                    throw new CorruptObjectException(manifest.key(), "manifest " + manifest.key() + " names '"
                            + root.relativize(p) + "' both as a file and as a directory; refused, nothing written");
                }
            }
        }
        // the target and the directories above it, up to the first that exists: a link there that leads nowhere, or a
        // file, is no way to the target (helper-122: a dangling link above it "appeared during the restore", a file
        // above it "already exists")
        for (Path a = root; a != null; a = a.getParent()) {
            if (Files.exists(a, LinkOption.NOFOLLOW_LINKS)) {
                if (!Files.isDirectory(a)) {
                    // a link that leads nowhere may loop: "create that directory" cannot mend a loop (helper-124)
                    throw blocked(LocalFiles.notADirectory(a) + (Files.exists(a) ? "; choose another target"
                            : "; make the link lead to a directory, or choose another target"));
                }
                break;
            }
        }
        Map<Path, Boolean> checkedDirs = new HashMap<>();
        Map<Path, Boolean> parentExists = new HashMap<>(); // each destination directory walked once
        Map<Path, Set<String>> names = new HashMap<>();    // what an existing one holds, listed once
        // every destination in the way, the first said in full and the rest named (helper-122: one at a time, a
        // restore into a directory of many had to be run once per name)
        List<String> inTheWay = new ArrayList<>();
        List<Path> othersInTheWay = new ArrayList<>();
        Set<Path> blockers = new HashSet<>(); // what blocks the way to a directory, said once for all below it
        for (Path dest : finals) {
            Path parent = dest.getParent();
            Boolean exists = parentExists.get(parent);
            if (exists == null) {
                Way way = checkWay(dest, checkedDirs);
                exists = way.reached();
                if (way.problem() != null && blockers.add(way.blocker())) {
                    if (inTheWay.isEmpty()) {
                        inTheWay.add(way.problem());
                    } else {
                        othersInTheWay.add(way.blocker());
                    }
                }
                parentExists.put(parent, exists);
            }
            if (!exists) {
                continue; // created later, with everything below it: nothing is in the way
            }
            Set<String> there = names.computeIfAbsent(parent, TargetDirectory::namesIn);
            if (there != null && !there.contains(nameKey(dest.getFileName().toString()))) {
                continue; // nothing of that name: no look at it needed (a restore into a new directory makes none)
            }
            String problem = null;
            if (Files.isSymbolicLink(dest)) {
                problem = link(dest, "where the checkpoint has the file " + shown(root.relativize(dest)));
            } else if (Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
                problem = shown(dest) + " is a directory where the checkpoint has the file " + shown(root.relativize(dest))
                        + "; move it away or restore into another directory";
            } else if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(dest, LinkOption.NOFOLLOW_LINKS)) {
                // a FIFO, socket or device: replaced without a word, and counted as "replacing a file" (helper-122);
                // a push refuses them too
                String kind = LocalFiles.kindOf(dest);
                problem = shown(dest) + " is " + kind + (kind.startsWith("not") ? ", and" : "") + " where the checkpoint has"
                        + " the file " + shown(root.relativize(dest)) + "; move it away or restore into another directory";
            }
            if (problem != null) {
                if (inTheWay.isEmpty()) {
                    inTheWay.add(problem);
                } else {
                    othersInTheWay.add(dest);
                }
            }
        }
        if (!inTheWay.isEmpty()) {
            throw blocked(inTheWay.get(0) + alsoInTheWay(othersInTheWay));
        }
    }

    /** "; also in the way: a, b, c and 2 more" for the destinations after the first, or "". */
    private String alsoInTheWay(List<Path> others) {
        if (others.isEmpty()) {
            return "";
        }
        int shown = Math.min(3, others.size());
        StringBuilder b = new StringBuilder("; also in the way: ");
        for (int i = 0; i < shown; i++) {
            b.append(i == 0 ? "" : ", ").append(dev.ckpt.store.util.Printable.of(root.relativize(others.get(i)).toString()));
        }
        if (others.size() > shown) {
            b.append(" and ").append(others.size() - shown).append(" more");
        }
        return b.toString();
    }

    /**
     * Checks the way from the root to {@code dest}'s directory: no link on it, no file where
     * a directory goes, the deepest existing directory writable (each checked once, recorded
     * in {@code checkedDirs}). Returns whether {@code dest}'s directory exists.
     */
    /**
     * The way to {@code dest}'s directory: whether it exists to the end ({@code reached}), or
     * what blocks it ({@code blocker}, said as {@code problem}): a link or something other
     * than a directory where the checkpoint needs one.
     */
    private record Way(boolean reached, Path blocker, String problem) {
    }

    private Way checkWay(Path dest, Map<Path, Boolean> checkedDirs) {
        Path existing = null;
        boolean reached = false;
        for (Path p = root; ; ) {
            if (!p.equals(root) && Files.isSymbolicLink(p)) {
                return new Way(false, p, link(p, "on the way to " + shown(root.relativize(dest))));
            }
            if (!Files.exists(p)) {
                break; // created later, with everything below it
            }
            if (!Files.isDirectory(p)) {
                // a FIFO or a device is no "file" (helper-124)
                String kind = Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? "a file" : LocalFiles.kindOf(p);
                return new Way(false, p, shown(p) + " is " + kind + (kind.startsWith("not") ? ", and" : "")
                        + " where the checkpoint needs a directory (for " + shown(root.relativize(dest))
                        + "); move it away or restore into another directory");
            }
            existing = p;
            if (p.equals(dest.getParent())) {
                reached = true;
                break;
            }
            p = p.resolve(dest.getParent().getName(p.getNameCount()));
        }
        if (existing == null) {
            existing = nearestExistingAncestor(root);
        }
        if (existing != null && checkedDirs.putIfAbsent(existing, Boolean.TRUE) == null) {
            String why = LocalFiles.notWritableReason(existing);
            if (why != null) {
                throw blocked("directory " + shown(existing) + " is not writable (" + why + ")"
                        + LocalFiles.hint(why).replace("use another directory", "restore into another directory"));
            }
        }
        return new Way(reached, null, null);
    }

    /** A path as a message shows it: one line, whatever its name holds (helper-127: a line feed split the message). */
    private static String shown(Path p) {
        return dev.ckpt.store.util.Printable.of(p.toString());
    }

    /**
     * The {@link #nameKey}s of the names in directory {@code dir}; null when it cannot be
     * listed (then each destination is looked at).
     */
    private static Set<String> namesIn(Path dir) {
        Set<String> names = new HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                names.add(nameKey(p.getFileName().toString()));
            }
            return names;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * A name as a filesystem that ignores case or Unicode normalization may match it (APFS,
     * ext4 with casefold): NFKC, upper then lower case. Two names with one key may be one
     * entry there, so a destination whose key is listed is looked at; the key only ever
     * causes a look, never skips one a lookup by path would make.
     */
    static String nameKey(String name) {
        return Normalizer.normalize(name, Normalizer.Form.NFKC).toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT);
    }

    /** A link in the target, where it points and what to do: a restore never follows one. */
    private static String link(Path p, String where) {
        String to;
        try {
            to = " (to " + shown(Files.readSymbolicLink(p)) + ")";
        } catch (IOException | UnsupportedOperationException e) {
            to = "";
        }
        return shown(p) + " is a symbolic link" + to + " " + where + "; a restore never follows links inside its target,"
                + " remove the link or restore into another directory";
    }

    private static Path nearestExistingAncestor(Path p) {
        for (Path a = p; a != null; a = a.getParent()) {
            if (Files.isDirectory(a)) {
                return a;
            }
        }
        return null;
    }

    /** Creates the missing directories of every destination, remembering which, so a failure can remove them. */
    void createDirectories(List<Path> finals) {
        // each directory once: a lookup per file (10,000 files of one directory) was 35 ms of a restore's main thread
        java.util.Set<Path> distinct = new java.util.LinkedHashSet<>();
        distinct.add(root);
        for (Path dest : finals) {
            distinct.add(dest.getParent());
        }
        List<Path> dirs = new ArrayList<>(distinct);
        for (Path dir : dirs) {
            for (int attempt = 0; ; attempt++) {
                try {
                    createMissing(dir);
                    break;
                } catch (NoSuchFileException e) {
                    // A parent another rank made was removed again when its restore failed: start this
                    // directory over (a few times; a parent that keeps vanishing is an error).
                    if (attempt == 3) {
                        throw cannot("create directory " + dir, root, e);
                    }
                }
            }
        }
        openHandles(dirs);
    }

    /** Creates {@code dir} and its missing parents, top down; a directory another rank made first is used, not owned. */
    private void createMissing(Path dir) throws NoSuchFileException {
        List<Path> missing = new ArrayList<>();
        for (Path p = dir; p != null && !isDirectory(p); p = p.getParent()) {
            missing.add(0, p);
        }
        for (Path p : missing) {
            if (p.startsWith(root) && !p.equals(root) && !p.getParent().equals(root)
                    && Files.isSymbolicLink(p.getParent())) {
                throw changed(p.getParent());
            }
            try {
                Files.createDirectory(p);
                created.add(p);
            } catch (FileAlreadyExistsException e) {
                if (!isDirectory(p)) {
                    throw Files.isSymbolicLink(p) ? changed(p) : cannot("create directory " + p, root, e);
                }
            } catch (NoSuchFileException e) {
                throw e;
            } catch (IOException e) {
                if (Files.isSymbolicLink(p)) {
                    throw changed(p);
                }
                throw cannot("create directory " + p, root, e);
            }
        }
    }

    /** The root may be a link (the user named it); below it only real directories count. */
    private boolean isDirectory(Path p) {
        return p.startsWith(root) && !p.equals(root) ? Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                : Files.isDirectory(p);
    }

    private InvalidInputException changed(Path p) {
        return new InvalidInputException("cannot restore checkpoint " + manifest.id() + " into " + root + ": "
                + link(p, "appeared during the restore") + "; nothing was written outside " + root
                + " and the restore was abandoned");
    }

    /**
     * Opens a handle on every destination directory, each relative to its parent's and
     * without following links (O_NOFOLLOW), so a link swapped in later is never followed.
     */
    private void openHandles(List<Path> dirs) {
        try {
            handles = NoFollowDirectories.open(root);
        } catch (IOException e) {
            throw cannot("open directory " + root, root, e);
        }
        if (handles.secure()) {
            for (Path dir : dirs) {
                handle(dir);
            }
        }
    }

    private void handle(Path dir) {
        try {
            handles.handle(dir);
        } catch (IOException e) {
            if (Files.isSymbolicLink(dir)) {
                throw changed(dir);
            }
            throw cannot("open directory " + dir, root, e);
        }
    }

    /**
     * Opens a new temporary file for writing in {@code dir}, never through a link. One
     * create at a time per directory: a create holds the directory's lock in the kernel,
     * and on a disk where finding a free inode is slow (ext4 without a journal skips the
     * inodes freed in the last minutes) the other threads' creates spun on that lock
     * (a fifth of a 10,000-file restore's CPU time); here they wait without spinning.
     * Created with the permissions {@link FileModes} gives for the file's manifest
     * {@code mode} where the filesystem has POSIX permissions.
     */
    FileChannel createTemp(Path tmp, int mode) throws IOException {
        java.nio.file.attribute.FileAttribute<?>[] attrs = posix ? FileModes.createAttributes(mode)
                : new java.nio.file.attribute.FileAttribute<?>[0];
        synchronized (createLocks.computeIfAbsent(tmp.getParent(), d -> new Object())) {
            return handles.createNew(tmp, attrs);
        }
    }

    /** Whether the target's filesystem has POSIX permissions (a create can set them). */
    private final boolean posix;

    private final Map<Path, Object> createLocks = new java.util.concurrent.ConcurrentHashMap<>();

    /** Opens a temporary of this restore for reading (a chunk written once, read back), never through a link. */
    java.nio.channels.SeekableByteChannel openRead(Path tmp) throws IOException {
        return handles.openRead(tmp);
    }

    /** A temporary's attributes (its permissions, its file key), never through a link; null when they cannot be read (off POSIX). */
    java.nio.file.attribute.PosixFileAttributes attributes(Path tmp) {
        return handles.attributes(tmp);
    }

    /** Sets a temporary's permissions, never through a link; best effort off POSIX. */
    void setPermissions(Path tmp, Set<PosixFilePermission> perms) {
        handles.setPermissions(tmp, perms);
    }

    /** Deletes a file of this restore (a temporary or a new destination), never through a link. */
    void delete(Path p) throws IOException {
        handles.delete(p);
    }

    /**
     * What a restore killed earlier left in the directories this one wrote into: its
     * {@code .ckpt-<hex>.tmp} temporaries (partial files) and {@code .ckpt-<hex>.old} files
     * (versions it had renamed aside to replace them).
     */
    record Leftovers(List<Path> temporaries, List<Path> replacedVersions, Map<Path, Path> replacedFrom,
                     List<Path> journals) {
    }

    /** Whether the journal could not be made (a target whose top cannot be written): the publish goes on without. */
    private boolean noJournal;

    /**
     * Notes, before {@code aside} is made, that it keeps the file at {@code dest}; opens the journal
     * first. Best effort: a journal that cannot be made or written leaves the publish as it was
     * before journals (helper-148: a target whose top is immutable, its files in a writable
     * subdirectory, failed the restore).
     */
    private void journal(Path aside, Path dest) {
        if (noJournal) {
            return;
        }
        try {
            if (journal == null) {
                Path p = root.resolve(TempNames.next(JOURNAL));
                journal = FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                journalPath = p;
            }
            journalLine(aside, dest);
        } catch (IOException | RuntimeException e) {
            noJournal = true;
        }
    }

    private void journalLine(Path aside, Path dest) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode line = JOURNAL_JSON.createObjectNode();
        line.put("old", root.relativize(aside).toString());
        line.put("was", root.relativize(dest).toString());
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap((JOURNAL_JSON.writeValueAsString(line) + "\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            journal.write(b); // one write: in the kernel's hands before the link is made, so a kill keeps it
        }
    }

    /** Closes the journal, and deletes it if {@code done} (every file kept aside is deleted or back); best effort. */
    private void endJournal(boolean done) {
        if (journal == null) {
            return;
        }
        try {
            journal.close();
            if (done) {
                Files.deleteIfExists(journalPath);
            }
        } catch (IOException | RuntimeException ignored) {
            // a journal left is named by the next restore, with the files it lists
        }
        journal = null;
    }

    /**
     * The journals ({@link #JOURNAL}) at the target's top and what they say: each {@code .old}
     * file (absolute) and the file it was. An unreadable line or journal is skipped.
     */
    private Map<Path, Path> readJournals(List<Path> journals, Set<Path> restored) {
        Map<Path, Path> from = new HashMap<>();
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, p -> TempNames.matches(p.getFileName().toString(),
                JOURNAL))) {
            ds.forEach(found::add);
        } catch (IOException | RuntimeException e) {
            return from; // best effort: the .old files are named all the same
        }
        Path top = root.normalize();
        for (Path j : found) {
            // a checkpoint's own file of that name is what this restore wrote (helper-148: told to delete it)
            if (restored.contains(j) || !Files.isRegularFile(j, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            journals.add(j);
            String text;
            try {
                // bytes that are not UTF-8 spoil their line only (helper-148: one such journal hid the others)
                text = new String(Files.readAllBytes(j), java.nio.charset.StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                continue;
            }
            for (String line : text.split("\n")) {
                try {
                    com.fasterxml.jackson.databind.JsonNode n = JOURNAL_JSON.readTree(line);
                    if (n == null || !n.path("old").isTextual() || !n.path("was").isTextual()) {
                        continue;
                    }
                    Path old = root.resolve(n.get("old").asText()).normalize();
                    Path was = root.resolve(n.get("was").asText()).normalize();
                    // within the target only, and relative: a planted "../../etc/passwd" would be offered as the file
                    // to move an .old back over (helper-148)
                    if (Path.of(n.get("old").asText()).isAbsolute() || Path.of(n.get("was").asText()).isAbsolute()
                            || !old.startsWith(top) || !was.startsWith(top) || was.equals(top)) {
                        continue;
                    }
                    from.put(old, was);
                } catch (IOException | RuntimeException badLine) {
                    // the last line of a killed publish may be cut: the others still say theirs
                }
            }
        }
        journals.sort(null);
        return from;
    }

    /**
     * After a publish: finds the temporaries and replaced versions an interrupted restore left
     * beside the destinations, to be named to the user. Nothing is deleted: a temporary of
     * that name may belong to a restore running now into the same directory (ranks restoring
     * their parts side by side), and only the user knows none does; an {@code .old} file may
     * be the only copy of a replaced version. {@code checkpointFiles}: where the checkpoint's
     * own files go (all of them, not only those written): a file of the checkpoint named like a
     * temporary is never one.
     */
    Leftovers findLeftovers(List<Path> finals, java.util.Collection<Path> checkpointFiles) {
        Set<Path> restored = new HashSet<>(checkpointFiles);
        List<Path> temporaries = new ArrayList<>();
        List<Path> replaced = new ArrayList<>();
        for (Path dir : new TreeSet<>(finals.stream().map(Path::getParent).toList())) {
            List<Path> entries = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                ds.forEach(entries::add);
            } catch (IOException | RuntimeException e) {
                continue; // best effort: the restore itself is done
            }
            entries.sort(null);
            for (Path p : entries) {
                String name = p.getFileName().toString();
                boolean tmp = TempNames.matches(name, ".tmp");   // RestoreRun's temporaries
                boolean old = TempNames.matches(name, ".old");   // versions publish() renamed aside
                if (!tmp && !old || restored.contains(p) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    continue; // a checkpoint's own file of that name is what this restore wrote, not a leftover
                }
                (tmp ? temporaries : replaced).add(p);
            }
        }
        List<Path> journals = new ArrayList<>();
        Map<Path, Path> said = readJournals(journals, restored);
        Map<Path, Path> from = new java.util.TreeMap<>();
        for (Path old : replaced) {
            Path was = said.get(old.normalize());
            if (was != null) {
                from.put(old, was);
            }
        }
        return new Leftovers(temporaries, replaced, from, journals);
    }

    /** Renames within one directory: relative to its handle, or by path for the test seam. */
    private void rename(Path from, Path to, Mover how) throws IOException {
        if (handles.secure() && how == Mover.ATOMIC) {
            handles.rename(from, to);
        } else {
            how.move(from, to);
        }
    }

    /**
     * Before the publish: every directory handle must still be the directory at its path,
     * so a directory swapped for a link (or moved away) fails the restore instead of
     * publishing where the user will not find the files.
     */
    private void checkUnchanged() {
        handles.moved().ifPresent(dir -> {
            if (Files.isSymbolicLink(dir) && !dir.equals(root)) {
                throw changed(dir);
            }
            throw new InvalidInputException("cannot restore checkpoint " + manifest.id() + " into " + root + ": "
                    + dir + " was moved or replaced during the restore; nothing was written outside " + root
                    + ", restore again");
        });
    }

    /** Closes the directory handles, and a journal a publish that did not end left open (kept: it says whose). */
    void close() {
        endJournal(false);
        handles.close();
    }

    /** Removes the directories {@link #createDirectories} made, deepest first, if they are empty. */
    void removeCreatedDirectories() {
        for (int i = created.size() - 1; i >= 0; i--) {
            try {
                Path c = created.get(i);
                handles.deleteDirectory(c);
            } catch (DirectoryNotEmptyException ignored) {
                // someone else put something there: keep it
            } catch (IOException | RuntimeException ignored) {
                // best effort; an empty directory is all that can be left
            }
        }
        created.clear();
    }

    /**
     * A file renamed into place, its identity once there ({@code key}: null before it is or
     * when the filesystem has none), and where the file it replaced is kept until the whole
     * publish succeeded.
     */
    private record Published(Path dest, Path old, boolean oldIsLink, Object key) {
    }

    /**
     * Renames every temporary to its destination. If one fails, everything renamed before
     * it is taken back (the replaced files restored), and the error names the file and
     * the reason. {@code keys}: each temporary's file key where the caller has it (its
     * mode's lookup read it; a rename keeps it), else null and it is looked up after the
     * rename. A destination that already holds something is renamed aside first (one lookup
     * per file, right before its rename), to be put back if the publish fails; a list of
     * each directory's names taken once instead was tried and dropped: a file another
     * restore put there after the list was replaced without being kept (docs/benchmarks.md,
     * "Restore: per-file costs of the publish"). Returns how many destinations held a file that
     * the publish replaced.
     */
    int publish(List<Path> temps, List<Path> finals, List<Object> keys) {
        checkUnchanged();
        List<Published> done = new ArrayList<>();
        for (int i = 0; i < temps.size(); i++) {
            Path dest = finals.get(i);
            Path old = null;
            boolean link = false;
            try {
                if (handles.exists(dest)) {
                    Path aside = dest.resolveSibling(TempNames.next(".old"));
                    journal(aside, dest);
                    try {
                        if (handles.secure()) {
                            // a hard link aside, so the destination never goes missing: renamed aside, a kill before
                            // the rename into place left no file of that name (helper-122). No linkat in the JDK: the
                            // link is made by path and used only if the handle sees it beside the destination, as
                            // the same file; else renamed aside through the handle, never through a link
                            link = linkedAside(dest, aside);
                            if (!link) {
                                rename(dest, aside, Mover.ATOMIC);
                            }
                        } else {
                            try {
                                Files.createLink(aside, dest); // the destination never goes missing
                                link = true;
                            } catch (UnsupportedOperationException | IOException noLinks) {
                                Mover.ATOMIC.move(dest, aside);
                            }
                        }
                        // kept only once it is there: a rename aside that failed (an immutable file) left the file
                        // where it was, and taking back a rename that never was said the file was gone (helper-117)
                        old = aside;
                    } catch (NoSuchFileException gone) {
                        // another process (a second restore into this directory) moved it first:
                        // there is nothing left here to keep
                        link = false;
                    }
                }
                rename(temps.get(i), dest, mover);
                Object key = keys == null ? null : keys.get(i);
                done.add(new Published(dest, old, link, key != null ? key : keyOf(dest)));
            } catch (IOException e) {
                List<String> left = new ArrayList<>();
                if (old != null) {
                    undo(new Published(dest, old, link, null), false, left);
                }
                for (int j = done.size() - 1; j >= 0; j--) {
                    undo(done.get(j), true, left);
                }
                String what = "put " + root.relativize(dest) + " of checkpoint " + manifest.id() + " into place in "
                        + dest.getParent();
                Path kept = journalPath;
                endJournal(left.isEmpty());
                if (left.isEmpty()) {
                    throw new InvalidInputException("cannot " + what + ": " + LocalFiles.explain(e) + "; " + (done.isEmpty()
                            ? "no file had been put into place yet" : "the " + done.size() + " file(s) already put into"
                            + " place were taken back") + ", " + root + " is as it was", e);
                }
                throw new InvalidInputException("cannot " + what + ": " + LocalFiles.explain(e) + "; taking back the"
                        + " files already renamed failed for: " + String.join("; ", left) + (kept == null ? "" : " ("
                        + kept + " lists which file each .ckpt-*.old kept aside was)"), e);
            }
        }
        int replaced = 0;
        boolean allDeleted = true;
        for (Published p : done) {
            if (p.old() != null) {
                replaced++;
                try {
                    delete(p.old());
                } catch (IOException | RuntimeException ignored) {
                    allDeleted = false; // a hidden leftover, its journal kept to say whose; the restore itself succeeded
                }
            }
        }
        endJournal(allDeleted);
        return replaced;
    }

    /**
     * Whether a hard link {@code aside} to {@code dest} was made beside it: made by path, then
     * checked through the directory's handle (the same file key at both names). A link that
     * landed elsewhere (a directory swapped for a symbolic link meanwhile) or is not the same
     * file is not used: the caller renames the destination aside through the handle, which
     * replaces whatever stands at that name beside it.
     */
    private boolean linkedAside(Path dest, Path aside) throws IOException {
        Object key = handles.fileKey(dest);
        if (key == null) {
            throw new NoSuchFileException(dest.toString());
        }
        try {
            Files.createLink(aside, dest);
        } catch (UnsupportedOperationException | IOException noLinks) {
            return false; // a filesystem without hard links: renamed aside
        }
        return key.equals(handles.fileKey(aside));
    }

    private Object keyOf(Path p) {
        try {
            return handles.fileKey(p);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Takes one publish back; {@code renamed}: the new file is in place and must go, unless
     * another process replaced it since (then its file stays, and this one's replaced file
     * stays where it was kept, named in {@code left}).
     */
    private void undo(Published p, boolean renamed, List<String> left) {
        try {
            if (renamed && p.key() != null && !p.key().equals(keyOf(p.dest()))) {
                left.add(p.dest() + " (replaced by another process during this restore; left as it is"
                        + (p.old() != null ? ", its previous content is in " + p.old() : "") + ")");
                return;
            }
            if (p.old() == null) {
                if (renamed) {
                    delete(p.dest());
                }
            } else if (renamed || !p.oldIsLink()) {
                rename(p.old(), p.dest(), Mover.ATOMIC);
            } else {
                delete(p.old()); // the link only: the destination was never replaced
            }
        } catch (IOException | RuntimeException e) {
            left.add(p.dest() + " (" + (e instanceof IOException io ? LocalFiles.reason(io) : e.getMessage()) + (p.old() != null ? "; its previous content is in "
                    + p.old() : "") + ")");
        }
    }
}

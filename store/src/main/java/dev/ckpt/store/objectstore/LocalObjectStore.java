package dev.ckpt.store.objectstore;

import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.TempNames;
import dev.ckpt.store.util.NonFiles;
import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.ReadOnlyStoreException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An object store on a POSIX filesystem, for local disks and shared filesystems
 * (Lustre, NFS) that several machines mount.
 *
 * <p>Guarantees: every write goes to a temporary file in the target directory, is
 * fsynced, then published atomically, and the directory is fsynced; a reader never sees
 * a partial object and a crash leaves at most an invisible temporary file (names starting
 * with '.', which listings skip). {@link #putIfAbsent} publishes with a hard link, which
 * fails atomically when the name exists, so exactly one of any number of processes wins
 * without a check-then-act window. {@link #putIfMatch} holds an exclusive lock on a lock
 * file (POSIX {@code fcntl} via {@link FileChannel#tryLock()}, honoured across processes and
 * across NFSv4 clients) while it compares the ETag and renames; a lock another process holds
 * for 30 s fails the write naming that process (see {@link LocalLocks}). ETags are the MD5 of the
 * content, so they are stable across processes and restarts.
 *
 * <p>Requirements on the filesystem: hard links and POSIX record locks (Lustre: mount
 * with {@code flock}; NFSv3: lockd running).
 */
final class LocalObjectStore implements ObjectStore {
    private static final String LOCK_DIR = ".locks";
    /** FileChannel locks are per process; threads of one JVM serialise on these first. */
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path root;
    /** How long {@link #putIfMatch} waits for another process's lock (tests shorten it). */
    Duration lockPatience = LocalLocks.PATIENCE;
    /** Why this store cannot be written, or null when it can. */
    private final String readOnly;
    /** How this store's failures are said. */
    private final LocalErrors errors;

    LocalObjectStore(Path root) {
        this(root, false, true);
    }

    /**
     * Opens the store in {@code root}. With {@code create}, a writable store's directory is
     * created if missing; without it, or {@code readOnly}, a missing directory is refused
     * naming it. A directory that exists but cannot be written (a read-only mount, a
     * snapshot, no permission), or {@code readOnly}, opens a read-only store: every read
     * works, every write is refused with {@link ReadOnlyStoreException} naming the store.
     *
     * <p>Many ranks open one new store at once, and a failing command may remove an empty
     * store directory it created; so nothing here checks first and acts second: only what
     * {@code createDirectories} and the write probe find decides.
     */
    LocalObjectStore(Path root, boolean readOnly, boolean create) {
        this.root = root.toAbsolutePath().normalize();
        if (readOnly || !create) {
            if (!Files.isDirectory(this.root)) {
                String tooLong = LocalFiles.tooLong(this.root);
                throw new BadConfigurationException(Files.exists(this.root, LinkOption.NOFOLLOW_LINKS) // a dangling link too
                        ? "store " + LocalFiles.notADirectory(this.root) + NOT_A_STORE_DIRECTORY
                        : tooLong != null ? "cannot open store " + this.root + ": " + tooLong
                        : "no store at " + this.root + ": the directory does not exist; check the path"
                        + " (ckpt-tool init, push and import create a store)");
            }
            this.readOnly = readOnly ? "opened read-only" : LocalFiles.notWritableReason(this.root);
            this.errors = new LocalErrors(this.root, describe(), this.readOnly);
            return;
        }
        enclosingStore(this.root).ifPresent(outer -> {
            // helper-118: --store ckpt-store/manifests made a store among another's objects (its doctor then counted
            // the inner one's manifests as its own); push, restore and export already refuse a place inside a store
            throw new BadConfigurationException("cannot make a store in " + this.root + ": it is inside the store "
                    + outer + ", among that store's objects; give a directory outside it");
        });
        String reason;
        int attempt = 0;
        do { // removed by another process between creating and probing: create it again
            createDirectory();
            reason = LocalFiles.notWritableReason(this.root);
        } while (reason != null && !Files.isDirectory(this.root) && ++attempt < 3);
        this.readOnly = reason;
        this.errors = new LocalErrors(this.root, describe(), reason);
    }

    /**
     * What stands where the store at {@code root} keeps one of its directories ({@code chunks},
     * {@code manifests}, {@code gc}): "a file is where the store keeps a directory (PATH), …; move
     * it out of the store and try again", or null. The commands that write refuse such a store
     * before they start (helper-119: init said "initialized" and every save then failed); doctor
     * reports it among its checks instead.
     */
    static String obstructedDirectory(Path root) {
        for (String d : new String[]{"chunks", "manifests", "gc"}) {
            String blocked = LocalPlaces.blockedDirectory(root, root.resolve(d).resolve("x"));
            if (blocked != null) {
                return blocked;
            }
        }
        return null;
    }

    /**
     * The store that {@code dir} would lie inside, where {@code dir} holds no store of its own
     * (no {@code ROOT}): the nearest ancestor that {@linkplain #holdsStore holds one}, along the
     * path as written and along its deepest existing directory's real path (a link into a store
     * made one among its objects: helper-119). A few stats per ancestor; empty for a store that
     * exists (opening it is not making one).
     */
    static Optional<Path> enclosingStore(Path dir) {
        if (Files.exists(dir.resolve(Keys.ROOT), LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        for (Path a = dir.getParent(); a != null; a = a.getParent()) {
            if (holdsStore(a)) {
                return Optional.of(a);
            }
        }
        Path existing = dir;
        while (existing != null && !Files.isDirectory(existing)) {
            existing = existing.getParent();
        }
        try {
            for (Path a = existing == null ? null : existing.toRealPath(); a != null; a = a.getParent()) {
                if (!a.equals(dir) && holdsStore(a)) {
                    return Optional.of(a);
                }
            }
        } catch (IOException e) {
            // cannot be resolved: creating the directory says what is wrong
        }
        return Optional.empty();
    }

    /**
     * Whether {@code dir} holds a store: a {@code ROOT} file that reads as a ckpt ROOT (a JSON object
     * naming its format: a new store has nothing else), or one beside both {@code chunks/} and
     * {@code manifests/} (a damaged ROOT). A file called ROOT beside a {@code chunks/} directory alone
     * is not one (helper-119).
     */
    static boolean holdsStore(Path dir) {
        Path root = dir.resolve(Keys.ROOT);
        if (!Files.isRegularFile(root)) {
            return false;
        }
        if (Files.isDirectory(dir.resolve("chunks")) && Files.isDirectory(dir.resolve("manifests"))) {
            return true;
        }
        byte[] head = new byte[512];
        int n = 0;
        try (java.io.InputStream in = Files.newInputStream(root)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return false;
        }
        String start = new String(head, 0, n, java.nio.charset.StandardCharsets.UTF_8).stripLeading();
        return start.startsWith("{") && ROOT_FORMAT.matcher(start).find();
    }

    /** A ROOT's format field, as the first fields of every ROOT ckpt writes hold it. */
    private static final java.util.regex.Pattern ROOT_FORMAT = java.util.regex.Pattern.compile("\"format\"\\s*:");

    /** What to do about a store path that is a file: a checkpoint's file given where its store goes. */
    private static final String NOT_A_STORE_DIRECTORY = "; give the store's directory (or a URL: s3://BUCKET/PREFIX,"
            + " file:///PATH)";

    /**
     * Creates the store's directory if missing (a directory another rank made first is used;
     * one a failing command removed meanwhile is created again: a CI run saw "store … is not
     * a directory" for a new store's directory, round 28 of 30 of NewStoreRaceTest).
     */
    private void createDirectory() {
        try {
            LocalFiles.createDirectoriesAgain(root);
        } catch (FileAlreadyExistsException e) {
            throw new BadConfigurationException("store " + LocalFiles.notADirectory(root) + NOT_A_STORE_DIRECTORY, e);
        } catch (IOException e) {
            throw new BadConfigurationException("cannot create store directory " + root + ": " + LocalFiles.explain(e), e);
        }
    }

    /** Why the store cannot be written ("Read-only file system", ...), or empty when it can. */
    Optional<String> readOnlyReason() {
        return Optional.ofNullable(readOnly);
    }

    /**
     * What stands where this store's writes must go, each said as the refused write would say
     * it ("a directory is in its place (PATH) …; move it out of the store and try again"): at
     * {@code rootKey} (ROOT) or at its lock file under {@code .locks}; something other than a
     * directory at {@code .locks}, {@code manifests}, {@code chunks}, {@code gc}, {@code probe}
     * or a chunk fan-out directory ({@code chunks/ab}). Empty when nothing does. Nothing is
     * written; for {@code ckpt-tool doctor}, whose probe objects have lock files and
     * directories of their own.
     */
    List<String> obstructions(String rootKey) {
        return LocalPlaces.obstructions(root, path(rootKey), lockFile(rootKey), List.of(LOCK_DIR, "manifests", "chunks",
                "gc", "probe"));
    }

    /** See {@link ObjectStores#inPlaceOf}. */
    Optional<String> inPlaceOf(String key) {
        return Optional.ofNullable(LocalPlaces.inPlaceOf(root, path(key)));
    }

    Path lockFile(String key) {
        return root.resolve(LOCK_DIR).resolve(Keys.etagOf(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + ".lock");
    }

    Path root() {
        return root;
    }

    private Path path(String key) {
        return root.resolve(Keys.validate(key));
    }

    @Override
    public StoredObject get(String key) {
        Path p = path(key);
        try {
            byte[] data = LocalFiles.readAllBytes(p);
            return StoredObject.withEtagOf(key, data, Keys::etagOf); // an ETag only when asked: restores never ask
        } catch (IOException e) {
            throw readFailed(key, p, e);
        }
    }

    @Override
    public Optional<StoredBytes> getInto(String key, byte[] buffer) {
        Path p = path(key);
        try {
            int n = LocalFiles.readAllBytes(p, buffer);
            if (n >= 0) {
                return Optional.of(new StoredBytes(buffer, n));
            }
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (a.isRegularFile() && a.size() > buffer.length) {
                return Optional.empty(); // longer than the buffer: not read
            }
            // no file (a directory: refused as get refuses it, naming what stands there), or its size changed as it was
            // read: read whole, as get does
            byte[] data = LocalFiles.readAllBytes(p);
            return data.length > buffer.length ? Optional.empty() : Optional.of(new StoredBytes(data, data.length));
        } catch (IOException e) {
            throw readFailed(key, p, e);
        }
    }

    private RuntimeException readFailed(String key, Path p, IOException e) {
        // a directory is no object, as a prefix is none on S3; nor a FIFO, socket, device, or a link to nothing
        String displaced = LocalPlaces.displacement(p);
        if (displaced != null) {
            return NotFoundException.displaced(key, displaced);
        }
        return errors.translate(key, "read", e);
    }

    @Override
    public Optional<ObjectInfo> head(String key) {
        Path p = path(key);
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            byte[] data = LocalFiles.readAllBytes(p);
            return Optional.of(new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant(), Keys.etagOf(data)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            if (NonFiles.kindAt(p) != null || LocalPlaces.blockedDirectory(root, p) != null) {
                return Optional.empty(); // a directory is no object, as a prefix is none on S3; nor a FIFO...
            }
            throw errors.translate(key, "stat", e);
        }
    }

    /**
     * A stat: the content is not read (helper-110: a 3 GiB object in a chunk's place ran a save
     * out of memory). A symbolic link in an object's place is no object, as {@link #get} finds
     * (helper-111: a link to another chunk of the same size was taken as the chunk).
     */
    @Override
    public Optional<Long> sizeOf(String key) {
        Path p = path(key);
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return a.isRegularFile() ? Optional.of(a.size()) : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            if (NonFiles.kindAt(p) != null || LocalPlaces.blockedDirectory(root, p) != null) {
                return Optional.empty(); // as head: a directory, FIFO, socket or device is no object
            }
            throw errors.translate(key, "stat", e);
        }
    }

    @Override
    public String put(String key, byte[] data) {
        Path target = path(key);
        errors.checkWritable(key, "write");
        Path tmp = writeTemp(key, target, data);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            LocalFiles.fsyncDirectory(target.getParent());
            return Keys.etagOf(data);
        } catch (IOException e) {
            errors.refuseObstructed(key, target, "write", false);
            throw errors.publishFailure(key, tmp, e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        Path target = path(key);
        java.util.Objects.checkFromIndexSize(offset, length, data.length);
        if (Files.exists(target)) {
            errors.refuseObstructed(key, target, "write", false); // no object: not "already there"
            return PutResult.ALREADY_EXISTS; // cheap early answer; the link below is the real test
        }
        errors.checkWritable(key, "write");
        Path tmp = writeTemp(key, target, data, offset, length);
        try {
            Files.createLink(target, tmp);
            LocalFiles.fsyncDirectory(target.getParent());
            return PutResult.CREATED;
        } catch (FileAlreadyExistsException e) {
            errors.refuseObstructed(key, target, "write", false);
            return PutResult.ALREADY_EXISTS;
        } catch (UnsupportedOperationException e) {
            throw new BadConfigurationException("the filesystem of " + root
                    + " does not support hard links, which create-only writes need", e);
        } catch (IOException e) {
            throw errors.publishFailure(key, tmp, e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        Path target = path(key);
        errors.checkWritable(key, "replace");
        Path lockFile = lockFile(key);
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(lockFile, p -> new ReentrantLock());
        jvmLock.lock();
        try {
            errors.refuseObstructed(key, lockFile, "replace", true); // a FIFO there would hold the open (NonFiles ends that)
            try (FileChannel ch = openCreating(lockFile, StandardOpenOption.CREATE);
                 FileLock ignored = LocalLocks.take(ch, lockFile, key, describe(), lockPatience)) {
                String current;
                try {
                    current = Keys.etagOf(LocalFiles.readAllBytes(target));
                } catch (NoSuchFileException e) {
                    current = null;
                }
                if (current == null || !current.equals(expectedEtag)) {
                    throw new PreconditionFailedException(key, expectedEtag, current);
                }
                Path tmp = writeTemp(key, target, data);
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    LocalFiles.fsyncDirectory(target.getParent());
                } catch (IOException e) {
                    if (LocalLeftovers.gone(tmp, e)) {
                        throw LocalLeftovers.goneError(key, describe(), e);
                    }
                    throw e; // the refusals below
                } finally {
                    deleteQuietly(tmp);
                }
                return Keys.etagOf(data);
            }
        } catch (IOException e) {
            errors.refuseObstructed(key, target, "replace", false);
            errors.refuseObstructed(key, lockFile, "replace", true); // came while it was taken
            throw errors.translate(key, "conditionally replace", e);
        } finally {
            jvmLock.unlock();
        }
    }

    @Override
    public void delete(String key) {
        errors.checkWritable(key, "delete");
        Path p = path(key);
        try {
            if (Files.deleteIfExists(p)) {
                pruneEmptyParents(p.getParent());
            }
            if (ConditionalWriteProbe.isScratchKey(key)) {
                removeScratchLock(key);
            }
        } catch (IOException e) {
            throw errors.translate(key, "delete", e);
        }
    }

    /**
     * Removes the lock file of a probe's scratch object, and {@code .locks} if that leaves it
     * empty: a doctor of a directory that holds no store left {@code .locks/} there (helper-95).
     * Safe because a scratch key is random and used by one probe only, whose writes are over
     * when it deletes the key: no other process takes that lock. A writer whose {@code .locks}
     * goes between creating it and creating its lock file creates it again
     * ({@link #openCreating}). Best effort.
     */
    private void removeScratchLock(String key) {
        Path lock = lockFile(key);
        JVM_LOCKS.remove(lock);
        try {
            Files.deleteIfExists(lock);
            // only a real directory: a link at .locks (which doctor reports) leads to the store's lock files, and
            // unlinking it let the next writer make a new .locks while another held ROOT's lock (helper-96)
            if (Files.isDirectory(lock.getParent(), LinkOption.NOFOLLOW_LINKS)) {
                Files.delete(lock.getParent());
            }
        } catch (IOException e) {
            // not empty (the store's own lock files), or already gone: it stays
        }
    }

    /**
     * Removes the directories above a deleted object that it left empty ({@code manifests/<id>/}
     * of a checkpoint of several ranks, a chunk's fan-out directory), up to but not including
     * the key's first directory ({@code chunks/}, {@code manifests/}): on S3 a prefix without
     * objects is nothing, and here GC would otherwise leave one empty directory per dropped
     * checkpoint for every listing to walk. A directory holding anything (a writer's
     * temporary) is never removed; a writer whose directory goes between creating it and
     * creating its temporary creates it again ({@link #openCreating}).
     */
    private void pruneEmptyParents(Path dir) {
        // the store's own directories at its top stay, but probe/: a probe's scratch object was its only content, and a
        // doctor of a directory that holds no store left it there (a new-user tryout)
        while (dir != null && dir.startsWith(root) && !dir.equals(root)
                && (!root.equals(dir.getParent()) || dir.getFileName().toString().equals("probe"))
                && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) { // a link to a directory elsewhere stays
            try {
                Files.delete(dir);
            } catch (IOException e) {
                return; // not empty, already gone, or not ours to remove: the directories above are not empty either
            }
            dir = dir.getParent();
        }
    }

    @Override
    public Optional<IfMatchForm> ifMatchForm() {
        return Optional.empty();
    }

    /**
     * Removes the temporary files of writers killed mid-write last modified before
     * {@code writtenBefore} ({@link LocalLeftovers}) and the directories that leaves empty, and
     * the staging directories of imports and exports killed before then, with what they hold (counted as
     * their files).
     */
    @Override
    public Leftovers removeLeftovers(java.time.Instant writtenBefore, boolean dryRun) {
        Map<Path, Long> found;
        try {
            found = LocalLeftovers.find(root, writtenBefore);
        } catch (IOException e) {
            String where = e instanceof java.nio.file.FileSystemException f && f.getFile() != null ? f.getFile() : root.toString();
            throw StoreUnavailableException.needingAction("cannot look for the temporary files of interrupted writes in "
                    + where + ": " + LocalFiles.explain(e), e);
        }
        Leftovers removed = Leftovers.NONE;
        for (Map.Entry<Path, Long> f : found.entrySet()) {
            if (!dryRun) {
                if (readOnly != null) {
                    throw errors.readOnlyError(root.relativize(f.getKey()).toString(), "delete", null);
                }
                try {
                    if (!Files.deleteIfExists(f.getKey())) {
                        continue;
                    }
                } catch (IOException e) { // not through translate: a temporary's name is no key
                    throw StoreUnavailableException.needingAction("cannot remove " + f.getKey() + ", the temporary file"
                            + " of a write interrupted long ago: " + LocalFiles.explain(e), e);
                }
                pruneEmptyParents(f.getKey().getParent());
            }
            removed = removed.plus(f.getValue());
        }
        List<Path> staging;
        try {
            staging = TempNames.staleStaging(root, writtenBefore, TempNames::isStaging);
        } catch (IOException e) {
            return removed; // the store's top was just listed above: staging directories are a bonus, not GC's work
        }
        for (Path dir : staging) {
            removed = removeStaging(dir, writtenBefore, dryRun, removed);
        }
        return removed;
    }

    /**
     * Removes the staging directory {@code dir} of an import or export killed or stopped before
     * {@code writtenBefore} with all it holds, deepest first, adding its files to
     * {@code removed}. Best effort, never failing GC: a directory in it that cannot be read
     * leaves it whole, a removal that fails leaves the rest (uncounted), and a directory whose
     * modification time moved since it was found (its heartbeat: it runs again) is
     * left alone; GC tries again next time. An import or export whose files went anyway fails
     * rather than commit, or pack, fewer files ({@code ImportCommand}, {@code ExportCommand}).
     */
    private Leftovers removeStaging(Path dir, java.time.Instant writtenBefore, boolean dryRun, Leftovers removed) {
        String whose = "the staging directory of " + (TempNames.matches(dir.getFileName().toString(), TempNames.EXPORT_STAGING)
                ? "an export" : "an import") + " killed or stopped over an hour ago";
        Leftovers held;
        try {
            held = LocalLeftovers.held(dir);
            if (!TempNames.stale(dir, writtenBefore) || !dryRun && readOnly != null) {
                return removed;
            }
            if (!dryRun) {
                LocalFiles.deleteTree(dir);
            }
        } catch (IOException | java.io.UncheckedIOException e) { // unreadable, or changed under the walk
            IOException io = e instanceof java.io.UncheckedIOException u ? u.getCause() : (IOException) e;
            return removed.noting("could not remove " + dir + ", " + whose + ": " + LocalFiles.explain(io)
                    + "; gc tries again next time, or delete it: rm -r " + dev.ckpt.store.util.ShellWords.word(dir.toString()));
        }
        return removed.plus(held).noting((dryRun ? "would remove " : "removed ") + dir + ", " + whose + " ("
                + dev.ckpt.store.util.Sizes.count(held.files(), "file") + ", " + dev.ckpt.store.util.Sizes.human(held.bytes()) + ")");
    }

    /** Keys in key order, a directory at a time ({@link LocalListing}). */
    @Override
    public ObjectListing list(String prefix) {
        return () -> new LocalListing(root, prefix, errors::listFailure);
    }

    @Override
    public String describe() {
        return root.toUri().toString();
    }

    private Path writeTemp(String key, Path target, byte[] data) {
        return writeTemp(key, target, data, 0, data.length);
    }

    private Path writeTemp(String key, Path target, byte[] data, int offset, int length) {
        Path dir = target.getParent();
        Path tmp = dir.resolve(LocalLeftovers.nextName()); // never longer than a key's own name allows
        try {
            try (FileChannel ch = openCreating(tmp, StandardOpenOption.CREATE_NEW)) {
                ByteBuffer buf = ByteBuffer.wrap(data, offset, length);
                LocalFiles.writeFully(ch, buf);
                ch.force(true);
            }
            return tmp;
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw errors.translate(key, "write", e);
        }
    }

    /**
     * Opens {@code file} for writing with {@code create} ({@code CREATE_NEW} for a temporary,
     * {@code CREATE} for a lock file), creating any missing directory above it. A directory can
     * go between this process creating it and creating the file in it: a command that failed
     * may remove the empty store directory it created, and a delete removes the directories
     * it left empty ({@link #pruneEmptyParents}). The directory is then created again, up to
     * {@link #CREATE_ATTEMPTS} times ({@link LocalFiles#createDirectoriesAgain}).
     */
    private static FileChannel openCreating(Path file, StandardOpenOption create) throws IOException {
        for (int attempt = 1; ; attempt++) {
            LocalFiles.createDirectoriesAgain(file.getParent());
            try {
                return NonFiles.open(file, create, StandardOpenOption.WRITE);
            } catch (NoSuchFileException e) {
                if (attempt == CREATE_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /** How often {@link #openCreating} creates a directory that went meanwhile before it gives up. */
    private static final int CREATE_ATTEMPTS = 20;

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover temporary file is invisible to readers and listings
        }
    }
}

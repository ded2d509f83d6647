package dev.ckpt.store.util;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Local-directory housekeeping shared by the store, the tools and the trainer. */
public final class LocalFiles {

    private LocalFiles() {
    }

    /**
     * The most bytes one read or write of a heap buffer moves (256 KiB). The JDK moves a
     * heap buffer through a temporary direct buffer as large as the request, allocated,
     * zeroed and cached per thread: a whole chunk (up to several MiB) per read on each of
     * the 16 I/O threads is over 100 MB of fresh memory a run, each page faulted in and
     * zeroed (docs/benchmarks.md, "Fresh memory"). In slices of this size the temporary
     * stays small, for a few more system calls (about 4,000 per GB).
     */
    public static final int IO_SLICE = 256 << 10;

    /**
     * One read at {@code position} into {@code buf}, of at most {@link #IO_SLICE} bytes;
     * advances {@code buf}'s position by what was read. Returns the bytes read, or -1 at
     * the end of the file. Callers loop as for {@link FileChannel#read(ByteBuffer, long)}.
     */
    public static int read(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        ByteBuffer slice = slice(buf);
        int n = ch.read(slice, position);
        if (n > 0) {
            buf.position(buf.position() + n);
        }
        return n;
    }

    /** {@link #read(FileChannel, ByteBuffer, long)} at the channel's own position. */
    public static int read(ReadableByteChannel ch, ByteBuffer buf) throws IOException {
        ByteBuffer slice = slice(buf);
        int n = ch.read(slice);
        if (n > 0) {
            buf.position(buf.position() + n);
        }
        return n;
    }

    /**
     * One write at {@code position} from {@code buf}, of at most {@link #IO_SLICE} bytes;
     * advances {@code buf}'s position by what was written and returns that count.
     */
    public static int write(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        int n = ch.write(slice(buf), position);
        buf.position(buf.position() + n);
        return n;
    }

    /** {@link #write(FileChannel, ByteBuffer, long)} at the channel's own position. */
    public static int write(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        int n = ch.write(slice(buf));
        buf.position(buf.position() + n);
        return n;
    }

    /**
     * Reads into {@code buf} from {@code position} of the file, a slice at a time, until
     * {@code buf} is full or the file ends; {@code buf}'s position says how far it got.
     */
    public static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long start = buf.position();
        while (buf.hasRemaining() && read(ch, buf, position + buf.position() - start) > 0) {
            // until full or the end of the file
        }
    }

    /** {@link #readFully(FileChannel, ByteBuffer, long)} from the channel's own position. */
    public static void readFully(ReadableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining() && read(ch, buf) > 0) {
            // until full or the end of the file
        }
    }

    /** Writes all of {@code buf} at {@code position} of the file, a slice at a time. */
    public static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long start = buf.position();
        while (buf.hasRemaining()) {
            write(ch, buf, position + buf.position() - start);
        }
    }

    /** {@link #writeFully(FileChannel, ByteBuffer, long)} at the channel's own position. */
    public static void writeFully(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            write(ch, buf);
        }
    }

    /**
     * The whole of a file that does not change while it is read (a store's object, written
     * once under its name), read in {@link #IO_SLICE} slices; a file that turns out longer
     * or shorter than its size is read again by {@link Files#readAllBytes}.
     *
     * @throws FileSystemException when no file stands at {@code p} but a FIFO, socket or
     *         device ({@link NonFiles#kindAt}; its reason says which), without waiting on a FIFO
     */
    public static byte[] readAllBytes(Path p) throws IOException {
        try (FileChannel ch = openFile(p)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 8) {
                return Files.readAllBytes(p); // which says the file is too large
            }
            byte[] b = new byte[(int) size];
            return readWhole(ch, b, (int) size) ? b : Files.readAllBytes(p);
        }
    }

    /**
     * Reads the whole file at {@code p} into the start of {@code buffer} when it fits, as
     * {@link #readAllBytes(Path)} reads it into a new array; returns its length, or -1 when the
     * file is larger than {@code buffer} (then {@code buffer}'s bytes are unspecified).
     *
     * @throws FileSystemException as {@link #readAllBytes(Path)}
     */
    public static int readAllBytes(Path p, byte[] buffer) throws IOException {
        try (FileChannel ch = openFile(p)) {
            long size = ch.size();
            // shorter or longer than its size said: -1, and the caller reads it whole as readAllBytes(p) does
            return size <= buffer.length && readWhole(ch, buffer, (int) size) ? (int) size : -1;
        }
    }

    /** Opens the file at {@code p} to read, refusing (as {@link #readAllBytes(Path)} says) what is no file. */
    private static FileChannel openFile(Path p) throws IOException {
        FileChannel ch = NonFiles.open(p);
        try {
            String kind = ch.size() == 0 ? NonFiles.kindAt(p) : null; // these all report a size of 0
            if (kind != null) {
                throw new FileSystemException(p.toString(), null, kind + " stands there, not a file");
            }
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Reads {@code size} bytes into the start of {@code into}; false when the file holds fewer or more. */
    private static boolean readWhole(FileChannel ch, byte[] into, int size) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(into, 0, size);
        readFully(ch, buf, 0);
        return !buf.hasRemaining() && ch.read(ByteBuffer.allocate(1), size) <= 0;
    }

    private static ByteBuffer slice(ByteBuffer buf) {
        return buf.remaining() <= IO_SLICE ? buf.duplicate() : buf.slice(buf.position(), IO_SLICE);
    }

    /**
     * Deletes {@code p} and everything below it (links are removed, not followed); absent is fine.
     * By whole paths; where that fails (a path past the system's limit: "File name too long") and the JDK
     * offers {@link java.nio.file.SecureDirectoryStream} (Linux, macOS), by names relative to
     * open directories, so such a tree goes too (an export's staging of a checkpoint with
     * paths near the limit was left behind: helper-142).
     */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            IOException io = e instanceof IOException i ? i : ((java.io.UncheckedIOException) e).getCause();
            // the reason's words are the system's, in its locale: any such failure of a directory is tried again that way
            if (!(io instanceof FileSystemException) || io instanceof NoSuchFileException
                    || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                throw io;
            }
            // a path past the limit: by names relative to open directories (one open directory per level below p)
            try (java.nio.file.DirectoryStream<Path> top = Files.newDirectoryStream(p)) {
                if (!(top instanceof java.nio.file.SecureDirectoryStream<Path> secure)) {
                    throw io;
                }
                try {
                    deleteContents(secure);
                } catch (IOException again) {
                    io.addSuppressed(again);
                    throw io; // the first failure's reason: the one a whole path met
                }
            }
            Files.deleteIfExists(p);
        }
    }

    /** Deletes everything in {@code dir} by names relative to it, directories depth first. */
    private static void deleteContents(java.nio.file.SecureDirectoryStream<Path> dir) throws IOException {
        List<Path> names = new ArrayList<>();
        for (Path entry : dir) {
            names.add(entry.getFileName());
        }
        for (Path name : names) {
            boolean directory;
            try {
                directory = dir.getFileAttributeView(name, java.nio.file.attribute.BasicFileAttributeView.class,
                        LinkOption.NOFOLLOW_LINKS).readAttributes().isDirectory();
            } catch (NoSuchFileException gone) {
                continue;
            }
            if (directory) {
                try (java.nio.file.SecureDirectoryStream<Path> sub = dir.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
                    deleteContents(sub);
                }
                dir.deleteDirectory(name);
            } else {
                try {
                    dir.deleteFile(name);
                } catch (NoSuchFileException gone) {
                    // removed meanwhile: what was asked
                }
            }
        }
    }

    /**
     * Flushes a directory (its entries: a rename or create in it), best effort: some
     * filesystems cannot open or sync a directory, and a rename is atomic either way.
     */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // nothing more to do: see above
        }
    }

    /**
     * Why an I/O operation failed, in words and without Java class names: the operating
     * system's reason ("No space left on device", "Read-only file system", ...) where it
     * gave one.
     */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null && !f.getReason().isBlank()) {
            return f.getReason();
        }
        if (e instanceof NoSuchFileException) {
            return "does not exist";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "is a directory that is not empty";
        }
        if (e instanceof NotDirectoryException) {
            return "is not a directory";
        }
        if (e instanceof FileSystemException) {
            return "I/O error";
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? "I/O error" : m;
    }

    /** What to do about {@link #reason}: a hint for the common cases, else empty. */
    public static String hint(String reason) {
        String r = reason.toLowerCase(java.util.Locale.ROOT);
        if (r.contains("no space left")) {
            return "; free space there or use another directory";
        }
        if (r.contains("read-only file system")) {
            return "; that filesystem is mounted read-only, use another directory";
        }
        if (r.contains("operation not permitted")) {
            // EPERM, not EACCES: an unlink or rename refused by a file's immutable or append-only
            // attribute (chattr +i/+a), or a sticky directory's other owner; the mode alone does not say
            // it (helper-116: an immutable file got only the mode advice)
            // lsattr -d: a directory's own attributes, not its entries' (helper-117: an immutable directory was not found
            // by the plain lsattr the advice gave); it shows a file's as well
            return "; check the directory's owner and mode, and whether the file or its directory is immutable or"
                    + " append-only (lsattr -d PATH shows it; chattr -i or -a clears it)";
        }
        if (r.contains("permission denied")) {
            return "; check the directory's owner and mode";
        }
        if (r.contains("not a directory")) {
            return "; a part of that path is a file, not a directory: check the path";
        }
        if (r.contains("disk quota")) {
            return "; free space within your quota or use another directory";
        }
        if (r.contains("file name too long")) {
            // ENAMETOOLONG: Linux's PATH_MAX (4096 bytes, the whole path) or a filesystem's NAME_MAX (255 bytes, one
            // name); helper-122: a path over 4096 bytes got the reason alone
            // "move nearer /" does not help a relative path or a name over 255 bytes (helper-127)
            return "; a path is limited to 4096 bytes and each name in it to 255: use shorter names or a shorter path";
        }
        return "";
    }

    /**
     * Why {@code p} cannot be reached as it is written: a path of 4096 bytes or more (Linux's
     * PATH_MAX counts the terminating zero) or a name over 255 bytes (NAME_MAX); else null.
     * Java's checks say such a path "does not exist" (helper-127: an existing store was
     * "no store at ..." with no word of its length).
     */
    public static String tooLong(Path p) {
        int bytes = p.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes >= 4096) {
            return "its path is " + bytes + " bytes long, and the system takes at most 4095: use a shorter path";
        }
        for (Path name : p) {
            int n = name.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (n > 255) {
                return "a name in its path is " + n + " bytes long, and the system takes at most 255: use shorter names";
            }
        }
        return null;
    }

    /**
     * Why {@code p}, which exists, is no directory, for a message: "P is not a directory", or for
     * a symbolic link where it points: "P is a symbolic link to X, which does not exist (or
     * loops)" (a dangling link read as "exists and is not a directory") or "..., which is not a directory".
     */
    public static String notADirectory(Path p) {
        if (!Files.isSymbolicLink(p)) {
            return p + " is not a directory";
        }
        String to;
        try {
            to = String.valueOf(Files.readSymbolicLink(p));
        } catch (IOException | UnsupportedOperationException e) {
            to = "a path that cannot be read";
        }
        return p + " is a symbolic link to " + to + ", which " + (Files.exists(p) ? "is not a directory"
                : "does not exist (or loops)");
    }

    /**
     * What stands at {@code p} when it is no regular file, directory or link, as a noun phrase:
     * "a FIFO (named pipe)", "a socket", "a character device", "a block device", else "not a
     * regular file" (read without following a link).
     */
    public static String kindOf(Path p) {
        try {
            int type = ((Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS)) & 0170000;
            switch (type) {
                case 0010000: return "a FIFO (named pipe)";
                case 0140000: return "a socket";
                case 0020000: return "a character device";
                case 0060000: return "a block device";
                default: break;
            }
        } catch (IOException | RuntimeException e) {
            // no unix view: said in general
        }
        return "not a regular file";
    }

    /** {@link #reason} followed by {@link #hint}. */
    public static String explain(IOException e) {
        String r = reason(e);
        return r + hint(r);
    }

    /**
     * Why a file name cannot be used here, for names this JVM cannot map to bytes and back
     * (a UTF-8 name under a C/POSIX locale, or bytes that are not valid UTF-8): the JVM's
     * file-name encoding and the fix.
     */
    public static String encodingHint() {
        return "this JVM encodes file names as " + fileNameCharset().name()
                + " (from the locale when it started, LANG/LC_ALL); run under a UTF-8 locale, e.g. LC_ALL=C.UTF-8"
                + " (bin/ckpt-tool and bin/ckpt-train do this themselves)";
    }

    /**
     * The charset this JVM decodes and encodes file names with: {@code sun.jnu.encoding},
     * taken from the locale at start (ASCII under {@code LANG=C}) and not changeable later.
     */
    public static java.nio.charset.Charset fileNameCharset() {
        String jnu = System.getProperty("sun.jnu.encoding");
        try {
            return jnu == null ? java.nio.charset.Charset.defaultCharset() : java.nio.charset.Charset.forName(jnu);
        } catch (RuntimeException e) {
            return java.nio.charset.Charset.defaultCharset();
        }
    }

    /**
     * Why {@code dir} (an existing directory) cannot be written, or null if it can: the
     * system's reason, e.g. "Read-only file system" or "Permission denied". Asks
     * {@code access(W_OK)} first, which reports a read-only mount even to root; only when
     * that says no does it try to create a file, to learn the reason (the JDK's
     * {@code FileStore.isReadOnly} misses read-only bind mounts).
     */
    public static String notWritableReason(Path dir) {
        if (Files.isWritable(dir)) {
            return null;
        }
        try {
            Path probe = Files.createTempFile(dir, ".ckpt-", ".probe");
            Files.deleteIfExists(probe);
            return null; // writable after all
        } catch (NoSuchFileException e) {
            return "files cannot be created there"; // e.g. /proc
        } catch (IOException e) {
            return reason(e);
        }
    }

    /**
     * {@link Files#createDirectories}, again when a directory on the way was removed under it
     * (a failing command removing a new store's empty directory, a delete pruning a directory
     * it left empty): the JDK reports that as {@code FileAlreadyExistsException} too. Only a
     * path that is there and is not a directory is refused with that exception at once.
     */
    public static void createDirectoriesAgain(Path dir) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                Files.createDirectories(dir);
                return;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 20 || Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir)) {
                    throw e;
                }
            }
        }
    }

    /**
     * Creates {@code dir} and its missing parents, like {@link Files#createDirectories}, and
     * returns the ones this call created, deepest first: a directory another process made
     * at the same moment is used, not claimed, so a caller that removes "what it created"
     * after a failure never removes a directory another rank is about to use.
     *
     * @throws IOException as {@link Files#createDirectories} does (a file in the way is a
     *         {@link java.nio.file.FileAlreadyExistsException})
     */
    public static List<Path> createDirectoriesOwned(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        List<Path> created = new ArrayList<>();
        for (int attempt = 0; ; attempt++) {
            List<Path> missing = new ArrayList<>();
            for (Path p = abs; p != null && !Files.isDirectory(p); p = p.getParent()) {
                missing.add(0, p);
            }
            try {
                for (Path p : missing) {
                    try {
                        Files.createDirectory(p);
                        created.add(0, p);
                    } catch (FileAlreadyExistsException e) {
                        if (!Files.isDirectory(p)) {
                            throw e;
                        }
                    }
                }
                return created;
            } catch (NoSuchFileException e) {
                if (attempt == 2) {
                    throw e; // a parent keeps disappearing
                }
            }
        }
    }
}

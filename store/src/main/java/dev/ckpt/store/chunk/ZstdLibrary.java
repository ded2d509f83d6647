package dev.ckpt.store.chunk;

import com.github.luben.zstd.util.Native;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * zstd-jni's native library kept as a file of its own, so that a short run loads it from
 * there instead of having zstd-jni find it. On its first use in a JVM, zstd-jni looks for
 * an OSGi class ({@code org.osgi.framework.BundleEvent}), a miss that makes the class loader
 * open every jar on the class path (70 for {@code ckpt-tool}, about 90 ms of a CLI run's
 * CPU), and then copies the library for this platform (about 1 MB) out of its jar into
 * {@code java.io.tmpdir}, to be removed at exit (docs/benchmarks.md, "Jars a CLI run does
 * not open"). {@code bin/ckpt-tool} names the file to every run in {@link #PROPERTY}
 * ({@code tools/target/libzstd-jni.so}); the run loads it ({@link #loadNamed}) before
 * anything compresses, and writes it first ({@link #write}) when it is missing or not as
 * written. Where it cannot be written or loaded, zstd-jni loads its own as before. A file
 * rewritten in place while a run has it loaded crashes that run (SIGBUS), as any loaded
 * library would; {@link #write} renames a new one into place.
 *
 * <p>A shared object is not checked by loading it: a truncated one crashed the JVM in the
 * dynamic loader (SIGBUS), another library that loads (libz) failed every later zstd call,
 * a file that is not ELF made the JVM warn on stderr, a FIFO's open waited forever
 * (helper-134). So a run loads only the file as {@link #write} left it: a regular file with
 * the modification time {@link #WRITTEN_AT} and the size of the library in zstd-jni's jar,
 * starting as ELF does. Every writer writes the same bytes and time, so writers at once leave
 * a loadable file whatever their order (helper-135: a stamp file of the time each wrote at
 * did not match the other's library), and a copy that keeps times in whole seconds (tar)
 * keeps it loadable.
 */
public final class ZstdLibrary {
    /** The system property naming the library file a run loads ({@link #loadNamed}). */
    public static final String PROPERTY = "ckpt.zstd.library";
    /**
     * The modification time of every library file written ({@link #write}): a whole second,
     * so that tar and other copies that keep times keep it. Any later change of the file in
     * place (a truncation, a {@code cp} over it, a {@code touch}) gives it another time.
     */
    static final FileTime WRITTEN_AT = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));

    private ZstdLibrary() {
    }

    /**
     * Loads the library file that {@link #PROPERTY} names, if it names one: as written, or
     * after writing it ({@link #write}) when it is not (missing, changed, another zstd-jni's).
     * Returns whether zstd-jni's library is loaded from that file now; false when the property
     * is not set, or the file could not be written or loaded (zstd-jni then loads its own on
     * first use, as without this).
     */
    public static synchronized boolean loadNamed() {
        String name = System.getProperty(PROPERTY);
        if (name == null || name.isEmpty() || Native.isLoaded()) {
            return false;
        }
        Path file = Path.of(name);
        if (load(file)) {
            return true;
        }
        try {
            write(file); // loads it
            return true;
        } catch (IOException | RuntimeException | LinkageError e) {
            return false; // a directory this user cannot write, a full disk: zstd-jni's own way
        }
    }

    /**
     * Loads {@code file} as zstd-jni's native library ({@code System.load}) and tells zstd-jni
     * it is loaded, if it is as {@link #write} left it (see the class comment). Returns true
     * when it loaded it; false when zstd-jni's library was loaded already (the file is not
     * loaded beside it), or the file is not as written or does not load.
     */
    public static synchronized boolean load(Path file) {
        if (Native.isLoaded() || !asWritten(file) || !elf(file)) {
            return false;
        }
        try {
            System.load(file.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError | SecurityException e) {
            return false;
        }
        Native.assumeLoaded();
        return true;
    }

    /**
     * Whether {@code file} is a regular file with the time {@link #WRITTEN_AT} and the size of
     * this zstd-jni's library for this platform (read from its jar's index: that jar alone is
     * opened).
     */
    private static boolean asWritten(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            // a FIFO would block an open, a directory fail it
            return a.isRegularFile() && a.lastModifiedTime().equals(WRITTEN_AT) && a.size() == sizeInJar();
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The size of this platform's library in zstd-jni's jar; -1 when zstd-jni is not in a jar or has none. */
    private static long sizeInJar() throws IOException {
        java.security.CodeSource source = Native.class.getProtectionDomain().getCodeSource();
        if (source == null) {
            return -1;
        }
        Path jar;
        try {
            jar = Path.of(source.getLocation().toURI());
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return -1;
        }
        if (!Files.isRegularFile(jar)) {
            return -1;
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            ZipEntry e = zip.getEntry(resource().substring(1));
            return e == null ? -1 : e.getSize();
        }
    }

    /**
     * Whether {@code file} starts as a shared object does ({@code 0x7f 'E' 'L' 'F'}). (Only
     * Linux and the BSDs use ELF; elsewhere {@link #write} writes no file.)
     */
    private static boolean elf(Path file) {
        if (!Files.isRegularFile(file)) {
            return false; // a FIFO would block the open, a directory fail it
        }
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(head, 0, 4) == 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The library's resource in zstd-jni's jar for this platform (its name holds zstd-jni's
     * version), as zstd-jni names it: {@code Native.resourceName()}, a private method read by
     * reflection.
     */
    private static String resource() throws IOException {
        try {
            Method name = Native.class.getDeclaredMethod("resourceName");
            name.setAccessible(true);
            return (String) name.invoke(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("zstd-jni does not say which library is this platform's (" + e + ")", e);
        }
    }

    /**
     * Writes the library zstd-jni loads on this platform to {@code file}, whole or not at all,
     * and loads it: a temporary of its own beside it, locked while it is written, on disk, then
     * given the time {@link #WRITTEN_AT}, loaded here to check it, and renamed over
     * {@code file}. Temporaries that writers killed before left are removed.
     * Must run before anything in this JVM uses zstd, so that the library this JVM loads is
     * the file's.
     *
     * @throws IOException when it cannot be written or does not load, or zstd-jni's library
     *                     was loaded already in this JVM; {@code file} is then as it was
     */
    public static synchronized void write(Path file) throws IOException {
        if (Native.isLoaded()) {
            throw new IOException("zstd-jni's library is loaded already in this JVM");
        }
        String resource = resource();
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        removeLeftTemporaries(dir, target.getFileName().toString());
        // a name of its own, created here (two writers of the same pid, in two pid namespaces or on two hosts
        // sharing the checkout, wrote into one temporary and one loaded it half-written: SIGBUS, helper-136), and
        // locked while it is written, so that another writer removes only the temporaries of writers that are gone
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            // readable by every user of the checkout, as a copy would be (a temporary file is made 0600)
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException notPosix) {
            // no such bits here
        }
        try (InputStream in = Native.class.getResourceAsStream(resource);
             FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
             FileLock lock = ch.lock()) {
            if (in == null) {
                throw new IOException("zstd-jni has no library for this platform (" + resource + ")");
            }
            in.transferTo(Channels.newOutputStream(ch));
            ch.force(true);
            Files.setLastModifiedTime(tmp, WRITTEN_AT);
            if (!elf(tmp)) {
                throw new IOException("zstd-jni's library for this platform (" + resource + ") is not an ELF shared object,"
                        + " which a run would not load from a file");
            }
            try {
                System.load(tmp.toString());
            } catch (UnsatisfiedLinkError e) {
                throw new IOException("zstd-jni's library for this platform does not load: " + e.getMessage(), e);
            }
            Native.assumeLoaded();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Removes the temporaries ({@code .NAME.*.tmp}) of writers that are gone (killed while
     * writing: helper-135), so that kills do not add a 1 MB file each. See
     * {@link #removeLeftTemporaries(Path, String, Duration)}; a writer takes well under a second.
     */
    private static void removeLeftTemporaries(Path dir, String name) {
        removeLeftTemporaries(dir, name, Duration.ofMinutes(10));
    }

    /**
     * Removes the temporaries ({@code .NAME.*.tmp}) that no process holds a lock on and whose
     * inode last changed more than {@code age} ago. The change time, not the modification
     * time, which a writer sets to {@link #WRITTEN_AT} (the change time is then now), and not
     * the lock alone: a writer's lock is released when it opens and closes its temporary again
     * (to check it, and {@code System.load}), as POSIX locks are per process (in CI another
     * writer then removed a live writer's temporary).
     */
    static void removeLeftTemporaries(Path dir, String name, Duration age) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "." + name + ".*.tmp")) {
            for (Path p : s) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                     FileLock lock = ch.tryLock()) {
                    FileTime changed = (FileTime) Files.getAttribute(p, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
                    if (lock != null && !changed.toInstant().isAfter(Instant.now().minus(age))) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException | RuntimeException e) {
                    // held by this JVM, gone, not ours to open, no change time here: left as it is
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: a leftover costs disk space, not correctness
        }
    }
}

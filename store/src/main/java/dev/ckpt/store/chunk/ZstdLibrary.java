package dev.ckpt.store.chunk;

import com.github.luben.zstd.util.Native;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.TimeUnit;

/**
 * zstd-jni's native library kept as a file of its own, so that a short run loads it from
 * there instead of having zstd-jni find it. On its first use in a JVM, zstd-jni looks for
 * an OSGi class ({@code org.osgi.framework.BundleEvent}), a miss that makes the class loader
 * open every jar on the class path (70 for {@code ckpt-tool}, about 90 ms of a CLI run's
 * CPU), and then copies the library for this platform (about 1 MB) out of its jar into
 * {@code java.io.tmpdir}, to be removed at exit (docs/benchmarks.md, "Jars a CLI run does
 * not open"). {@code bin/ckpt-tool} writes the file once per build ({@link #write}) and names
 * it to every run in {@link #PROPERTY}; the run loads it ({@link #load}) before anything
 * compresses. A file that is not as written (its stamp) or does not load is passed over:
 * zstd-jni then loads its own as before. A file rewritten in place while a run has it loaded
 * crashes that run (SIGBUS), as any loaded library would; {@link #write} renames a new one
 * into place.
 */
public final class ZstdLibrary {
    /** The system property naming the library file a run loads ({@link #loadNamed}). */
    public static final String PROPERTY = "ckpt.zstd.library";

    private ZstdLibrary() {
    }

    /**
     * Loads the library file that {@link #PROPERTY} names, if it names one. Returns whether
     * zstd-jni's library is loaded from that file now; false when the property is not set or
     * the file did not load (zstd-jni then loads its own on first use).
     */
    public static boolean loadNamed() {
        String file = System.getProperty(PROPERTY);
        return file != null && !file.isEmpty() && load(Path.of(file));
    }

    /**
     * Loads {@code file} as zstd-jni's native library ({@code System.load}) and tells zstd-jni
     * it is loaded, if it is the file {@link #write} wrote: a regular file with the size and
     * modification time its stamp ({@code FILE.stamp}) records, starting as a shared object
     * does. Returns true when it loaded it; false when zstd-jni's library was loaded already
     * (the file is not loaded beside it), or the file is not as written (missing, changed,
     * truncated, no stamp) or does not load: zstd-jni then loads its own, as without this.
     * Checked first because a shared object is not checked by loading it: a truncated one
     * crashed the JVM in the dynamic loader (SIGBUS), another library (an ELF file that loads)
     * failed every later zstd call, and a file that is not one made the JVM warn on stderr
     * (helper-134).
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

    /** Where {@link #write} records the size and modification time of {@code file}. */
    static Path stampOf(Path file) {
        return file.resolveSibling(file.getFileName() + ".stamp");
    }

    /** {@code file}'s size and modification time, as its stamp records them. */
    private static String stamp(BasicFileAttributes a) {
        return "zstd-jni library: " + a.size() + " bytes, modified " + a.lastModifiedTime().to(TimeUnit.NANOSECONDS) + "\n";
    }

    /** Whether {@code file} is a regular file with the size and modification time of its stamp. */
    private static boolean asWritten(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            Path stamp = stampOf(file);
            // a FIFO would block an open, a directory fail it; the stamp is a line
            return a.isRegularFile() && Files.isRegularFile(stamp) && Files.size(stamp) < 256
                    && Files.readString(stamp, StandardCharsets.US_ASCII).equals(stamp(a));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Whether {@code file} starts as a shared object does ({@code 0x7f 'E' 'L' 'F'}). Asked
     * before {@code System.load}, because the JVM warns on stderr before it loads a file that
     * does not say its stack is not executable, and a damaged file (or none) says nothing.
     * (Only Linux and the BSDs use ELF; elsewhere {@link #write} writes no file.)
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
     * Writes the library zstd-jni loads on this platform to {@code file}, whole or not at all
     * (a temporary beside it, on disk, loaded here to check it, then renamed over {@code file}),
     * and then its stamp ({@link #stampOf}: its size and modification time), which {@link #load}
     * requires. The
     * library is the resource zstd-jni itself would unpack: its name comes from zstd-jni
     * ({@code Native.resourceName()}, a private method read by reflection). Must run before
     * anything in this JVM uses zstd, so that the library this JVM loads is the file's.
     *
     * @throws IOException when it cannot be written or does not load, or zstd-jni's library
     *                     was loaded already in this JVM; {@code file} is then as it was
     */
    public static synchronized void write(Path file) throws IOException {
        if (Native.isLoaded()) {
            throw new IOException("zstd-jni's library is loaded already in this JVM");
        }
        String resource;
        try {
            Method name = Native.class.getDeclaredMethod("resourceName");
            name.setAccessible(true);
            resource = (String) name.invoke(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("zstd-jni does not say which library is this platform's (" + e + ")", e);
        }
        Path target = file.toAbsolutePath();
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Path stampTmp = target.resolveSibling("." + stampOf(target).getFileName() + "." + ProcessHandle.current().pid()
                + ".tmp");
        try (InputStream in = Native.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("zstd-jni has no library for this platform (" + resource + ")");
            }
            Files.createDirectories(target.getParent());
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            force(tmp);
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
            // the stamp last, on disk: a crash before it leaves a library that no run loads
            Files.writeString(stampTmp, stamp(Files.readAttributes(target, BasicFileAttributes.class)),
                    StandardCharsets.US_ASCII);
            force(stampTmp);
            Files.move(stampTmp, stampOf(target), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(stampTmp);
        }
    }

    private static void force(Path file) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
            c.force(true);
        }
    }
}

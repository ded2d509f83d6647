package dev.ckpt.store.chunk;

import dev.ckpt.store.testing.ChildClasspath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * zstd-jni's library as a file of its own ({@link ZstdLibrary}): written once, loaded from
 * there by later runs, and passed over when it does not load. Each case is a fresh JVM (a
 * JVM loads the library once), which prints what it did and the libraries it has mapped
 * ({@code /proc/self/maps}).
 */
class ZstdLibraryTest {
    @TempDir
    Path tmp;

    record Child(int code, String out) {
        /** The zstd-jni libraries mapped in the child, by path. */
        List<String> mapped() {
            return out.lines().filter(l -> l.startsWith("MAPPED ")).map(l -> l.substring(7)).toList();
        }
    }

    private Child child(String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Djava.io.tmpdir=" + Files.createDirectories(tmp.resolve("jtmp")),
                "-XX:ErrorFile=" + tmp.resolve("hs_err_%p.log"), "-XX:-CreateCoredumpOnCrash", // a crash's report: not in the module
                "-cp", ChildClasspath.get(), Main.class.getName()));
        cmd.addAll(Arrays.asList(args));
        Path log = Files.createTempFile(tmp, "child", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(60, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly().waitFor();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        assertTrue(done, "the child JVM did not finish in 60 s: " + out);
        return new Child(p.exitValue(), out);
    }

    @Test
    void aWrittenLibraryIsLoadedFromItsFileByALaterRunAndCompresses() throws Exception {
        Path lib = tmp.resolve("lib/libzstd-jni.so");
        Child w = child("write", lib.toString());
        assertEquals(0, w.code(), w.out());
        assertTrue(Files.size(lib) > 100_000, "the library was written: " + lib);
        try (var s = Files.list(lib.getParent())) {
            assertEquals(java.util.Set.of(lib, ZstdLibrary.stampOf(lib)), java.util.Set.copyOf(s.toList()),
                    "the library and its stamp, no temporary left beside them");
        }
        assertEquals(List.of(lib.toString()), w.mapped(), "the writing JVM loaded the file it checked: " + w.out());

        Child r = child("load", lib.toString());
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("LOADED true"), r.out());
        assertEquals(List.of(lib.toString()), r.mapped(), "zstd-jni's library came from the file, not from its jar");
        try (var s = Files.list(tmp.resolve("jtmp"))) {
            assertEquals(List.of(), s.filter(f -> f.getFileName().toString().contains("zstd")).toList(),
                    "nothing unpacked into java.io.tmpdir");
        }
    }

    /**
     * A written library changed afterwards is passed over without loading it, and zstd-jni
     * loads its own: truncated (loading it crashed the JVM with SIGBUS in the dynamic loader),
     * another ELF library that loads (the JDK's libzip: every zstd call then failed), or its
     * stamp gone. And a file whose stamp matches but which is not ELF is not loaded either (the
     * JVM warned on stderr before it failed to load it). helper-134.
     */
    @Test
    void aWrittenLibraryChangedAfterwardsIsPassedOverWithoutLoadingIt() throws Exception {
        Path lib = tmp.resolve("lib/libzstd-jni.so");
        assertEquals(0, child("write", lib.toString()).code());
        byte[] good = Files.readAllBytes(lib);
        Path stamp = ZstdLibrary.stampOf(lib);

        Files.write(lib, Arrays.copyOf(good, 4096));
        assertPassedOver(lib, "truncated");

        Files.copy(Path.of(System.getProperty("java.home"), "lib", "libzip.so"), lib,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertPassedOver(lib, "another library");

        Files.write(lib, good);
        Files.delete(stamp);
        assertPassedOver(lib, "no stamp");

        Files.writeString(lib, "not a shared object\n");
        var a = Files.readAttributes(lib, java.nio.file.attribute.BasicFileAttributes.class);
        Files.writeString(stamp, "zstd-jni library: " + a.size() + " bytes, modified "
                + a.lastModifiedTime().to(TimeUnit.NANOSECONDS) + "\n");
        Child notElf = assertPassedOver(lib, "stamped, not ELF");
        assertFalse(notElf.out().contains("warning"), notElf.out());

        Files.write(lib, good); // as written again, with a stamp of its own: loaded (the stamp's format is the one above)
        a = Files.readAttributes(lib, java.nio.file.attribute.BasicFileAttributes.class);
        Files.writeString(stamp, "zstd-jni library: " + a.size() + " bytes, modified "
                + a.lastModifiedTime().to(TimeUnit.NANOSECONDS) + "\n");
        Child loaded = child("load", lib.toString());
        assertTrue(loaded.out().contains("LOADED true"), loaded.out());
        assertEquals(List.of(lib.toString()), loaded.mapped());
    }

    private Child assertPassedOver(Path lib, String what) throws Exception {
        Child c = child("load", lib.toString());
        assertEquals(0, c.code(), what + ": " + c.out());
        assertTrue(c.out().contains("LOADED false"), what + ": " + c.out());
        assertEquals(1, c.mapped().size(), what + ": zstd-jni loaded its own: " + c.out());
        assertFalse(c.mapped().get(0).equals(lib.toString()), what + ": " + c.out());
        return c;
    }

    /** A file that is not a library for this platform: passed over, and zstd-jni loads its own as without it. */
    @Test
    void aFileThatDoesNotLoadIsPassedOverAndZstdStillWorks() throws Exception {
        Path bad = tmp.resolve("libzstd-jni.so");
        Files.writeString(bad, "not a shared object\n");
        Child r = child("load", bad.toString());
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("LOADED false"), r.out());
        assertEquals(1, r.mapped().size(), "zstd-jni loaded its own: " + r.out());
        assertFalse(r.mapped().get(0).equals(bad.toString()), r.out());

        Child missing = child("load", tmp.resolve("none.so").toString());
        assertEquals(0, missing.code(), missing.out());
        assertTrue(missing.out().contains("LOADED false"), missing.out());
        assertEquals(1, missing.mapped().size(), missing.out());

        // a FIFO: its open would wait for a writer forever; a directory
        Path fifo = tmp.resolve("fifo.so");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        for (Path odd : List.of(fifo, Files.createDirectories(tmp.resolve("dir.so")))) {
            Child c = child("load", odd.toString());
            assertEquals(0, c.code(), c.out());
            assertTrue(c.out().contains("LOADED false"), c.out());
        }
    }

    /** In a JVM that uses zstd before, nothing is written: the file stays as it was. */
    @Test
    void writingAfterZstdWasUsedFailsAndLeavesTheFileAsItWas() throws Exception {
        Path lib = tmp.resolve("libzstd-jni.so");
        Files.writeString(lib, "as it was");
        Child w = child("use-then-write", lib.toString());
        assertEquals(3, w.code(), w.out());
        assertTrue(w.out().contains("loaded already"), w.out());
        assertEquals("as it was", Files.readString(lib));
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(), s.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList());
        }
    }

    /**
     * {@code write FILE}, {@code load FILE} or {@code use-then-write FILE}; then compresses and
     * decompresses 1 MiB through {@link ChunkCodec} and prints the zstd libraries it has mapped.
     * Exit code 3: the write failed (its message printed).
     */
    public static final class Main {
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[1]);
            switch (args[0]) {
                case "write" -> ZstdLibrary.write(file);
                case "load" -> System.out.println("LOADED " + ZstdLibrary.load(file));
                case "use-then-write" -> {
                    roundTrip();
                    try {
                        ZstdLibrary.write(file);
                    } catch (java.io.IOException e) {
                        System.out.println(e.getMessage());
                        System.exit(3);
                    }
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
            roundTrip();
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int at = line.indexOf('/');
                if (at >= 0 && line.contains("zstd") && line.contains(" r-xp ")) {
                    System.out.println("MAPPED " + line.substring(at));
                }
            }
        }

        private static void roundTrip() {
            byte[] data = new byte[1 << 20];
            Random r = new Random(7);
            for (int i = 0; i < data.length; i += 4) {
                data[i] = (byte) r.nextInt(4);
            }
            ChunkCodec codec = new ChunkCodec(ChunkCodec.DEFAULT_LEVEL);
            ChunkCodec.Encoded e = codec.encode(data, 0, data.length);
            if (e.length() >= data.length) {
                throw new AssertionError("not compressed");
            }
            assertArrayEquals(data, ChunkCodec.decode(e.ref(), e.stored()));
        }
    }
}

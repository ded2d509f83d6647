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

    /** The command of a child JVM running {@link Main} with {@code args}; a crash's report goes to the test's directory. */
    private List<String> command(String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Djava.io.tmpdir=" + Files.createDirectories(tmp.resolve("jtmp")),
                "-XX:ErrorFile=" + tmp.resolve("hs_err_%p.log"), "-XX:-CreateCoredumpOnCrash",
                "-cp", ChildClasspath.get(), Main.class.getName()));
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    /** A child JVM started, its output going to {@code out}. */
    private Process start(Path out, String... args) throws Exception {
        return new ProcessBuilder(command(args)).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    }

    private Child child(String... args) throws Exception {
        List<String> cmd = command(args);
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
            assertEquals(List.of(lib), s.toList(), "no temporary left beside it");
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
     * A written library changed afterwards is passed over by {@code load} without loading it,
     * and zstd-jni loads its own: truncated (loading it crashed the JVM with SIGBUS in the
     * dynamic loader), even when given the time of a written one; another ELF library that
     * loads (the JDK's libzip: every zstd call then failed); its time changed; a file of the
     * time and size of one as written that is not ELF (the JVM warned on stderr before it failed
     * to load it). helper-134.
     */
    @Test
    void aWrittenLibraryChangedAfterwardsIsPassedOverWithoutLoadingIt() throws Exception {
        Path lib = tmp.resolve("lib/libzstd-jni.so");
        assertEquals(0, child("write", lib.toString()).code());
        byte[] good = Files.readAllBytes(lib);
        assertEquals(ZstdLibrary.WRITTEN_AT, Files.getLastModifiedTime(lib));

        Files.write(lib, Arrays.copyOf(good, 4096));
        assertPassedOver(lib, "truncated");
        asWritten(lib, Arrays.copyOf(good, 4096));
        assertPassedOver(lib, "truncated, with the time");

        asWritten(lib, Files.readAllBytes(Path.of(System.getProperty("java.home"), "lib", "libzip.so")));
        assertPassedOver(lib, "another library, with the time");

        asWritten(lib, good);
        Files.setLastModifiedTime(lib, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
        assertPassedOver(lib, "touched");

        byte[] notElf = good.clone();
        notElf[0] = 'X';
        asWritten(lib, notElf);
        Child c = assertPassedOver(lib, "not ELF, with the time and size");
        assertFalse(c.out().contains("warning"), c.out());

        asWritten(lib, good); // as written: loaded (each check above was the only difference)
        Child loaded = child("load", lib.toString());
        assertTrue(loaded.out().contains("LOADED true"), loaded.out());
        assertEquals(List.of(lib.toString()), loaded.mapped());
    }

    /** {@code lib} holding {@code bytes}, with the time of a written library. */
    private static void asWritten(Path lib, byte[] bytes) throws Exception {
        Files.write(lib, bytes);
        Files.setLastModifiedTime(lib, ZstdLibrary.WRITTEN_AT);
    }

    /**
     * {@code loadNamed} (every run of bin/ckpt-tool) writes a library that is missing or not
     * as written, and loads it, so that nothing leaves the runs on zstd-jni's slower way until
     * the next build (helper-135: a library that did not match its stamp stayed so). A copy that keeps the
     * time in whole seconds (tar) is loaded as it is.
     */
    @Test
    void eachRunWritesALibraryThatIsMissingOrChangedAndLoadsIt() throws Exception {
        Path lib = tmp.resolve("lib/libzstd-jni.so");
        Child first = child("loadNamed", lib.toString());
        assertTrue(first.out().contains("LOADED true"), first.out());
        assertEquals(List.of(lib.toString()), first.mapped(), first.out());
        byte[] good = Files.readAllBytes(lib);
        assertTrue(good.length > 100_000);

        Files.write(lib, Arrays.copyOf(good, 4096));
        Child repaired = child("loadNamed", lib.toString());
        assertTrue(repaired.out().contains("LOADED true"), repaired.out());
        assertEquals(List.of(lib.toString()), repaired.mapped(), repaired.out());
        assertArrayEquals(good, Files.readAllBytes(lib), "written whole again");

        Path copy = Files.createDirectories(tmp.resolve("copy")).resolve("libzstd-jni.so");
        Files.copy(lib, copy, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Child copied = child("load", copy.toString());
        assertTrue(copied.out().contains("LOADED true"), copied.out());

    }

    /**
     * Writers at once leave a library that loads and no temporary (helper-135: with a stamp
     * file of the time each wrote at, the later rename of one's stamp described the other's
     * library; helper-136: two writers of the same pid, in two pid namespaces, shared one
     * temporary and one loaded it half-written; CI: a writer removed another's live temporary,
     * whose lock had gone when its writer reopened it). The library is readable by every user.
     */
    @Test
    void writersAtOnceLeaveALibraryThatLoadsAndNoTemporary() throws Exception {
        Path lib = tmp.resolve("lib/libzstd-jni.so");
        Files.createDirectories(lib.getParent());
        for (int round = 0; round < 4; round++) {
            List<Process> writers = new ArrayList<>();
            List<Path> outs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                outs.add(tmp.resolve("writer-" + round + "-" + i + ".out"));
                writers.add(start(outs.get(i), "write", lib.toString()));
            }
            for (int i = 0; i < writers.size(); i++) {
                assertTrue(writers.get(i).waitFor(60, TimeUnit.SECONDS));
                assertEquals(0, writers.get(i).exitValue(), Files.readString(outs.get(i)));
            }
            Child r = child("load", lib.toString());
            assertTrue(r.out().contains("LOADED true"), "round " + round + ": " + r.out());
        }
        try (var s = Files.list(lib.getParent())) {
            assertEquals(List.of(lib), s.toList(), "no writer left a temporary");
        }
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(lib)));
    }

    /**
     * Temporaries of writers that are gone are removed: those no process holds a lock on and
     * changed longer ago than the age given (10 minutes for a writer; 0 here, as a test cannot
     * age a change time); one that a running process holds (another JVM) is kept, as are files
     * that are not a writer's temporary, and, at a writer's age, a fresh one.
     */
    @Test
    void temporariesNoProcessHoldsAndOlderThanTheAgeAreRemoved() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("lib"));
        Path gone = dir.resolve(".libzstd-jni.so.12345.tmp");
        Path held = dir.resolve(".libzstd-jni.so.777.tmp");
        Path other = dir.resolve(".libzstd-jni.so.notes");
        Path library = dir.resolve("libzstd-jni.so");
        for (Path p : List.of(gone, held, other, library)) {
            Files.writeString(p, "left");
        }
        ZstdLibrary.removeLeftTemporaries(dir, "libzstd-jni.so", java.time.Duration.ofMinutes(10));
        assertTrue(Files.exists(gone), "changed just now: kept at a writer's age");

        Process holder = new ProcessBuilder(command("hold", held.toString())).redirectErrorStream(true).start();
        try {
            assertEquals("HELD", new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream(),
                    StandardCharsets.UTF_8)).readLine());
            ZstdLibrary.removeLeftTemporaries(dir, "libzstd-jni.so", java.time.Duration.ZERO);
        } finally {
            holder.getOutputStream().close();
            assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
        }
        assertFalse(Files.exists(gone));
        assertTrue(Files.exists(held), "a running process holds it");
        assertTrue(Files.exists(other), "not a writer's temporary");
        assertTrue(Files.exists(library));
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
        assertPassedOver(bad, "not a shared object");
        assertPassedOver(tmp.resolve("none.so"), "missing");

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
                case "hold" -> { // locks the file until stdin ends
                    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                            java.nio.file.StandardOpenOption.WRITE); var lock = ch.lock()) {
                        System.out.println("HELD");
                        System.out.flush();
                        System.in.readAllBytes();
                    }
                    return;
                }
                case "loadNamed" -> {
                    System.setProperty(ZstdLibrary.PROPERTY, file.toString());
                    System.out.println("LOADED " + ZstdLibrary.loadNamed());
                }
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

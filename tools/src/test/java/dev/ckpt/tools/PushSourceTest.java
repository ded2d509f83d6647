package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.text.Normalizer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code ckpt-tool push} stores every entry of the directory byte for byte under its exact
 * name, or refuses naming it (exit 1, one line); whatever the locale the JVM was started
 * under; and never commits a file that changed while it was read.
 */
class PushSourceTest {
    @TempDir
    Path tmp;
    Cli cli;
    String store;

    @BeforeEach
    void setUp() {
        store = tmp.resolve("store").toString();
        cli = new Cli(Map.of(), "--progress", "none");
        assertEquals(0, cli.run("init", store).code());
    }

    private Cli.Result push(Path dir, long step, String... extra) {
        List<String> args = new ArrayList<>(List.of("push", store, dir.toString(), "--run", "r", "--step", Long.toString(step)));
        args.addAll(List.of(extra));
        return cli.run(args.toArray(String[]::new));
    }

    private void assertRefusedInOneLine(Cli.Result r, String... fragments) {
        assertEquals(1, r.code(), r.toString());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "should name '" + f + "': " + r.err());
        }
        assertTrue(cli.run("ls", store).out().lines().count() <= 1, "nothing committed: " + cli.run("ls", store).out());
    }

    // ---- links and other entries that are not regular files

    @Test
    void aLinkToADirectoryInsideIsRefusedNotLeftOut() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 4, 2000);
        Path link = Files.createSymbolicLink(src.resolve("latest"), Path.of("sub"));
        assertRefusedInOneLine(push(src, 1), link.toString(), "is a symbolic link (to sub)", "regular files only");
    }

    @Test
    void everyOtherLinkAndAFifoAreRefusedNamingThem() throws Exception {
        Path outside = Files.writeString(tmp.resolve("outside.txt"), "x");
        List<Path> targets = List.of(Path.of("file1.bin"), outside, tmp, Path.of("."), tmp.resolve("gone"));
        for (int i = 0; i < targets.size(); i++) {
            Path src = TestDirs.checkpoint(tmp.resolve("src" + i), 1, 2, 2000);
            Path link = Files.createSymbolicLink(src.resolve("l" + i), targets.get(i));
            assertRefusedInOneLine(push(src, 1), link.toString(), "symbolic link");
        }
        Path src = TestDirs.checkpoint(tmp.resolve("fifo"), 1, 2, 2000);
        assertEquals(0, new ProcessBuilder("mkfifo", src.resolve("pipe").toString()).start().waitFor());
        assertRefusedInOneLine(push(src, 1), src.resolve("pipe").toString(), "FIFO");
    }

    // ---- empty directories

    @Test
    void emptyDirectoriesAreLeftOutWithAWarningNamingThem() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 2000);
        Files.createDirectories(src.resolve("logs"));
        Files.createDirectories(src.resolve("cache/a"));
        Cli.Result r = push(src, 1);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("warning: 2 empty directories left out") && r.err().contains("cache/a/, logs/"),
                r.err());
        Cli.Result j = push(src, 2, "--json");
        assertEquals(List.of("cache/a/", "logs/"),
                List.of(j.json().get("emptyDirectoriesLeftOut").get(0).asText(), j.json().get("emptyDirectoriesLeftOut").get(1).asText()));
        assertTrue(j.err().contains("warning: 2 empty directories"), j.err());
        Cli.Result none = push(TestDirs.checkpoint(tmp.resolve("full"), 2, 2, 2000), 3);
        assertTrue(!none.err().contains("empty director"), none.err());
    }

    /**
     * What an interrupted ckpt-tool command left in a directory (a restore's partial
     * {@code .ckpt-<12 hex>.tmp} and the {@code .old} versions it renamed aside, an export's
     * staging directory) is not saved, and push says what each is (helper-95: a push of a
     * directory an interrupted restore had written into saved its partial temporary). A user's
     * file with a name near ours is saved. An import keeps such a name if its archive holds one.
     */
    @Test
    void whatAnInterruptedCommandLeftIsLeftOutWithAWarning() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 2000);
        Files.write(src.resolve(".ckpt-0123456789ab.tmp"), new byte[1000]);
        Files.createDirectories(src.resolve("logs"));
        Files.write(src.resolve("logs/.ckpt-00000000beef.old"), new byte[10]);
        Files.createDirectories(src.resolve(".ckpt-abcdefabcdef-export/d"));
        Files.write(src.resolve(".ckpt-abcdefabcdef-export/d/x.bin"), new byte[10]);
        Files.write(src.resolve(".ckpt-mine.tmp"), new byte[3]); // not a name ckpt makes
        Files.write(src.resolve(".ckpt-0123456789AB.tmp"), new byte[3]); // upper case: not one either
        Cli.Result r = push(src, 1, "--json");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("warning: left out 3 entries: .ckpt-0123456789ab.tmp, .ckpt-abcdefabcdef-export/,"
                + " logs/.ckpt-00000000beef.old of " + src + ", named as ckpt-tool names what an interrupted command leaves"
                + " (.ckpt-*.tmp are a restore's partial files; .ckpt-*.old hold versions a restore replaced; .ckpt-*-import/"
                + " and -export/ are an import's or export's directories (one written in the last hour: it may be running"
                + " now)): delete them once no ckpt-tool command writes there; a file of yours named so is pushed once"
                + " renamed"), r.err());
        assertEquals(3, r.json().get("leftoversLeftOut").size(), r.toString());
        Path out = tmp.resolve("out");
        assertEquals(0, cli.run("restore", store, "r@1", out.toString()).code());
        assertTrue(Files.exists(out.resolve(".ckpt-mine.tmp")) && Files.exists(out.resolve(".ckpt-0123456789AB.tmp")));
        assertFalse(Files.exists(out.resolve(".ckpt-0123456789ab.tmp")));
        assertFalse(Files.exists(out.resolve("logs")), "its only entry was left out");
        assertFalse(Files.exists(out.resolve(".ckpt-abcdefabcdef-export")));

        // a directory of such names alone is refused as holding no files, and the refusal names them
        Path only = Files.createDirectories(tmp.resolve("only"));
        Files.write(only.resolve(".ckpt-0123456789cd.tmp"), new byte[5]);
        Cli.Result none = push(only, 9);
        assertEquals(ExitCode.ERROR, none.code(), none.toString());
        assertTrue(none.err().contains("source directory " + only + " holds no files but what an interrupted ckpt-tool"
                + " command left, which push leaves out (1 entry: .ckpt-0123456789cd.tmp); nothing was saved"), none.err());

        // a checkpoint that holds such a name (saved before they were left out) exports and imports whole
        try (dev.ckpt.store.CheckpointStore s = dev.ckpt.store.CheckpointStore.open(store)) {
            s.save(s.claimWriter("old", "test"), new dev.ckpt.store.commit.SaveRequest(src, "old", 1, 1L, Map.of(), null,
                    null).withScan(dev.ckpt.store.CheckpointStore.scanEverything(src)));
        }
        Path archive = tmp.resolve("old.tar.zst");
        assertEquals(0, cli.run("export", store, "old@1", archive.toString()).code());
        String other = tmp.resolve("other").toString();
        Cli.Result imp = cli.run("import", other, archive.toString(), "--run", "old", "--step", "1");
        assertEquals(0, imp.code(), imp.toString());
        Path back = tmp.resolve("back");
        assertEquals(0, cli.run("restore", other, "old@1", back.toString()).code());
        TestDirs.assertSameTree(TestDirs.snapshot(src), back);
    }

    /**
     * A source with no files (empty, or only empty directories) is refused before the store is
     * opened: a checkpoint of nothing would be the run's newest, for auto-resume and for a
     * retention that would drop the real ones before it. --allow-empty saves it.
     */
    @Test
    void aSourceWithNoFilesIsRefusedUnlessAllowedAndRetentionKeepsTheRealCheckpoint() throws Exception {
        Path real = TestDirs.checkpoint(tmp.resolve("real"), 1, 2, 2000);
        assertEquals(0, push(real, 1).code());
        byte[] root = Files.readAllBytes(Path.of(store, "ROOT"));
        for (Path empty : List.of(tmp.resolve("empty"), tmp.resolve("only-dirs"))) {
            Files.createDirectories(empty.resolve(empty.endsWith("only-dirs") ? "a/b" : ""));
            Cli.Result r = push(empty, 2, "--keep-last", "1");
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("source directory " + empty + " holds no files; nothing was saved")
                    && r.err().contains("--allow-empty") && !r.err().contains("Exception"), r.err());
            assertArrayEquals(root, Files.readAllBytes(Path.of(store, "ROOT")), "ROOT unchanged: nothing committed or dropped");
        }
        Cli.Result allowed = push(tmp.resolve("empty"), 3, "--allow-empty");
        assertEquals(0, allowed.code(), allowed.toString());
        assertTrue(allowed.err().contains("0 files"), allowed.toString());
        // one rank's part may hold nothing: not refused (here it waits for rank 0, which never comes)
        Cli.Result rank = push(tmp.resolve("empty"), 4, "--rank", "1", "--world-size", "2", "--job-id", "j",
                "--ranks-timeout", "1s");
        assertFalse(rank.err().contains("holds no files"), rank.toString());
        assertEquals(4, rank.code(), rank.toString());
    }

    // ---- a file rewritten in place while push reads it

    @Test
    void aFileRewrittenInPlaceDuringPushIsRefusedAndNotCommittedTorn() throws Exception {
        Path src = tmp.resolve("live");
        Files.createDirectories(src);
        Path f = src.resolve("model.bin");
        byte[] data = new byte[24 << 20];
        new Random(3).nextBytes(data);
        Files.write(f, data);
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(60)));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong writes = new AtomicLong();
        // a real writer: same size, 4 KiB blocks at random places, from before push starts until it has ended
        Thread writer = new Thread(() -> {
            Random rnd = new Random(4);
            byte[] block = new byte[4096];
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                while (!stop.get()) {
                    rnd.nextBytes(block);
                    ch.write(ByteBuffer.wrap(block), (long) rnd.nextInt(data.length / 4096) * 4096);
                    writes.incrementAndGet();
                    Thread.sleep(1);
                }
            } catch (IOException | InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        writer.start();
        while (writes.get() < 3) {
            Thread.sleep(1);
        }
        Cli.Result r;
        try {
            r = push(src, 1);
        } finally {
            stop.set(true);
            writer.join();
        }
        assertRefusedInOneLine(r, f.toString(), "changed while it was being saved");
        // once the writer is done, the same file pushes
        Cli.Result again = push(src, 2);
        assertEquals(0, again.code(), again.toString());
    }

    // ---- file names under every locale, through the launcher and with a bare java

    private static final List<String> NAMES = List.of("日本語/模型.safetensors", "emoji-🚀.bin", "a\u0308-combining.txt",
            Normalizer.normalize("café", Normalizer.Form.NFC) + ".json", Normalizer.normalize("café", Normalizer.Form.NFD) + ".json",
            "with space/two  spaces.bin", "new\nline.txt");

    private Path namesDir() throws IOException {
        assumeTrue("UTF-8".equals(System.getProperty("sun.jnu.encoding")), "the test JVM must run under a UTF-8 locale");
        Path src = tmp.resolve("names");
        for (int i = 0; i < NAMES.size(); i++) {
            Path p = src.resolve(NAMES.get(i));
            Files.createDirectories(p.getParent());
            Files.writeString(p, "file " + i);
        }
        return src;
    }

    /** Locale settings as a job might have them: name -> environment (LANG/LC_* not listed are removed). */
    private static final Map<String, Map<String, String>> LOCALES = Map.of(
            "LANG=C", Map.of("LANG", "C"),
            "LC_ALL=C", Map.of("LANG", "C.UTF-8", "LC_ALL", "C"),
            "LC_ALL=POSIX", Map.of("LC_ALL", "POSIX"),
            "no locale at all", Map.of(),
            "LC_ALL=C.UTF-8", Map.of("LC_ALL", "C.UTF-8"),
            "LANG=en_US.UTF-8", Map.of("LANG", "en_US.UTF-8"));

    private record Run(int code, String output) {
    }

    private static Run run(List<String> cmd, Map<String, String> locale) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.equals("LANG") || k.equals("LANGUAGE") || k.startsWith("LC_"));
        pb.environment().putAll(locale);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not finish: " + out);
        return new Run(p.exitValue(), out);
    }

    /** Whether a JVM started under {@code locale} decodes file names as UTF-8 (en_US.UTF-8 may not be installed). */
    private static boolean utf8(Map<String, String> locale) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return run(List.of(java, "-XshowSettings:properties", "-version"), locale).output()
                .contains("sun.jnu.encoding = UTF-8");
    }

    private static List<String> bareJava(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), CkptTool.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void aBareJavaUnderANonUtf8LocaleRefusesNamesItCannotReadAndOtherwiseStoresThemExactly() throws Exception {
        Path src = namesDir();
        int step = 0;
        for (Map.Entry<String, Map<String, String>> l : LOCALES.entrySet()) {
            step++;
            Run push = run(bareJava("push", store, src.toString(), "--run", "r", "--step", "" + step, "--progress", "none"),
                    l.getValue());
            if (utf8(l.getValue())) {
                assertEquals(0, push.code(), l.getKey() + ": " + push.output());
                Path out = tmp.resolve("out-" + step);
                Run restore = run(bareJava("restore", store, "r@" + step, out.toString(), "--progress", "none"), l.getValue());
                assertEquals(0, restore.code(), l.getKey() + ": " + restore.output());
                TestDirs.assertSameTree(TestDirs.snapshot(src), out);
            } else {
                assertEquals(1, push.code(), l.getKey() + ": " + push.output());
                assertTrue(push.output().contains("run under a UTF-8 locale, e.g. LC_ALL=C.UTF-8")
                        && push.output().contains(src.toString()) && push.output().lines().count() == 1,
                        l.getKey() + ": " + push.output());
                for (JsonNode c : cli.run("ls", store, "--run", "r", "--json").json().get("checkpoints")) {
                    assertTrue(c.get("step").asLong() != step, l.getKey() + ": nothing may be committed: " + c);
                }
            }
        }
    }

    @Test
    void restoreUnderANonUtf8LocaleRefusesUpFrontNamingTheFile() throws Exception {
        Path src = namesDir();
        assertEquals(0, push(src, 1).code());
        Path out = tmp.resolve("out");
        Run restore = run(bareJava("restore", store, "r@1", out.toString(), "--progress", "none"), Map.of("LC_ALL", "C"));
        assertEquals(1, restore.code(), restore.output());
        assertTrue(restore.output().contains("cannot write") && restore.output().contains("UTF-8 locale")
                && restore.output().lines().count() == 1, restore.output());
        assertTrue(TestDirs.snapshot(out).isEmpty(), "nothing written");
    }

    /** A copy of bin/ckpt-tool in a fake checkout whose jar points at this test's classpath (so it never builds). */
    private Path launcher() throws IOException {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("bin/ckpt-tool"))) {
            dir = dir.getParent();
        }
        assertTrue(dir != null, "bin/ckpt-tool not found above " + System.getProperty("user.dir"));
        Path repo = tmp.resolve("checkout");
        Files.createDirectories(repo.resolve("bin"));
        Files.createDirectories(repo.resolve("tools/target/lib"));
        Path script = Files.copy(dir.resolve("bin/ckpt-tool"), repo.resolve("bin/ckpt-tool"));
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        StringBuilder cp = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            cp.append(Path.of(e).toAbsolutePath().toUri()).append(' ');
        }
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, cp.toString().trim());
        try (OutputStream o = Files.newOutputStream(repo.resolve("tools/target/ckpt-tools.jar"));
             JarOutputStream jar = new JarOutputStream(o, m)) {
            jar.flush();
        }
        return script;
    }

    @Test
    void theLauncherStoresAndRestoresNamesExactlyUnderEveryLocale() throws Exception {
        Path src = namesDir();
        String launcher = launcher().toString();
        int step = 0;
        for (Map.Entry<String, Map<String, String>> l : LOCALES.entrySet()) {
            step++;
            Run push = run(List.of("bash", launcher, "push", store, src.toString(), "--run", "r", "--step", "" + step,
                    "--progress", "none"), l.getValue());
            assertEquals(0, push.code(), l.getKey() + ": " + push.output());
            Path out = tmp.resolve("out-" + step);
            if (l.getKey().endsWith("=C")) { // where restoring failed; each launcher run costs a JVM start
                Run restore = run(List.of("bash", launcher, "restore", store, "r@" + step, out.toString(), "--progress",
                        "none"), l.getValue());
                assertEquals(0, restore.code(), l.getKey() + ": " + restore.output());
            } else {
                assertEquals(0, cli.run("restore", store, "r@" + step, out.toString()).code());
            }
            TestDirs.assertSameTree(TestDirs.snapshot(src), out);
        }
        JsonNode show = cli.run("show", store, "r@1", "--json").json();
        List<String> stored = new ArrayList<>();
        show.get("files").forEach(f -> stored.add(f.get("path").asText()));
        assertEquals(NAMES.stream().sorted().toList(), stored, "names stored as given (NFC and NFD apart)");
    }

    /**
     * helper-108: a chunk object deleted from the store behind ckpt's back (an operator, a bucket lifecycle rule),
     * shared by every checkpoint, was deduplicated against by every later push, which committed checkpoints
     * verify reports MISSING. The next push writes it again, warns naming it, and lists it in --json.
     */
    @Test
    void aChunkDeletedBehindCkptsBackIsWrittenAgainByTheNextPushWithAWarning() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 200_000);
        assertEquals(0, push(src, 1).code());
        List<Path> chunks;
        try (var walk = Files.walk(tmp.resolve("store/chunks"))) {
            chunks = walk.filter(Files::isRegularFile).sorted().toList();
        }
        Path gone = chunks.get(0);
        String key = tmp.resolve("store").relativize(gone).toString();
        Files.delete(gone);
        Cli.Result r = push(src, 2, "--json");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("warning: 1 chunk object that live checkpoints reference was missing or damaged in "
                + store + " (" + key + "); this save wrote it again"), r.err());
        assertEquals(List.of(key), List.of(r.json().get("repairedChunks").get(0).asText()), r.toString());
        assertTrue(Files.exists(gone));
        assertEquals(0, cli.run("verify", store, "--read-data").code(), "both checkpoints whole");
        Cli.Result again = push(src, 3);
        assertEquals(0, again.code(), again.toString());
        assertFalse(again.err().contains("missing or damaged"), again.err());
        // an import that finds the same says so too (helper-111: it repaired without a word)
        Path archive = tmp.resolve("r1.tar.zst");
        assertEquals(0, cli.run("export", store, "r@1", archive.toString()).code());
        Files.delete(gone);
        Cli.Result imported = cli.run("import", store, archive.toString(), "--run", "imp", "--step", "1", "--json");
        assertEquals(0, imported.code(), imported.toString());
        assertTrue(imported.err().contains("(" + key + "); this save wrote it again"), imported.err());
        assertEquals(key, imported.json().get("repairedChunks").get(0).asText(), imported.toString());
        assertEquals(0, cli.run("verify", store).code());
    }
}

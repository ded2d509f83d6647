package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The directory an export restores its checkpoint in, beside the archive it writes
 * ({@code .ckpt-<12 hex>-export}): what it packs is checked against the manifest, and what a
 * killed export leaves there is removed once it is an hour old, by gc when the directory is a
 * store's and by the next export into it (helper-95: a killed export left 301 MB in a store's
 * directory that nothing removed, and an export whose staged file was rewritten exited 0 with
 * an archive that import refuses).
 */
class ExportStagingCliTest {
    @TempDir
    Path tmp;
    private final Cli cli = new Cli(Map.of());

    /** r@1 in {@code store}: {@code files} files of {@code size} random bytes, f0.bin, f1.bin, ... */
    private void pushed(Path store, int files, int size) throws Exception {
        Path src = dev.ckpt.store.testing.TestDirs.randomFiles(tmp.resolve("src"), "f", files, size, 17);
        Cli.Result push = cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "1", "--progress", "none");
        assertEquals(0, push.code(), push.toString());
    }

    private static Process export(Path store, Path archive) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                CkptTool.class.getName(), "export", store.toString(), "r@1", archive.toString(), "--progress", "none")
                .redirectErrorStream(true).start();
    }

    private static List<Path> staging(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("\\.ckpt-[0-9a-f]{12}-export")).toList();
        }
    }

    /** Waits until a staging directory in {@code dir} holds what {@code ready} accepts, or {@code p} ends. */
    private static Path await(Process p, Path dir, Predicate<Path> ready) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (p.isAlive() && System.nanoTime() < end) {
            try {
                for (Path s : staging(dir)) {
                    if (ready.test(s)) {
                        return s;
                    }
                }
            } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
                // removed meanwhile
            }
            Thread.onSpinWait();
        }
        return null;
    }

    private static long files(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        } catch (Exception e) {
            return 0;
        }
    }

    /**
     * An export stopped once it began packing (SIGSTOP), one of its restored files changed
     * before it is packed, then resumed: exit 1, the change named, no archive, no staging left.
     */
    @ParameterizedTest
    @ValueSource(strings = {"rewritten", "removed"})
    void anExportWhoseStagedFileChangedBeforeItWasPackedWritesNoArchive(String change) throws Exception {
        Path store = tmp.resolve("store");
        pushed(store, 6, 16 << 20);
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path archive = out.resolve("r1.tar.zst");
        boolean tried = false;
        for (int attempt = 1; attempt <= 5 && !tried; attempt++) {
            Process p = export(store, archive);
            try {
                Path s = await(p, out, d -> Files.exists(d.resolve("a.tmp")));
                if (s == null) {
                    continue;
                }
                new ProcessBuilder("kill", "-STOP", Long.toString(p.pid())).start().waitFor();
                Path last = s.resolve("d/f5.bin"); // packed last
                String said;
                if (change.equals("removed")) {
                    Files.delete(last);
                    said = "(file f5.bin is gone;";
                } else {
                    byte[] other = new byte[(int) Files.size(last)];
                    new Random(99).nextBytes(other);
                    Files.write(last, other);
                    said = "(file f5.bin hashed to";
                }
                new ProcessBuilder("kill", "-CONT", Long.toString(p.pid())).start().waitFor();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                if (p.exitValue() == 0) {
                    continue; // f5.bin was packed before the stop: try again
                }
                tried = true;
                assertEquals(ExitCode.ERROR, p.exitValue(), text);
                assertTrue(text.contains("cannot write archive " + archive + ": the checkpoint restored and verified in "
                        + s + " changed before it was packed " + said), text);
                assertTrue(text.contains("nothing was written to " + archive + ", exporting again is safe"), text);
                assertFalse(Files.exists(archive), "no archive");
                assertEquals(List.of(), staging(out), "the staging directory is removed");
            } finally {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        assertTrue(tried, "no export was stopped before it packed its last file");
        Cli.Result again = cli.run("export", store.toString(), "r@1", archive.toString());
        assertEquals(0, again.code(), "exporting again is safe: " + again);
        Cli.Result imp = cli.run("import", tmp.resolve("other").toString(), archive.toString(), "--run", "r", "--step", "1");
        assertEquals(0, imp.code(), imp.toString());
    }

    /**
     * An export SIGKILLed as it restores into a store's own directory leaves its staging
     * directory; gc keeps it while it is young and removes it once it is an hour old; in any
     * other directory, the next export there removes it, and says so.
     */
    @Test
    void aKilledExportsStagingDirectoryIsRemovedByGcOrTheNextExportOnceAnHourOld() throws Exception {
        Path store = tmp.resolve("store");
        pushed(store, 12, 8 << 20);
        Path left = null;
        for (int attempt = 1; attempt <= 8 && left == null; attempt++) {
            Process p = export(store, store.resolve("r1.tar.zst"));
            try {
                left = await(p, store, d -> files(d) >= 2);
            } finally {
                p.destroyForcibly(); // SIGKILL
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        assertTrue(left != null && Files.isDirectory(left), "no export was killed while it restored");
        GcLeftoversCliTest.keptWhileYoung(cli, store, left);
        long held = files(left);
        Files.setLastModifiedTime(left, FileTime.from(Instant.now().minusSeconds(7200)));
        Cli.Result gc = cli.run("gc", store.toString(), "--json");
        assertEquals(0, gc.code(), gc.toString());
        assertEquals(held, gc.json().get("leftoverFiles").asLong(), gc.toString());
        assertTrue(gc.json().get("leftoverNotes").get(0).asText().startsWith("removed " + left + ", the staging directory"
                + " of an export killed or stopped over an hour ago (" + held + " files, "), gc.toString());
        assertFalse(Files.exists(left), "removed whole: " + left);
        assertEquals(0, cli.run("verify", store.toString(), "--read-data").code());

        // elsewhere: the next export into the directory removes an old one, and keeps a young one
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path old = Files.createDirectories(out.resolve(".ckpt-0123456789ab-export/d"));
        Files.write(old.resolve("f0.bin"), new byte[100]);
        Files.setLastModifiedTime(old.getParent(), FileTime.from(Instant.now().minusSeconds(7200)));
        Path young2 = Files.createDirectories(out.resolve(".ckpt-ba9876543210-export"));
        Path user = Files.createDirectories(out.resolve(".ckpt-0123456789ab-exports")); // not one of ours
        Files.setLastModifiedTime(user, FileTime.from(Instant.now().minusSeconds(7200)));
        Cli.Result export = cli.run("export", store.toString(), "r@1", out.resolve("r1.tar.zst").toString());
        assertEquals(0, export.code(), export.toString());
        assertTrue(export.err().contains("note: removed " + old.getParent() + ", left by an export killed over an hour ago"),
                export.toString());
        assertFalse(Files.exists(old.getParent()));
        assertTrue(Files.isDirectory(young2), "under an hour old: may be an export running");
        // kept, but said (helper-146: three killed exports left 151 MiB each without a word)
        assertTrue(export.err().contains("note: " + young2 + " is the staging directory of an export that ran in the last"
                + " hour: it is running, or it was killed; if none is running, delete it: rm -r " + young2 + " (one an hour"
                + " old is removed by the next export here)"), export.toString());
        assertFalse(export.err().contains(user.toString()), export.toString());
        assertTrue(Files.isDirectory(user), "a name not of ckpt's making is left alone");
    }

    /** A directory holding only a killed export's staging directory is no store, and the refusal names it. */
    @Test
    void aDirectoryWithOnlyAKilledExportsStagingDirectorySaysWhatItIs() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("target/.ckpt-0123456789ab-export/d"));
        Cli.Result ls = cli.run("ls", tmp.resolve("target").toString());
        assertEquals(ExitCode.ERROR, ls.code(), ls.toString());
        assertTrue(ls.err().contains("(only " + dir.getParent() + ", the directory of an export writing its archive here,"
                + " written in the last hour: it may be running now; if none is, delete it, rm -r " + dir.getParent() + ")"),
                ls.toString());
    }

    /**
     * An archive path where something other than a regular file stands is refused before
     * anything is restored: the final rename replaced it (as root, a device: helper-96's
     * {@code export ... /dev/null}), and a directory failed only after the whole restore.
     */
    @Test
    void anArchivePathThatIsNoRegularFileIsRefusedBeforeTheRestore() throws Exception {
        Path store = tmp.resolve("store");
        pushed(store, 1, 1000);
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path fifo = out.resolve("fifo.tar.zst");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path dir = Files.createDirectories(out.resolve("dir.tar.zst"));
        Path target = Files.writeString(tmp.resolve("real.tar.zst"), "an older archive");
        Path link = Files.createSymbolicLink(out.resolve("link.tar.zst"), target);
        for (Path p : List.of(fifo, dir, link)) {
            Cli.Result r = cli.run("export", store.toString(), "r@1", p.toString());
            assertEquals(ExitCode.ERROR, r.code(), r.toString());
            assertTrue(r.err().contains("cannot write archive " + p + ": it is "), r.toString());
            assertTrue(r.err().contains("give the path of a new .tar.zst file, or of an archive to replace; nothing was"
                    + " written"), r.toString());
        }
        assertTrue(Files.isSymbolicLink(link) && Files.readString(target).equals("an older archive"));
        assertEquals(List.of(), staging(out), "nothing restored");
        // a stream: '-' wrote a file named '-'; /dev/stdout was told to give the path its link points to (helper-146)
        for (String stream : List.of("-", "/dev/stdout", "/proc/self/fd/1", "/dev/stderr", "/dev/fd/5")) {
            Cli.Result r = cli.run("export", store.toString(), "r@1", stream);
            assertEquals(ExitCode.ERROR, r.code(), r.toString());
            assertTrue(r.err().startsWith("ckpt-tool export: cannot write archive " + stream + ": export writes a file, not"
                    + " a stream (standard output, standard error or another open descriptor); give the path of a .tar.zst"
                    + " file"), r.toString());
            assertEquals("", r.out(), r.toString());
        }
        assertFalse(Files.exists(Path.of("-")), "no file named '-' in the working directory");
        // a regular file is replaced only if it is an earlier archive (a zstd frame) or empty: any other was replaced,
        // so "export S latest model.safetensors", the arguments mixed up, lost the user's file (helper-142)
        Path text = Files.writeString(out.resolve("notes.tar.zst"), "not an archive");
        Cli.Result refused = cli.run("export", store.toString(), "r@1", text.toString());
        assertEquals(ExitCode.ERROR, refused.code(), refused.toString());
        assertEquals("ckpt-tool export: cannot write archive " + text + ": a file that is not a zstd archive is there (14"
                + " bytes); export replaces only an earlier archive or an empty file: remove it or give another path (check"
                + " the order: ckpt-tool export STORE CKPT FILE.tar.zst); nothing was written",
                refused.err().lines().findFirst().orElseThrow(), refused.toString());
        assertEquals("not an archive", Files.readString(text));
        assertEquals(List.of(), staging(out), "nothing restored");
        Path three = Files.write(out.resolve("x.bin"), new byte[]{0x28, (byte) 0xB5, 0x2F}); // short of the magic
        assertEquals(ExitCode.ERROR, cli.run("export", store.toString(), "r@1", three.toString()).code());
        assertEquals(3, Files.size(three));
        Path empty = Files.createFile(out.resolve("empty.tar.zst"));
        assertEquals(0, cli.run("export", store.toString(), "r@1", empty.toString()).code(), "an empty file is replaced");
        assertTrue(Files.size(empty) > 0);
        Files.write(empty, "older".getBytes(StandardCharsets.UTF_8), java.nio.file.StandardOpenOption.APPEND);
        assertEquals(0, cli.run("export", store.toString(), "r@1", empty.toString()).code(), "an earlier archive is replaced");
        assertFalse(Files.readString(empty, StandardCharsets.ISO_8859_1).endsWith("older"), "replaced whole");
        assertEquals(0, cli.run("import", tmp.resolve("other").toString(), empty.toString(), "--run", "q", "--step", "1")
                .code(), "the new archive reads");
    }

    /** A file written at the archive's path while the export runs is not replaced by its rename: it is checked again. */
    @Test
    void aFileThatAppearsAtTheArchivesPathDuringTheExportIsKept() throws Exception {
        Path store = tmp.resolve("store");
        pushed(store, 12, 4 << 20);
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path archive = out.resolve("r1.tar.zst");
        Process p = export(store, archive);
        Path staged = await(p, out, d -> true);
        assertTrue(staged != null, "the export made its staging directory");
        Files.writeString(archive, "written meanwhile");
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(ExitCode.ERROR, p.exitValue(), said);
        assertTrue(said.contains("cannot write archive " + archive + ": a file that is not a zstd archive is there (17"
                + " bytes); export replaces only an earlier archive or an empty file: remove it or give another path (check"
                + " the order: ckpt-tool export STORE CKPT FILE.tar.zst) (it appeared while this export ran); nothing was"
                + " written"), said);
        assertEquals("written meanwhile", Files.readString(archive));
        assertEquals(List.of(), staging(out), "its staging directory removed");
        // a FIFO made there meanwhile is refused as one, never opened (helper-147: the export waited for a writer)
        Files.delete(archive);
        Process q = export(store, archive);
        assertTrue(await(q, out, d -> true) != null, "the export made its staging directory");
        assertEquals(0, new ProcessBuilder("mkfifo", archive.toString()).start().waitFor());
        assertTrue(q.waitFor(120, TimeUnit.SECONDS), "the export ended without a writer for the FIFO");
        String fifo = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(ExitCode.ERROR, q.exitValue(), fifo);
        assertTrue(fifo.contains("cannot write archive " + archive + ": it is not a regular file (a device, FIFO or socket)"),
                fifo);
        assertTrue(Files.exists(archive, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && !Files.isRegularFile(archive, java.nio.file.LinkOption.NOFOLLOW_LINKS), "the FIFO is left");
    }

    /** A missing or non-directory parent is refused before the restore, saying how to make it; a .tar name gets a note. */
    @Test
    void anArchiveInAMissingDirectoryIsRefusedAndANameWithoutZstIsNoted() throws Exception {
        Path store = tmp.resolve("store");
        pushed(store, 1, 1000);
        Path missing = tmp.resolve("no such/dir/r1.tar.zst");
        Cli.Result r = cli.run("export", store.toString(), "r@1", missing.toString());
        assertEquals(ExitCode.ERROR, r.code(), r.toString());
        assertTrue(r.err().contains("cannot write archive " + missing + ": its directory " + missing.getParent()
                + " does not exist (mkdir -p '" + missing.getParent() + "' makes it); give a path in an existing directory;"
                + " nothing was written"), r.toString());
        assertFalse(Files.exists(tmp.resolve("no such")), "nothing made");
        Path file = Files.writeString(tmp.resolve("plain"), "a file");
        Cli.Result underFile = cli.run("export", store.toString(), "r@1", file.resolve("r1.tar.zst").toString());
        assertEquals(ExitCode.ERROR, underFile.code(), underFile.toString());
        assertTrue(underFile.err().contains("its directory " + file + " is not a directory; give a path in an existing"
                + " directory; nothing was written"), underFile.toString());
        assertEquals("a file", Files.readString(file));

        Path tar = tmp.resolve("r1.tar");
        Cli.Result named = cli.run("export", store.toString(), "r@1", tar.toString());
        assertEquals(0, named.code(), named.toString());
        assertTrue(named.err().contains("note: " + tar + " holds a zstd-compressed tar, whatever its name; name it .tar.zst"
                + " to say so"), named.toString());
        Cli.Result zst = cli.run("export", store.toString(), "r@1", tmp.resolve("r1.tzst").toString());
        assertEquals(0, zst.code(), zst.toString());
        assertFalse(zst.err().contains("note:"), zst.toString());
        assertEquals(0, cli.run("import", tmp.resolve("other").toString(), tar.toString(), "--run", "q", "--step", "1").code(),
                "import reads it");
    }

    /** helper-100: "/" crashed, the store's ROOT was replaced, a dangling link was told to mkdir, a failure got the note. */
    @Test
    void anArchivePathOfTheStoresOwnFilesOrNoDirectoryIsRefusedWithWhatItIs() throws Exception {
        Path store = tmp.resolve("store");
        pushed(store, 1, 1000);
        byte[] root = Files.readAllBytes(store.resolve("ROOT"));
        for (String name : List.of("ROOT", ".locks-mine", "gc", "runs", "probe", "recovery")) { // gc, runs: helper-101
            Path at = store.resolve(name);
            Cli.Result r = cli.run("export", store.toString(), "r@1", at.toString());
            assertEquals(ExitCode.ERROR, r.code(), r.toString());
            assertTrue(r.err().contains("cannot write archive " + at + ": it is the store's own " + name + " in " + store
                    + "; give the archive another name; nothing was written"), r.toString());
            assertFalse(r.err().contains("note:"), "no note on a failure: " + r);
            assertTrue(name.equals("ROOT") || !Files.exists(at), name);
        }
        Path hard = Files.createLink(store.resolve("hl.tar.zst"), store.resolve("ROOT"));
        Cli.Result sameFile = cli.run("export", store.toString(), "r@1", hard.toString());
        assertTrue(sameFile.err().contains(": it is another name of the store's ROOT in " + store), sameFile.toString());
        Files.delete(hard);
        assertArrayEquals(root, Files.readAllBytes(store.resolve("ROOT")));
        assertEquals(0, cli.run("ls", store.toString()).code());
        Cli.Result top = cli.run("export", store.toString(), "r@1", store.resolve("r1.tar.zst").toString());
        assertEquals(0, top.code(), "at the store's top, another name is allowed: " + top);

        Cli.Result slash = cli.run("export", store.toString(), "r@1", "/");
        assertEquals(ExitCode.ERROR, slash.code(), slash.toString());
        assertTrue(slash.err().contains("cannot write archive /: it is a directory"), slash.toString());
        Cli.Result empty = cli.run("export", store.toString(), "r@1", "");
        assertEquals(ExitCode.USAGE, empty.code(), empty.toString());
        assertTrue(empty.err().contains("FILE.tar.zst is empty (an unset variable?): give FILE.tar.zst a value (the archive"
                + " to write); nothing was changed"), empty.toString());
        Path dangling = Files.createSymbolicLink(tmp.resolve("dang"), tmp.resolve("nonexistent"));
        Cli.Result link = cli.run("export", store.toString(), "r@1", dangling.resolve("x.tar.zst").toString());
        assertEquals(ExitCode.ERROR, link.code(), link.toString());
        assertTrue(link.err().contains("its directory " + dangling + " is a symbolic link to " + tmp.resolve("nonexistent")
                + ", which does not exist; give a path in an existing directory"), link.toString());
        Cli.Result deeper = cli.run("export", store.toString(), "r@1", dangling.resolve("sub/x.tar.zst").toString());
        assertTrue(deeper.err().contains("its directory " + dangling.resolve("sub") + " passes through " + dangling
                + ", which is a symbolic link to " + tmp.resolve("nonexistent") + ", which does not exist"), deeper.toString());
        Cli.Result missing = cli.run("export", store.toString(), "nosuch", tmp.resolve("plain").toString());
        assertTrue(missing.code() != 0 && !missing.err().contains("note:"), missing.toString());
    }

    /** A damaged chunk is said as the export's: it named the staging directory, deleted by then, and said to restore. */
    @Test
    void aDamagedChunkIsSaidAsTheExports() throws Exception {
        Path store = tmp.resolve("store");
        pushed(store, 1, 100_000);
        Path chunk;
        try (Stream<Path> s = Files.walk(store.resolve("chunks"))) {
            chunk = s.filter(Files::isRegularFile).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(chunk);
        b[b.length / 2] ^= 0x5a;
        Files.write(chunk, b);
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path archive = out.resolve("r1.tar.zst");
        Cli.Result r = cli.run("export", store.toString(), "r@1", archive.toString());
        assertTrue(r.code() != 0, r.toString());
        assertTrue(r.err().contains("cannot export checkpoint r@1: ") && r.err().contains("nothing was written to " + archive)
                && r.err().contains("export an earlier checkpoint"), r.toString());
        assertFalse(r.err().contains("-export"), "no staging path: " + r);
        assertEquals(List.of(), staging(out));
    }
}

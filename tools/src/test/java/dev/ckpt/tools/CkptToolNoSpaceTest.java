package dev.ckpt.tools;

import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A full disk on the writing side, for real: a 256 KiB tmpfs mounted in a private mount
 * namespace (see {@link MountNamespace}) under the restore target, the export archive,
 * the store of an import, $TMPDIR. Each command exits 1 with one line naming the path and
 * "No space left on device", no Java class name, and leaves nothing behind.
 */
class CkptToolNoSpaceTest {
    @TempDir
    Path tmp;

    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    @Test
    void restoreExportImportAndPushOnAFullDiskNameThePathAndTheReason() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        String store = tmp.resolve("store").toString();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("sub"));
        byte[] big = new byte[1 << 20]; // incompressible: the archive and the chunks are ~1 MiB too
        new Random(1).nextBytes(big);
        Files.write(src.resolve("sub/weights.bin"), big);
        Files.writeString(src.resolve("a.json"), "{}");
        Cli.Result push = cli.run("push", store, src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, push.code(), push.toString());
        Path archive = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", store, "r:latest", archive.toString()).code());

        Path full = Files.createDirectories(tmp.resolve("full"));
        Path target = full.resolve("restore");
        Path deep = full.resolve("new/deeper");
        Path out = full.resolve("r.tar.zst");
        Path fullStore = full.resolve("store");
        Path tmpdir = Files.createDirectories(full.resolve("tmp"));
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), MountNamespace.tmpfs(full, 256)
                        + " && mkdir " + MountNamespace.q(target) + " " + MountNamespace.q(tmpdir), Map.of("TMPDIR", tmpdir.toString()),
                List.of(MountNamespace.cmd("restore", store, "r:latest", target.toString()),
                        MountNamespace.cmd("restore", store, "r:latest", deep.toString()),
                        MountNamespace.cmd("export", store, "r:latest", out.toString()),
                        MountNamespace.cmd("import", fullStore.toString(), archive.toString(), "--run", "q", "--step", "1"),
                        MountNamespace.cmd("import", "mem://import-test", archive.toString(), "--run", "q", "--step", "1"),
                        MountNamespace.cmd("push", fullStore.toString(), src.toString(), "--run", "q", "--step", "1")),
                "cd " + MountNamespace.q(full) + " && find . | sort");
        String[] where = {target.toString(), deep.toString(), out.toString(), fullStore.toString(), tmpdir.toString(),
                fullStore.toUri().toString()};
        for (int i = 0; i < where.length; i++) {
            Cli.Result r = rs.get(i);
            assertEquals(1, r.code(), r.toString());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r);
            assertTrue(r.err().contains("No space left on device"), r.toString());
            assertTrue(r.err().contains(where[i]), "names " + where[i] + ": " + r);
            assertFalse(CkptToolErrorMessagesTest.JAVA.matcher(r.err()).find(), r.toString());
            assertFalse(r.err().contains("is it a .tar.zst"), "a full disk is not the archive's fault: " + r);
        }
        assertTrue(rs.get(0).err().contains("free space there"), rs.get(0).toString());
        // how much it needs, and how much there is (helper-103: a resume's restore said only "No space left")
        // measured before the restore wrote anything: at the failure its own temporaries had made it 0 B (helper-122)
        assertTrue(rs.get(0).err().matches("(?s).*No space left on device.*; the checkpoint needs 1\\.0 MiB there in all,"
                + " [\\d.]+ KiB was free when the restore began.*"), rs.get(0).toString());
        assertTrue(rs.get(4).err().contains("$TMPDIR"), rs.get(4).toString());
        // a save that failed before its commit says nothing was committed, as an interrupted one does (helper-122)
        assertTrue(rs.get(5).err().strip().endsWith("; nothing was committed"), rs.get(5).toString());
        for (int i : new int[]{3, 4}) { // the archive did not unpack
            assertTrue(rs.get(i).err().contains("nothing was imported"), rs.get(i).toString());
        }
        // a full store: its own dropped checkpoints may be what fills it (helper-123: a trainer failed 45 saves in a row)
        assertTrue(rs.get(5).err().contains("(the data of checkpoints that retention or forget dropped stays until ckpt-tool"
                + " gc file://" + fullStore + "/ deletes it)"), rs.get(5).toString());
        // how much the unpacking takes (helper-105: it said only "No space left")
        assertTrue(rs.get(4).err().contains("the checkpoint's files take up to 1.0 MiB there (runs of zeros take none)"),
                rs.get(4).toString());
        // what is left on the full disk: the two directories made before, the store the push created
        // (ROOT and the claimed writer), nothing of the restores, the export or the imports
        List<String> left = rs.get(where.length).out().lines().filter(l -> !l.startsWith("./store")).toList();
        assertEquals(List.of(".", "./restore", "./tmp"), left, rs.get(where.length).out());
    }

    /**
     * helper-105: a checkpoint with a 4 MiB sparse file exports to a few KiB, restores as a sparse file, and its
     * import took the whole 4 MiB where it unpacks (in $TMPDIR for S3): on a 256 KiB disk it failed. Runs of zeros are unpacked as holes now,
     * and the imported checkpoint is the same bytes.
     */
    @Test
    void anImportUnpacksRunsOfZerosAsHoles() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        String store = tmp.resolve("store").toString();
        Path src = Files.createDirectories(tmp.resolve("src"));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(src.resolve("sparse.bin").toFile(), "rw")) {
            f.seek(1 << 20);
            f.write(7); // a byte past 1 MiB of zeros, then 3 MiB more of them
            f.setLength(4 << 20);
        }
        Files.writeString(src.resolve("a.json"), "{}");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "r", "--step", "1").code());
        Path archive = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", store, "r:latest", archive.toString()).code());
        Path full = Files.createDirectories(tmp.resolve("full"));
        Path onFull = full.resolve("store"); // a local store unpacks inside its directory: here, on the small disk
        Path out = tmp.resolve("out");
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), MountNamespace.tmpfs(full, 256) + " && cp -a "
                        + MountNamespace.q(Path.of(store)) + " " + MountNamespace.q(onFull), Map.of(),
                List.of(MountNamespace.cmd("import", onFull.toString(), archive.toString(), "--run", "q", "--step", "1"),
                        MountNamespace.cmd("restore", onFull.toString(), "q@1", out.toString())), "true");
        assertEquals(0, rs.get(0).code(), rs.get(0).toString());
        assertEquals(0, rs.get(1).code(), rs.get(1).toString());
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(src.resolve("sparse.bin")),
                Files.readAllBytes(out.resolve("sparse.bin"))), "the same bytes");
    }

    /**
     * gc and forget on a store whose disk is full: both write ROOT before they free anything, so
     * "use another directory" was no advice (helper-103); they say what they need, ROOT's size
     * included, in one line, and the store is unchanged.
     */
    @Test
    void gcAndForgetOnAFullDiskSayTheyNeedRoomForRoot() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        Path store = tmp.resolve("store");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 10_000);
        for (String step : new String[] {"1", "2"}) {
            assertEquals(0, cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", step).code());
        }
        Path full = Files.createDirectories(tmp.resolve("full"));
        Path onFull = full.resolve("store");
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), MountNamespace.tmpfs(full, 512) + " && cp -a "
                        + MountNamespace.q(store) + " " + MountNamespace.q(onFull) + " && (dd if=/dev/zero of="
                        + MountNamespace.q(full.resolve("fill")) + " bs=1k 2>/dev/null || true)", Map.of(),
                List.of(MountNamespace.cmd("gc", onFull.toString(), "--grace", "0s"),
                        MountNamespace.cmd("forget", onFull.toString(), "--run", "r", "--keep-last", "1"),
                        MountNamespace.cmd("pin", onFull.toString(), "r@1")),
                "cmp " + MountNamespace.q(store.resolve("ROOT")) + " " + MountNamespace.q(onFull.resolve("ROOT")) + " && echo same");
        String size = dev.ckpt.store.util.Sizes.human(Files.size(store.resolve("ROOT")));
        String[] then = {"run gc again", "run forget again, then gc to delete what it forgot"};
        for (int i = 0; i < then.length; i++) {
            Cli.Result r = rs.get(i);
            assertEquals(1, r.code(), r.toString());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r);
            assertTrue(r.err().contains("No space left on device; " + (i == 0 ? "gc" : "forget") + " writes a new copy of ROOT ("
                    + size + ") before it frees anything: free that much outside the store, then " + then[i]), r.toString());
            assertFalse(r.err().contains("use another directory"), r.toString());
            assertFalse(CkptToolErrorMessagesTest.JAVA.matcher(r.err()).find(), r.toString());
        }
        Cli.Result pin = rs.get(then.length);
        assertEquals(1, pin.code(), pin.toString());
        assertTrue(pin.err().contains("No space left on device; pin writes a new copy of ROOT (" + size + "): free that much"
                + " outside the store, then run pin again"), pin.toString());
        assertTrue(rs.get(then.length + 1).out().contains("same"), "ROOT unchanged: " + rs.get(then.length + 1));
    }

    @Test
    void importStagesInTmpdirForAStoreThatIsNotLocal() throws Exception {
        String store = tmp.resolve("store").toString();
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 10_000);
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "r", "--step", "1").code());
        Path archive = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", store, "r:latest", archive.toString()).code());
        Path nowhere = tmp.resolve("no-such-tmpdir");
        Cli withTmpdir = new Cli(Map.of("TMPDIR", nowhere.toString()), "--progress", "none");
        Cli.Result r = withTmpdir.run("import", "mem://tmpdir-test", archive.toString(), "--run", "q", "--step", "1");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("into " + nowhere + ": does not exist"), r.toString());
        Path roomy = Files.createDirectories(tmp.resolve("roomy"));
        Cli.Result ok = new Cli(Map.of("TMPDIR", roomy.toString()), "--progress", "none")
                .run("import", "mem://tmpdir-test", archive.toString(), "--run", "q", "--step", "1");
        assertEquals(0, ok.code(), ok.toString());
        try (var s = Files.list(roomy)) {
            assertEquals(0, s.count(), "the staging directory is removed");
        }
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A store on a real read-only mount (a bind mount remounted read-only in a private mount
 * namespace, see {@link MountNamespace}), as on an evaluation node or a filesystem
 * snapshot: every command that only reads works, every write is refused naming the store,
 * and doctor reports the store as read-only.
 */
class CkptToolReadOnlyMountTest {
    @TempDir
    Path tmp;

    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    private String push(String store, Path dir, String run, long step) {
        Cli.Result r = cli.run("push", store, dir.toString(), "--run", run, "--step", Long.toString(step));
        assertEquals(0, r.code(), r.toString());
        return r.out().trim();
    }

    @Test
    void everyReadingCommandWorksAndEveryWriteIsRefusedNamingTheStore() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        String store = tmp.resolve("store").toString();
        Path src1 = TestDirs.checkpoint(tmp.resolve("src1"), 1, 3, 40_000);
        Path src2 = TestDirs.checkpoint(tmp.resolve("src2"), 2, 3, 40_000);
        String a = push(store, src1, "r", 1);
        String b = push(store, src2, "r", 2);
        Map<String, byte[]> before = TestDirs.snapshot(Path.of(store));
        Path out = tmp.resolve("out");
        Path archive = tmp.resolve("b.tar.zst");

        List<List<String>> reads = List.of(
                MountNamespace.cmd("ls", store), MountNamespace.cmd("ls", store, "--json"), MountNamespace.cmd("show", store, b), MountNamespace.cmd("verify", store),
                MountNamespace.cmd("verify", store, "--read-data"), MountNamespace.cmd("restore", store, "r:latest", out.toString()),
                MountNamespace.cmd("stats", store), MountNamespace.cmd("diff", store, a, b), MountNamespace.cmd("export", store, b, archive.toString()),
                MountNamespace.cmd("doctor", store), MountNamespace.cmd("doctor", store, "--json"), MountNamespace.cmd("gc", store, "--dry-run", "--grace", "0s"),
                MountNamespace.cmd("init", store), // idempotent: ROOT exists, nothing to write
                MountNamespace.cmd("unpin", store, a)); // not pinned: nothing to write
        List<List<String>> writes = List.of(
                MountNamespace.cmd("push", store, src1.toString(), "--run", "r", "--step", "3"), MountNamespace.cmd("forget", store, a),
                MountNamespace.cmd("forget", store, "--run", "r", "--keep-last", "1"), MountNamespace.cmd("pin", store, a),
                MountNamespace.cmd("gc", store, "--grace", "0s"), MountNamespace.cmd("verify", store, "--read-data", "--record"),
                MountNamespace.cmd("import", store, archive.toString(), "--run", "q", "--step", "1"));
        List<List<String>> all = new ArrayList<>(reads);
        all.addAll(writes);
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), MountNamespace.readOnly(Path.of(store)), Map.of(),
                all, null);

        for (int i = 0; i < reads.size(); i++) {
            Cli.Result r = rs.get(i);
            assertEquals(0, r.code(), reads.get(i) + "\n" + r);
            assertFalse(r.err().contains("writable"), reads.get(i) + "\n" + r);
        }
        assertTrue(rs.get(0).out().contains(a) && rs.get(0).out().contains(b), rs.get(0).toString());
        TestDirs.assertSameTree(TestDirs.snapshot(src2), out);
        assertTrue(Files.size(archive) > 0);
        Cli.Result doctor = rs.get(9);
        assertTrue(doctor.out().contains("store is read-only (Read-only file system)"), doctor.toString());
        assertTrue(rs.get(10).json().get("readOnly").asBoolean(), rs.get(10).toString());
        assertEquals("Read-only file system", rs.get(10).json().get("readOnlyReason").asText());

        String named = "store " + Path.of(store).toUri() + " is read-only (Read-only file system)";
        for (int i = 0; i < writes.size(); i++) {
            Cli.Result r = rs.get(reads.size() + i);
            String command = writes.get(i).get(0);
            assertEquals(1, r.code(), writes.get(i) + "\n" + r);
            assertTrue(r.err().startsWith("ckpt-tool " + command + ": " + named), writes.get(i) + "\n" + r);
            assertTrue(r.err().contains("writes need the store on a writable mount")
                    || r.err().contains("import writes a checkpoint into it"), r.toString());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r);
        }
        TestDirs.assertSameTree(before, Path.of(store));
    }

    @Test
    void aRestoreIntoADirectoryWithAReadOnlySubdirectoryChangesNothing() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        String store = tmp.resolve("store").toString();
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("m"));
        Files.writeString(src.resolve("a.bin"), "new a");
        Files.writeString(src.resolve("m/b.bin"), "new b");
        String id = push(store, src, "r", 1);
        Path target = tmp.resolve("target");
        Files.createDirectories(target.resolve("m"));
        Files.writeString(target.resolve("a.bin"), "old a");
        Files.writeString(target.resolve("m/b.bin"), "old b");
        Map<String, byte[]> before = TestDirs.snapshot(target);
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), MountNamespace.readOnly(target.resolve("m")), Map.of(),
                List.of(MountNamespace.cmd("restore", store, id, target.toString())), "ls -a " + MountNamespace.q(target));
        Cli.Result r = rs.get(0);
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("directory " + target.resolve("m") + " is not writable (Read-only file system)"),
                r.toString());
        TestDirs.assertSameTree(before, target);
        assertEquals(List.of(".", "..", "a.bin", "m"), rs.get(1).out().lines().toList());
    }
}

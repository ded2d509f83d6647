package dev.ckpt.tools;

import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code doctor} on a local store finds what stands where a push must write, though its
 * probe (scratch objects under probe/, with lock files of their own) passes: a directory at
 * ROOT's lock file, a file where the store keeps a directory. It said "can hold checkpoints
 * safely" (exit 0) for a store every push to would refuse.
 */
class DoctorObstructionCliTest {
    @TempDir
    Path tmp;

    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    private Path pushedStore() throws Exception {
        Path store = tmp.resolve("store");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 10_000);
        Cli.Result p = cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, p.code(), p.toString());
        return store;
    }

    private static Path rootLockFile(Path store) throws Exception {
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ROOT".getBytes()));
        return store.resolve(".locks").resolve(md5 + ".lock");
    }

    @Test
    void aSoundStorePassesTheCheck() throws Exception {
        Path store = pushedStore();
        Cli.Result d = cli.run("doctor", store.toString());
        assertEquals(0, d.code(), d.toString());
        assertTrue(d.out().matches("(?s).*ok +nothing stands where the store writes.*"), d.toString());
    }

    @Test
    void aDirectoryAtRootsLockFileFailsDoctorNamingIt() throws Exception {
        Path store = pushedStore();
        Path lock = rootLockFile(store);
        Files.deleteIfExists(lock);
        Files.createDirectories(lock);
        Cli.Result d = cli.run("doctor", store.toString());
        assertEquals(1, d.code(), d.toString());
        assertTrue(d.out().contains("FAIL nothing stands where the store writes"), d.toString());
        assertTrue(d.out().contains("a directory is in its place (" + lock + ")"), d.toString());
        assertTrue(d.out().contains("move it out of the store"), d.toString());
        assertFalse(d.out().contains("can hold checkpoints safely"), d.toString());
        // what doctor said is what a push meets
        Path src2 = TestDirs.checkpoint(tmp.resolve("src2"), 2, 1, 1_000);
        Cli.Result p = cli.run("push", store.toString(), src2.toString(), "--run", "r", "--step", "2");
        assertEquals(1, p.code(), p.toString());
        assertTrue(p.err().contains(lock.toString()), p.toString());
    }

    @Test
    void aFileWhereTheStoreKeepsADirectoryFailsDoctorNamingEach() throws Exception {
        Path store = pushedStore();
        Path fanOut;
        try (Stream<Path> s = Files.list(store.resolve("chunks"))) {
            fanOut = s.sorted().findFirst().orElseThrow();
        }
        Path moved = tmp.resolve("moved-fan-out");
        Files.move(fanOut, moved);
        Files.writeString(fanOut, "not a directory");
        Files.writeString(store.resolve("gc"), "");
        Cli.Result d = cli.run("doctor", store.toString());
        assertEquals(1, d.code(), d.toString());
        assertTrue(d.out().contains("a file is where the store keeps a directory (" + fanOut + ")"), d.toString());
        assertTrue(d.out().contains("a file is where the store keeps a directory (" + store.resolve("gc") + ")"),
                d.toString());
        // --json carries the same check
        Cli.Result j = cli.run("doctor", store.toString(), "--json");
        assertEquals(1, j.code(), j.toString());
        assertTrue(j.json().get("checks").toString().contains(fanOut.toString()), j.toString());
        // moved back, the store passes again
        Files.delete(fanOut);
        Files.move(moved, fanOut);
        Files.delete(store.resolve("gc"));
        assertEquals(0, cli.run("doctor", store.toString()).code());
    }
}

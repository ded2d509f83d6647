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

    /** Replaces ROOT's lock file of {@code store} with an empty directory; returns its path. */
    private static Path directoryAtRootsLockFile(Path store) throws Exception {
        Path lock = rootLockFile(store);
        Files.deleteIfExists(lock);
        return Files.createDirectories(lock);
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
        Path lock = directoryAtRootsLockFile(store);
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

    /**
     * From a helper's tryout: a dangling link at ROOT passed doctor, and push and init then
     * spun 30 s and exited 4 ("heavy contention", retry); a file at .locks or probe/ made
     * doctor say the store did not answer (exit 7); a stray file under chunks/ failed it; a
     * link at chunks (to a real directory) passed it, though the listing does not follow it.
     */
    @Test
    void linksAndStrayFilesAreJudgedAsAPushAndAListingMeetThem() throws Exception {
        Path fresh = tmp.resolve("fresh");
        Files.createDirectories(fresh);
        Files.createSymbolicLink(fresh.resolve("ROOT"), tmp.resolve("nowhere"));
        Cli.Result d = cli.run("doctor", fresh.toString());
        assertEquals(1, d.code(), d.toString());
        assertTrue(d.out().contains("a symbolic link that leads nowhere (to " + tmp.resolve("nowhere") + ") is in its place ("
                + fresh.resolve("ROOT") + ")"), d.toString());
        long t0 = System.nanoTime();
        Cli.Result p = cli.run("push", fresh.toString(), TestDirs.checkpoint(tmp.resolve("s"), 3, 1, 100).toString(), "--run",
                "r", "--step", "1");
        assertEquals(1, p.code(), p.toString());
        assertTrue(p.err().contains("a symbolic link that leads nowhere") && p.err().contains(fresh.resolve("ROOT").toString()),
                p.toString());
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 20_000, "refused at once, not retried as contention");

        Path store = pushedStore();
        Files.writeString(store.resolve("chunks").resolve("README.txt"), "notes of an operator");
        assertEquals(0, cli.run("doctor", store.toString()).code(), "a stray file under chunks/ is in nobody's way");
        for (String dir : new String[]{".locks", "probe"}) {
            Path at = store.resolve(dir);
            Path moved = tmp.resolve("moved-" + dir);
            if (Files.exists(at)) {
                Files.move(at, moved);
            }
            Files.writeString(at, "");
            Cli.Result r = cli.run("doctor", store.toString());
            assertEquals(1, r.code(), "someone must move it: not 'the store did not answer'\n" + r);
            assertTrue(r.out().contains("a file is where the store keeps a directory (" + at + ")")
                    && !r.out().contains("did not answer"), r.toString());
            Files.delete(at);
            if (Files.exists(moved)) {
                Files.move(moved, at);
            }
        }
        Path outside = tmp.resolve("outside-chunks");
        Files.move(store.resolve("chunks"), outside);
        Files.createSymbolicLink(store.resolve("chunks"), outside);
        Cli.Result linked = cli.run("doctor", store.toString());
        assertEquals(1, linked.code(), linked.toString());
        assertTrue(linked.out().contains("a symbolic link is where the store keeps a directory (" + store.resolve("chunks")
                + "), which the store's listing does not follow"), linked.toString());
        Cli.Result v = cli.run("verify", store.toString());
        assertEquals(3, v.code(), v.toString());
        assertTrue(v.out().contains("which the store's listing does not follow"), v.toString());
    }

    /** Each thing in the way is named, though ROOT's own place is taken too (a helper saw only ROOT named). */
    @Test
    void aDirectoryAtRootAndAtItsLockFileAreBothNamed() throws Exception {
        Path store = pushedStore();
        Path lock = directoryAtRootsLockFile(store);
        Files.move(store.resolve("ROOT"), tmp.resolve("ROOT-moved"));
        Files.createDirectory(store.resolve("ROOT"));
        Cli.Result d = cli.run("doctor", store.toString());
        assertEquals(1, d.code(), d.toString());
        assertTrue(d.out().contains("a directory is in its place (" + store.resolve("ROOT") + ")")
                && d.out().contains("a directory is in its place (" + lock + "), where the store keeps a lock file"),
                d.toString());
    }

    /**
     * doctor of a location that holds no store says so and how to make one, and leaves
     * nothing there: it had said "this store can hold checkpoints safely", created a missing
     * directory and left {@code .locks/} in a directory of user files (helper-95). In a store,
     * its own lock files stay.
     */
    @Test
    void doctorOfALocationWithoutAStoreSaysSoAndLeavesNothing() throws Exception {
        Path missing = tmp.resolve("new/deeper");
        Cli.Result r = cli.run("doctor", missing.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("no store here yet; one made here can hold checkpoints safely (ckpt-tool init "
                + missing + " makes it)"), r.out());
        assertFalse(Files.exists(tmp.resolve("new")), "no directory made");

        Path user = Files.createDirectories(tmp.resolve("user files"));
        Files.writeString(user.resolve("notes.txt"), "a user's file");
        Cli.Result j = cli.run("doctor", user.toString(), "--json");
        assertEquals(0, j.code(), j.toString());
        assertFalse(j.json().get("holdsStore").asBoolean(), j.toString());
        try (Stream<Path> s = Files.list(user)) {
            assertEquals(java.util.List.of(user.resolve("notes.txt")), s.toList(), "only the user's file is left");
        }

        Path store = pushedStore();
        Path rootLock = rootLockFile(store);
        assertTrue(Files.isRegularFile(rootLock));
        Cli.Result d = cli.run("doctor", store.toString(), "--json");
        assertEquals(0, d.code(), d.toString());
        assertTrue(d.json().get("holdsStore").asBoolean(), d.toString());
        assertTrue(Files.isRegularFile(rootLock), "the store's own lock file stays");
        try (Stream<Path> s = Files.list(store.resolve(".locks"))) {
            assertEquals(java.util.List.of(rootLock), s.toList(), "the probe's lock files are removed");
        }
    }

    /**
     * A store whose {@code .locks} is a link keeps it through a doctor: the probe's clean-up
     * unlinked it, and the next push made a new {@code .locks} while another process held
     * ROOT's lock through the link (helper-96). doctor reports the link.
     */
    @Test
    void doctorNeverUnlinksALinkedLocksDirectory() throws Exception {
        Path store = pushedStore();
        Path real = tmp.resolve("locks-elsewhere");
        Files.move(store.resolve(".locks"), real);
        Files.createSymbolicLink(store.resolve(".locks"), real);
        Cli.Result d = cli.run("doctor", store.toString());
        assertTrue(d.out().contains("a symbolic link"), d.toString());
        assertTrue(Files.isSymbolicLink(store.resolve(".locks")), "the link stays");
        assertTrue(Files.isRegularFile(real.resolve(rootLockFile(store).getFileName())), "ROOT's lock file stays");
    }
}

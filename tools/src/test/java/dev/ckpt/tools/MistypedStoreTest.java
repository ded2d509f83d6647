package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Found by a new-user tryout: a reading command on a mistyped local path created the
 * directory and answered as for an empty store (ls "no checkpoints", verify "ok", exit 0).
 * Every command that only reads now refuses a path that does not exist, naming it, and
 * creates nothing; init, push and import (and doctor, which probes writes) still create it.
 */
class MistypedStoreTest {
    @TempDir
    Path tmp;
    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    @Test
    void readingCommandsRefuseAStorePathThatDoesNotExistAndCreateNothing() {
        Path typo = tmp.resolve("typo-store");
        for (String url : List.of(typo.toString(), typo.toUri().toString())) {
            for (String[] args : List.of(new String[]{"ls", url}, new String[]{"verify", url}, new String[]{"stats", url},
                    new String[]{"show", url, "latest"}, new String[]{"restore", url, "latest", tmp.resolve("o").toString()},
                    new String[]{"gc", url, "--dry-run"}, new String[]{"gc", url}, new String[]{"forget", url, "--keep-last", "1"},
                    new String[]{"pin", url, "x"}, new String[]{"diff", url, "a", "b"},
                    new String[]{"export", url, "latest", tmp.resolve("x.tar.zst").toString()},
                    new String[]{"recover", url})) {
                Cli.Result r = cli.run(args);
                assertEquals(ExitCode.ERROR, r.code(), String.join(" ", args) + ": " + r);
                assertTrue(r.err().contains("no store at " + typo) && r.err().contains("does not exist"), r.err());
                assertFalse(Files.exists(typo), String.join(" ", args) + " created " + typo);
            }
        }
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    /**
     * From a tryout: gc racing a failing import into a new store wrote ROOT, a lock and a GC
     * record into the directory the import had just made, so a store was left behind. A
     * directory without ROOT or manifests has nothing to collect: gc writes nothing, and (since
     * a later tryout, below) says it holds no store.
     */
    @Test
    void gcOfADirectoryThatHoldsNoStoreWritesNothing() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Cli.Result r = cli.run("gc", empty.toString());
        assertEquals(ExitCode.ERROR, r.code(), r.toString());
        assertTrue(r.err().contains("no ckpt store at " + empty.toUri()), r.toString());
        try (var listing = Files.list(empty)) {
            assertEquals(List.of(), listing.toList(), "gc wrote into a directory that holds no store");
        }
    }

    /**
     * From a new-user tryout (helper-91): {@code ls} of a directory that exists but holds no
     * store (the training's staging directory, typed for the store's) listed nothing and exited
     * 0, as did verify ("ok: 0 checkpoints"), stats and gc. Every command that reads or changes
     * a store now refuses a directory with no ROOT, manifests/ or chunks/, naming it, and writes
     * nothing into it; an empty directory likewise.
     */
    @Test
    void everyReadingCommandRefusesADirectoryThatHoldsNoStoreAndWritesNothing() throws Exception {
        Path staging = Files.createDirectories(tmp.resolve("ckpt-staging/latentwire/step-200"));
        Files.writeString(staging.resolve("model.safetensors"), "weights");
        Path notAStore = tmp.resolve("ckpt-staging");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        for (Path dir : List.of(notAStore, empty)) {
            List<Path> before;
            try (var walk = Files.walk(dir)) {
                before = walk.sorted().toList();
            }
            for (String url : List.of(dir.toString(), dir.toUri().toString())) {
                for (String[] args : List.of(new String[]{"ls", url}, new String[]{"verify", url},
                        new String[]{"verify", url, "--read-data"}, new String[]{"stats", url},
                        new String[]{"show", url, "latest"}, new String[]{"restore", url, "latest", tmp.resolve("o").toString()},
                        new String[]{"gc", url, "--dry-run"}, new String[]{"gc", url}, new String[]{"forget", url, "--keep-last", "1"},
                        new String[]{"forget", url, "x"}, new String[]{"pin", url, "x"}, new String[]{"unpin", url, "x"},
                        new String[]{"diff", url, "a", "b"}, new String[]{"ls", url, "--json"}, new String[]{"recover", url},
                        new String[]{"recover", url, "--apply", "--force"},
                        new String[]{"export", url, "latest", tmp.resolve("x.tar.zst").toString()})) {
                    Cli.Result r = cli.run(args);
                    String what = String.join(" ", args);
                    assertEquals(ExitCode.ERROR, r.code(), what + ": " + r);
                    assertTrue(r.err().contains("no ckpt store at " + dir.toUri() + ": it holds no ROOT, manifests/ or"
                            + " chunks/; check the path"), what + ": " + r.err());
                    assertFalse(r.err().contains("Exception"), r.err());
                    try (var walk = Files.walk(dir)) {
                        assertEquals(before, walk.sorted().toList(), what + " wrote into " + dir);
                    }
                }
            }
        }
        assertFalse(Files.exists(tmp.resolve("o")));
        assertFalse(Files.exists(tmp.resolve("x.tar.zst")));
    }

    /**
     * A store a save began but never committed to (killed before its first commit) holds
     * chunks/ and no ROOT: it is a store with no checkpoints, not refused. (gc runs and writes
     * nothing there, as in a directory with no ROOT at all: the next save's commit makes it
     * a store gc collects.)
     */
    @Test
    void aStoreWithChunksButNoCommitYetIsAnEmptyStore() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        Path store = tmp.resolve("s");
        assertEquals(0, cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "1").code());
        Files.delete(store.resolve("ROOT"));
        try (var m = Files.walk(store.resolve("manifests"))) {
            for (Path p : m.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        Cli.Result ls = cli.run("ls", store.toString());
        assertEquals(0, ls.code(), ls.toString());
        assertTrue(ls.err().contains("no checkpoints in " + store.toUri()), ls.toString());
        Cli.Result gc = cli.run("gc", store.toString(), "--grace", "0s");
        assertEquals(0, gc.code(), gc.toString());
        assertFalse(Files.exists(store.resolve("ROOT")), "gc wrote a ROOT");
        Cli.Result verify = cli.run("verify", store.toString());
        assertEquals(0, verify.code(), verify.toString());
    }

    /**
     * A location that holds only the probe's scratch objects (a push or doctor interrupted at
     * its first write) is no store, and the refusal says what they are and how to be rid of
     * them: init, then gc once they are an hour old (a break helper found no ckpt-tool command
     * could clean such a prefix).
     */
    @Test
    void aLocationWithOnlyAnInterruptedProbesObjectsSaysSoAndInitThenGcRemovesThem() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("probed/probe"));
        Path scratch = Files.write(dir.resolve("0123456789abcdef"), new byte[]{1});
        String store = tmp.resolve("probed").toString();
        Cli.Result ls = cli.run("ls", store);
        assertEquals(ExitCode.ERROR, ls.code(), ls.toString());
        assertTrue(ls.err().contains("holds no ROOT, manifests/ or chunks/ (only probe/, the scratch objects of an"
                + " interrupted check of conditional writes: ckpt-tool init " + tmp.resolve("probed").toUri()
                + " makes a store here"), ls.toString());
        Files.createDirectories(tmp.resolve("probed-and-more/probe"));
        Files.writeString(tmp.resolve("probed-and-more/notes.txt"), "a user's file");
        Files.write(tmp.resolve("probed-and-more/probe/0123456789abcdef"), new byte[]{1});
        Cli.Result more = cli.run("ls", tmp.resolve("probed-and-more").toString());
        assertEquals(ExitCode.ERROR, more.code(), more.toString());
        assertTrue(!more.err().contains("only probe/") && !more.err().contains("makes a store here"),
                "more than the probe's objects there: no advice to init: " + more);
        assertEquals(0, cli.run("init", store).code());
        Files.setLastModifiedTime(scratch, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minusSeconds(7200)));
        Cli.Result gc = cli.run("gc", store);
        assertEquals(0, gc.code(), gc.toString());
        assertTrue(!Files.exists(scratch), gc.toString());
    }

    /**
     * An import killed as it unpacked into a new store leaves only its hidden staging
     * directory: no store, and the refusal names the directory and how to remove it
     * (helper-94: 100 MB that no command could clean or name).
     */
    @Test
    void aDirectoryWithOnlyAKilledImportsStagingDirectoryNamesIt() throws Exception {
        Path dir = tmp.resolve("it's new");
        Path staging = Files.createDirectories(dir.resolve(".ckpt-0123456789ab-import/model"));
        Files.writeString(staging.resolve("w.bin"), "weights");
        Cli.Result ls = cli.run("ls", dir.toString());
        assertEquals(ExitCode.ERROR, ls.code(), ls.toString());
        String rm = "rm -r '" + dir.toString().replace("'", "'\\''") + "/.ckpt-0123456789ab-import'";
        assertTrue(ls.err().contains("(only " + dir.resolve(".ckpt-0123456789ab-import") + ", the directory of an import"
                + " making a store here, written in the last hour: it may be running now; if none is, delete it, " + rm + ")"),
                ls.toString());
        assertTrue(Files.exists(staging.resolve("w.bin")), "nothing removed by ls");
        Files.setLastModifiedTime(staging.getParent(), java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minusSeconds(7200)));
        Files.createDirectories(dir.resolve(".ckpt-0123456789ac-export"));
        Cli.Result old = cli.run("ls", dir.toString());
        assertTrue(old.err().contains("(only " + dir.resolve(".ckpt-0123456789ab-import") + " and 1 more import or export"
                + " directory, the directory of an import making a store here, killed over an hour ago: delete it, " + rm
                + ")"), old.toString());
        Files.writeString(dir.resolve(".ckpt-0123456789ad-export"), "a user's file of that name");
        assertTrue(cli.run("ls", dir.toString()).err().contains("and 1 more import or export directory,"), "a file is none");
    }

    @Test
    void initPushAndImportCreateTheStore() throws Exception {
        assertEquals(0, cli.run("init", tmp.resolve("a").toString()).code());
        assertTrue(Files.isDirectory(tmp.resolve("a")));
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        assertEquals(0, cli.run("push", tmp.resolve("b").toString(), src.toString(), "--run", "r", "--step", "1").code());
        Path archive = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", tmp.resolve("b").toString(), "latest", archive.toString()).code());
        Cli.Result imp = cli.run("import", tmp.resolve("c").toString(), archive.toString(), "--run", "r", "--step", "1");
        assertEquals(0, imp.code(), imp.toString());
        assertEquals(0, cli.run("ls", tmp.resolve("c").toString()).code());
    }
}

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

    @Test
    void readingCommandsRefuseAStorePathThatDoesNotExistAndCreateNothing() {
        Cli cli = new Cli(Map.of(), "--progress", "none");
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
     * directory without ROOT or manifests has nothing to collect: gc says so and writes nothing.
     */
    @Test
    void gcOfADirectoryThatHoldsNoStoreWritesNothing() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Cli.Result r = cli.run("gc", empty.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("deleted 0 objects"), r.toString());
        try (var listing = Files.list(empty)) {
            assertEquals(List.of(), listing.toList(), "gc wrote into a directory that holds no store");
        }
    }

    @Test
    void initPushAndImportCreateTheStore() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
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

package dev.ckpt.tools;

import dev.ckpt.store.LongNamesTest;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Every path push accepts restores, exports and imports, on the same filesystem, up to the
 * platform's limits: names of 1..255 bytes (multi-byte UTF-8 ones too), a deep path, and
 * an archive whose own name is 255 bytes. No temporary name derives from a user's name.
 */
class CkptToolLongNamesTest {
    @TempDir
    Path tmp;

    @Test
    void namesUpTo255BytesAndDeepPathsPushRestoreExportAndImport() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path src = LongNamesTest.longNamesDir(tmp.resolve("s"), 12);
        String store = tmp.resolve("a").toString();
        Cli.Result push = cli.run("push", store, src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, push.code(), push.toString());

        Cli.Result restore = cli.run("restore", store, "r:latest", tmp.resolve("o").toString());
        assertEquals(0, restore.code(), restore.toString());
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("o"));

        Path archive = tmp.resolve("e".repeat(247) + ".tar.zst"); // a 255-byte name
        Cli.Result export = cli.run("export", store, "r:latest", archive.toString());
        assertEquals(0, export.code(), export.toString());
        try (var s = Files.list(tmp)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".")), "no staging left next to the archive");
        }

        String other = tmp.resolve("b").toString();
        Cli.Result imp = cli.run("import", other, archive.toString(), "--run", "q", "--step", "1");
        assertEquals(0, imp.code(), imp.toString());
        Cli.Result back = cli.run("restore", other, "q:latest", tmp.resolve("p").toString());
        assertEquals(0, back.code(), back.toString());
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("p"));
    }
}

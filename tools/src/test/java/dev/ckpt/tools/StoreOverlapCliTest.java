package dev.ckpt.tools;

import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A local store and the directory a command reads or writes must not overlap: a push of
 * the store into itself failed with "ROOT changed ... push again" (which never succeeds), a
 * restore into the store's directory put the checkpoint's files beside ROOT, and an archive
 * exported into manifests/ was deleted by the next gc (helper-98).
 */
class StoreOverlapCliTest {
    @TempDir
    Path tmp;
    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    @Test
    void pushRestoreAndExportRefuseToOverlapTheStore() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path store = work.resolve("ckpt-store");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 2000);
        assertEquals(0, cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "1").code());
        Map<String, byte[]> before = TestDirs.snapshot(store);
        Path linked = Files.createSymbolicLink(tmp.resolve("link-to-store"), store);

        Cli.Result self = cli.run("push", store.toString(), store.toString(), "--run", "self", "--step", "1");
        assertEquals(ExitCode.ERROR, self.code(), self.toString());
        assertTrue(self.err().contains("cannot push " + store + ": it is the store; push a directory outside the store,"
                + " or move the store out of it; nothing was written"), self.toString());
        Cli.Result parent = cli.run("push", store.toString(), work.toString(), "--run", "self", "--step", "1");
        assertTrue(parent.err().contains("cannot push " + work + ": it holds the store " + store), parent.toString());
        Cli.Result viaLink = cli.run("push", linked.toString(), store.resolve("chunks").toString(), "--run", "s", "--step", "1");
        assertTrue(viaLink.err().contains(": it is inside the store "), "the same place by another name: " + viaLink);

        Cli.Result into = cli.run("restore", store.toString(), "r@1", store.toString());
        assertEquals(ExitCode.ERROR, into.code(), into.toString());
        assertTrue(into.err().contains("cannot restore into " + store + ": it is the store; restore into a directory"
                + " outside the store; nothing was written"), into.toString());
        Cli.Result below = cli.run("restore", store.toString(), "r@1", store.resolve("restored").toString());
        assertTrue(below.err().contains("it is inside the store"), below.toString());

        Cli.Result amongObjects = cli.run("export", store.toString(), "r@1", store.resolve("manifests/r1.tar.zst").toString());
        assertEquals(ExitCode.ERROR, amongObjects.code(), amongObjects.toString());
        assertTrue(amongObjects.err().contains("it is inside the store " + store + ", among its objects"), amongObjects.toString());
        // through a link and "..": where the system goes, not where the text says (helper-100)
        Path deep = Files.createSymbolicLink(tmp.resolve("deep"), Files.createDirectories(store.resolve("gc/deep")));
        Cli.Result dotDot = cli.run("export", store.toString(), "r@1", deep.resolve("../../chunks/z.tar.zst").toString());
        assertEquals(ExitCode.ERROR, dotDot.code(), dotDot.toString());
        assertTrue(dotDot.err().contains("it is inside the store " + store + ", among its objects"), dotDot.toString());
        Cli.Result pushDotDot = cli.run("push", store.toString(), deep.resolve("../..").toString(), "--run", "s", "--step", "1");
        assertTrue(pushDotDot.err().contains(": it is the store;"), pushDotDot.toString());
        Files.delete(deep);
        Files.delete(store.resolve("gc/deep"));
        TestDirs.assertSameTree(before, store);
        assertFalse(Files.exists(store.resolve("restored")));

        assertEquals(0, cli.run("export", store.toString(), "r@1", store.resolve("r1.tar.zst").toString()).code(),
                "at the store's top, beside ROOT, an archive is kept by gc");
        assertEquals(0, cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "2").code(),
                "a directory beside the store");
    }

    /** helper-101: "restore S latest file:///tmp/x" wrote into ./file:/tmp/x; a path argument reads a file: URL as a store does. */
    @Test
    void aPathArgumentWrittenAsAFileUrlIsThePathItNames() throws Exception {
        Path store = tmp.resolve("store");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 2000);
        assertEquals(0, cli.run("push", "file:" + store, "file://" + src, "--run", "r", "--step", "1").code());
        Path target = tmp.resolve("restored here");
        Cli.Result r = cli.run("restore", "file://" + store, "r@1", "file://" + target.toString().replace(" ", "%20"));
        assertEquals(0, r.code(), r.toString());
        TestDirs.assertSameTree(TestDirs.snapshot(src), target);
        Path archive = tmp.resolve("r1.tar.zst");
        assertEquals(0, cli.run("export", store.toString(), "r@1", "file://localhost" + archive).code());
        assertTrue(Files.isRegularFile(archive));
        assertFalse(Files.exists(Path.of("file:")), "no directory named file: made here");
        Cli.Result bad = cli.run("restore", store.toString(), "r@1", "file:relative");
        assertEquals(ExitCode.USAGE, bad.code(), bad.toString());
        assertTrue(bad.err().contains("file URL 'file:relative' is not a valid file URL: write file:///absolute/path"),
                bad.toString());
    }
}

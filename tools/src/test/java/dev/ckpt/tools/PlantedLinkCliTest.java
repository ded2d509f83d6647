package dev.ckpt.tools;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ckpt-tool restore} never writes outside its target (a planted link is refused in
 * one line naming it), and {@code import} refuses archives with links, devices, absolute
 * or {@code ..} names before anything is committed.
 */
class PlantedLinkCliTest {
    @TempDir
    Path tmp;
    private Cli cli;
    private String store;

    @BeforeEach
    void setUp() {
        store = tmp.resolve("store").toString();
        cli = new Cli(Map.of(), "--progress", "none");
    }

    private static void write(Path p, String s) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, s);
    }

    @Test
    void restoreIntoATargetWithALinkedSubdirectoryIsRefusedInOneLineNamingTheLink() throws IOException {
        Path src = tmp.resolve("src");
        write(src.resolve("model/weights.bin"), "new weights");
        write(src.resolve("step.txt"), "7");
        Cli.Result push = cli.run("push", store, src.toString(), "--run", "r", "--step", "7");
        assertEquals(0, push.code(), push.toString());
        Path outside = tmp.resolve("outside");
        write(outside.resolve("weights.bin"), "precious");
        Path target = Files.createDirectories(tmp.resolve("target"));
        Path link = Files.createSymbolicLink(target.resolve("model"), outside);

        Cli.Result r = cli.run("restore", store, "r:latest", target.toString());
        assertEquals(1, r.code(), r.toString());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(link.toString()) && r.err().contains("symbolic link")
                && r.err().contains("remove the link"), r.err());
        assertEquals("precious", Files.readString(outside.resolve("weights.bin")));
        try (var s = Files.list(outside)) {
            assertEquals(1, s.count(), "nothing added outside the target");
        }
        assertFalse(Files.exists(target.resolve("step.txt")), "nothing written");
    }

    private Path archive(String name, TarArchiveEntry entry, byte[] data) throws IOException {
        Path a = tmp.resolve(name + ".tar.zst");
        try (var raw = Files.newOutputStream(a);
             var zstd = new com.github.luben.zstd.ZstdOutputStream(raw);
             var tar = new TarArchiveOutputStream(zstd)) {
            entry.setSize(data.length);
            tar.putArchiveEntry(entry);
            tar.write(data);
            tar.closeArchiveEntry();
        }
        return a;
    }

    private void assertImportRefused(Path archive, String entryName) {
        Cli.Result r = cli.run("import", store, archive.toString(), "--run", "x", "--step", "1");
        assertEquals(1, r.code(), r.toString());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(entryName), r.err());
        assertEquals(0, cli.run("ls", store, "--json").json().get("checkpoints").size());
    }

    @Test
    void importRefusesASymbolicLinkEntry() throws IOException {
        TarArchiveEntry e = new TarArchiveEntry("files/model", TarConstants.LF_SYMLINK);
        e.setLinkName(tmp.resolve("outside").toString());
        assertImportRefused(archive("link", e, new byte[0]), "files/model");
        assertFalse(Files.exists(tmp.resolve("outside")));
    }

    @Test
    void importRefusesAHardLinkEntry() throws IOException {
        TarArchiveEntry e = new TarArchiveEntry("files/passwd", TarConstants.LF_LINK);
        e.setLinkName("/etc/passwd");
        assertImportRefused(archive("hardlink", e, new byte[0]), "files/passwd");
    }

    @Test
    void importRefusesADeviceEntry() throws IOException {
        TarArchiveEntry e = new TarArchiveEntry("files/null", TarConstants.LF_CHR);
        e.setDevMajor(1);
        e.setDevMinor(3);
        assertImportRefused(archive("device", e, new byte[0]), "files/null");
    }

    @Test
    void importRefusesAnAbsoluteName() throws IOException {
        Path abs = tmp.resolve("abs.txt");
        TarArchiveEntry e = new TarArchiveEntry("files/" + abs, true); // "files//tmp/.../abs.txt", kept as given
        assertImportRefused(archive("absolute", e, "pwned".getBytes()), abs.toString());
        assertFalse(Files.exists(abs));
    }

    @Test
    void importRefusesADotDotName() throws IOException {
        TarArchiveEntry e = new TarArchiveEntry("files/a/../../escaped.txt", true);
        assertImportRefused(archive("dotdot", e, "pwned".getBytes()), "files/a/../../escaped.txt");
        assertFalse(Files.exists(tmp.resolve("escaped.txt")));
    }
}

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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /** Copies archive {@code from} to {@code to}, each entry's bytes through {@code edit} (null: left out). */
    private static void rewrite(Path from, Path to, java.util.function.BiFunction<String, byte[], byte[]> edit)
            throws IOException {
        rewrite(from, to, edit, out -> { });
    }

    /** As {@link #rewrite(Path, Path, java.util.function.BiFunction)}, then {@code append} writes more entries. */
    private static void rewrite(Path from, Path to, java.util.function.BiFunction<String, byte[], byte[]> edit,
                                IoConsumer<TarArchiveOutputStream> append) throws IOException {
        try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                new com.github.luben.zstd.ZstdInputStream(Files.newInputStream(from)));
             var out = new TarArchiveOutputStream(new com.github.luben.zstd.ZstdOutputStream(Files.newOutputStream(to)))) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                byte[] data = edit.apply(e.getName(), in.readAllBytes());
                if (data == null) {
                    continue;
                }
                TarArchiveEntry copy = new TarArchiveEntry(e.getName());
                copy.setSize(data.length);
                out.putArchiveEntry(copy);
                out.write(data);
                out.closeArchiveEntry();
            }
            append.accept(out);
        }
    }

    private interface IoConsumer<T> {
        void accept(T t) throws IOException;
    }

    /** Nothing imported: the store, which the refused import created, is removed again. */
    private void assertNothingImported() {
        assertFalse(Files.exists(Path.of(store)), "the store a refused import created is left behind");
    }

    private void assertImportRefused(Path archive, String entryName) {
        Cli.Result r = cli.run("import", store, archive.toString(), "--run", "x", "--step", "1");
        assertEquals(1, r.code(), r.toString());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(entryName), r.err());
        assertNothingImported();
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

    @Test
    void importNamesEveryRefusedEntryOfAnArchiveInOneRunAndImportsNothing() throws IOException {
        Path a = tmp.resolve("many.tar.zst");
        try (var raw = Files.newOutputStream(a);
             var zstd = new com.github.luben.zstd.ZstdOutputStream(raw);
             var tar = new TarArchiveOutputStream(zstd)) {
            TarArchiveEntry good = new TarArchiveEntry("files/good.txt");
            good.setSize(2);
            tar.putArchiveEntry(good);
            tar.write("ok".getBytes());
            tar.closeArchiveEntry();
            TarArchiveEntry link = new TarArchiveEntry("files/model", TarConstants.LF_SYMLINK);
            link.setLinkName("/etc");
            tar.putArchiveEntry(link);
            tar.closeArchiveEntry();
            TarArchiveEntry dev = new TarArchiveEntry("files/null", TarConstants.LF_CHR);
            tar.putArchiveEntry(dev);
            tar.closeArchiveEntry();
            for (String dup : new String[]{"files/good.txt", "files/good.txt/x"}) { // the same name twice; below a file
                TarArchiveEntry d = new TarArchiveEntry(dup);
                d.setSize(1);
                tar.putArchiveEntry(d);
                tar.write('d');
                tar.closeArchiveEntry();
            }
            TarArchiveEntry manifestLink = new TarArchiveEntry("ckpt-manifest.json", TarConstants.LF_SYMLINK);
            manifestLink.setLinkName("/etc/passwd");
            tar.putArchiveEntry(manifestLink);
            tar.closeArchiveEntry();
            TarArchiveEntry up = new TarArchiveEntry("files/a/../../escaped.txt", true);
            up.setSize(5);
            tar.putArchiveEntry(up);
            tar.write("pwned".getBytes());
            tar.closeArchiveEntry();
        }
        Cli.Result r = cli.run("import", store, a.toString(), "--run", "x", "--step", "1");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("6 entries of archive " + a), r.err());
        assertTrue(r.err().contains("'ckpt-manifest.json' (the manifest) is not a regular file"), r.err());
        for (String name : new String[]{"'files/model'", "'files/null'", "'files/a/../../escaped.txt'",
                "'files/good.txt' appears more than once", "'files/good.txt/x' is below 'files/good.txt'"}) {
            assertTrue(r.err().contains(name), name + " named: " + r.err());
        }
        assertEquals(1, r.err().split("nothing was imported", -1).length - 1, "said once: " + r.err());
        assertFalse(Files.exists(tmp.resolve("escaped.txt")));
        assertNothingImported();
    }

    @Test
    void importNamesEveryFileThatDoesNotMatchTheArchivedManifest() throws IOException {
        Path src = tmp.resolve("src");
        write(src.resolve("a.bin"), "aaaa");
        write(src.resolve("b.bin"), "bbbb");
        write(src.resolve("c.bin"), "cccc");
        write(src.resolve("d.bin"), "dddd");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "r", "--step", "1").code());
        Path exported = tmp.resolve("r.tar.zst");
        Cli.Result ex = cli.run("export", store, "r@1", exported.toString());
        assertEquals(0, ex.code(), ex.toString());
        // the same archive with a.bin and b.bin altered (same length) and c.bin left out
        Path tampered = tmp.resolve("tampered.tar.zst");
        rewrite(exported, tampered, (name, data) -> name.endsWith("c.bin") ? null
                : name.endsWith("a.bin") || name.endsWith("b.bin") ? "XXXX".getBytes() : data);
        Cli.Result r = cli.run("import", store, tampered.toString(), "--run", "x", "--step", "1");
        assertEquals(ExitCode.ERROR, r.code(), r.toString()); // the archive is input, not the store: not "damage"
        assertTrue(r.err().contains("3 entries of archive " + tampered), r.err());
        assertTrue(r.err().contains("file a.bin hashes to") && r.err().contains("file b.bin hashes to")
                && r.err().contains("lacks file c.bin"), r.err());
        assertFalse(r.err().contains("d.bin"), r.err());
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").size(), "only r@1");
    }

    /**
     * helper-146: a file whose archived bytes match a manifest edited to their hash but not its size was
     * said as a change in the staging by another process ("importing again is safe": it never could be);
     * a plain tar of a directory got one "not under files/" line per entry and no word of the manifest.
     */
    @Test
    void importSaysAFilesSizeAgainstItsManifestAndAnArchiveWithoutAManifestAsSuch() throws IOException {
        Path exported = exportedAB();
        byte[] longer = "0123456789".getBytes();
        String was = dev.ckpt.store.chunk.Hashes.hex(dev.ckpt.store.chunk.Hashes.sha256().digest("aaaa".getBytes()));
        String now = dev.ckpt.store.chunk.Hashes.hex(dev.ckpt.store.chunk.Hashes.sha256().digest(longer));
        Path forged = tmp.resolve("forged.tar.zst");
        rewrite(exported, forged, (name, data) -> name.endsWith("a.bin") ? longer : name.equals("ckpt-manifest.json")
                ? new String(data, java.nio.charset.StandardCharsets.UTF_8).replace(was, now).getBytes() : data);
        Cli.Result r = cli.run("import", store, forged.toString(), "--run", "x", "--step", "1");
        assertEquals(ExitCode.ERROR, r.code(), r.toString());
        assertTrue(r.err().contains("file a.bin is 10 bytes in the archive but its manifest says 4"), r.err());
        assertFalse(r.err().contains("another process") || r.err().contains("importing again is safe"), r.err());
        // a plain tar of a directory, zstd-compressed: no manifest, said first, with the way on
        Path plain = tmp.resolve("plain.tar.zst");
        try (var out = new TarArchiveOutputStream(new com.github.luben.zstd.ZstdOutputStream(Files.newOutputStream(plain)))) {
            for (String name : new String[]{"./a.bin", "./b.bin", "./sub/c.bin"}) {
                TarArchiveEntry e = new TarArchiveEntry(name);
                e.setSize(1);
                out.putArchiveEntry(e);
                out.write('x');
                out.closeArchiveEntry();
            }
        }
        Cli.Result p = cli.run("import", store, plain.toString(), "--run", "x", "--step", "1");
        assertEquals(ExitCode.ERROR, p.code(), p.toString());
        assertEquals("ckpt-tool import: archive " + plain + " has no ckpt-manifest.json: it was not written by ckpt-tool"
                + " export (it holds 3 entries); nothing was imported. To save the files of another archive as a"
                + " checkpoint, unpack it into a directory and run ckpt-tool push STORE DIR --run RUN --step STEP",
                p.err().strip(), p.toString());
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").size(), "only r@1");
    }

    /** r@1 of a.bin ("aaaa") and b.bin ("bbbb"), pushed and exported to r.tar.zst. */
    private Path exportedAB() throws IOException {
        Path src = tmp.resolve("src");
        write(src.resolve("a.bin"), "aaaa");
        write(src.resolve("b.bin"), "bbbb");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "r", "--step", "1").code());
        Path exported = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", store, "r@1", exported.toString()).code());
        return exported;
    }

    /** A refused entry, a hash mismatch and an unlisted file: one message names all three (the checks used to stop at the first kind). */
    @Test
    void importNamesEveryKindOfProblemOfAnArchiveInOneMessage() throws IOException {
        Path exported = exportedAB();
        Path mixed = tmp.resolve("mixed.tar.zst");
        rewrite(exported, mixed, (name, data) -> name.endsWith("a.bin") ? "XXXX".getBytes() : data, out -> {
            TarArchiveEntry link = new TarArchiveEntry("files/model", TarConstants.LF_SYMLINK);
            link.setLinkName("/etc");
            out.putArchiveEntry(link);
            out.closeArchiveEntry();
            TarArchiveEntry extra = new TarArchiveEntry("files/extra.bin");
            extra.setSize(1);
            out.putArchiveEntry(extra);
            out.write('e');
            out.closeArchiveEntry();
        });
        Cli.Result r = cli.run("import", store, mixed.toString(), "--run", "x", "--step", "1");
        assertEquals(ExitCode.ERROR, r.code(), r.toString());
        assertTrue(r.err().contains("3 entries of archive " + mixed), r.err());
        assertTrue(r.err().contains("'files/model'") && r.err().contains("file a.bin hashes to")
                && r.err().contains("holds file extra.bin, which its manifest does not list"), r.err());
        assertFalse(r.err().contains("b.bin"), r.err());
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").size(), "only r@1");
    }

    @Test
    void anArchiveWhoseMetadataNoSaveMayWriteIsRefusedBeforeTheRunIsClaimed() throws Exception {
        Path src = tmp.resolve("src-meta");
        write(src.resolve("w.bin"), "w");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "r", "--step", "1").code());
        Path exported = tmp.resolve("m.tar.zst");
        assertEquals(0, cli.run("export", store, "r@1", exported.toString()).code());
        Path big = tmp.resolve("big-meta.tar.zst");
        rewrite(exported, big, (name, data) -> {
            if (!name.equals("ckpt-manifest.json")) {
                return data;
            }
            try {
                var m = (com.fasterxml.jackson.databind.node.ObjectNode) dev.ckpt.store.manifest.Json.MAPPER.readTree(data);
                m.putObject("metadata").put("k".repeat(100_000), "v");
                return dev.ckpt.store.manifest.Json.MAPPER.writeValueAsBytes(m);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        byte[] rootBefore = Files.readAllBytes(Path.of(store, "ROOT"));
        Cli.Result r = cli.run("import", store, big.toString(), "--run", "r", "--step", "2");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("archive " + big) && r.err().contains("keys may have at most 256 bytes")
                && r.err().contains("nothing was imported"), r.err());
        assertArrayEquals(rootBefore, Files.readAllBytes(Path.of(store, "ROOT")),
                "ROOT untouched: the run's writer is not fenced by a refused import");
        assertEquals(0, cli.run("ls", store).code(), "the store stays readable");
    }
}

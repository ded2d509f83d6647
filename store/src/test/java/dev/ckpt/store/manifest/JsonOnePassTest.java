package dev.ckpt.store.manifest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Codec;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.UnsupportedFormatException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Manifests and ROOT are decoded in one pass when their first field is an integer format this
 * version reads; these cases check that anything else is decoded, or refused, exactly as the
 * tree-first way (format checked first) did before.
 */
class JsonOnePassTest {
    private static final Instant T = Instant.parse("2026-12-01T00:00:00Z");
    private static final String KEY = Manifest.keyOf("r-s1-00000001");

    private static Manifest manifest() {
        String pack = Hashes.sha256Hex("abc".getBytes(StandardCharsets.UTF_8));
        String big = Hashes.sha256Hex("big".getBytes(StandardCharsets.UTF_8));
        ChunkRef p = new ChunkRef(pack, 3, 12, Codec.ZSTD);
        List<FileEntry> files = List.of(
                new FileEntry("a.txt", 1, 0644, Hashes.sha256Hex("a".getBytes(StandardCharsets.UTF_8)), List.of(p.slice(0, 1))),
                new FileEntry("b/c.txt", 2, 0600, Hashes.sha256Hex("bc".getBytes(StandardCharsets.UTF_8)), List.of(p.slice(1, 2))),
                new FileEntry("model.safetensors", 4096, 0644, Hashes.sha256Hex("m".getBytes(StandardCharsets.UTF_8)),
                        List.of(new ChunkRef(big, 4096, 1000, Codec.ZSTD)),
                        List.of(new TensorEntry("w", "F32", List.of(32L, 32L), 0, 4096))));
        return Manifest.of("r-s1-00000001", "r", 1, 5L, T, new Manifest.Writer("w", 2), Map.of("k", "v"), files);
    }

    /** The way every manifest was read before: the whole tree, then the object. */
    private static Manifest throughTree(byte[] data) throws Exception {
        return Json.MAPPER.treeToValue(Json.MAPPER.readTree(data), Manifest.class);
    }

    @Test
    void aManifestAndRootReadTheSameInOnePassAsThroughATree() throws Exception {
        Manifest m = manifest();
        byte[] bytes = Json.write(m);
        assertTrue(new String(bytes, StandardCharsets.UTF_8).startsWith("{\n  \"format\" : 3,"), "format first");
        assertEquals(m, Json.readManifest(KEY, bytes, Hashes.sha256Hex(bytes)));
        assertEquals(throughTree(bytes), Json.readManifest(KEY, bytes, null));

        RootState root = RootState.empty();
        byte[] rootBytes = Json.write(root);
        assertEquals(root, Json.readRoot("ROOT", rootBytes));
    }

    @Test
    void aFormatThatIsNotTheFirstFieldOrNotAnIntegerIsReadAsBefore() throws Exception {
        ObjectNode tree = (ObjectNode) Json.MAPPER.readTree(Json.write(manifest()));
        tree.remove("format");
        tree.put("format", 3); // now the last field
        assertEquals(manifest(), Json.readManifest(KEY, Json.MAPPER.writeValueAsBytes(tree), null));

        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8);
        // first, a number with a fraction part that is whole: the tree took it as 3
        byte[] whole = json.replace("\"format\" : 3,", "\"format\" : 3.0,").getBytes(StandardCharsets.UTF_8);
        assertEquals(manifest(), Json.readManifest(KEY, whole, null));
        // first, a string: no format version (binding alone would have made it 3)
        byte[] text = json.replace("\"format\" : 3,", "\"format\" : \"3\",").getBytes(StandardCharsets.UTF_8);
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Json.readManifest(KEY, text, null));
        assertTrue(e.getMessage().contains("has no format version"), e.getMessage());
        // last, a string: the same
        tree.put("format", "3");
        e = assertThrows(CorruptObjectException.class,
                () -> Json.readManifest(KEY, Json.MAPPER.writeValueAsBytes(tree), null));
        assertTrue(e.getMessage().contains("has no format version"), e.getMessage());
    }

    @Test
    void aNewerFormatIsRefusedEvenWhenEveryFieldWouldBind() {
        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8).replace("\"format\" : 3,", "\"format\" : 4,");
        UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class,
                () -> Json.readManifest(KEY, json.getBytes(StandardCharsets.UTF_8), null));
        assertTrue(e.getMessage().contains("format version 4"), e.getMessage());
        // a reader of formats up to 2 refuses a format-3 manifest the same way
        assertThrows(UnsupportedFormatException.class,
                () -> Json.readManifest(KEY, Json.write(manifest()), null, Manifest.FORMAT_PARTS));
    }

    @Test
    void aKeyGivenTwiceCountsAsTheTreeCountsIt() throws Exception {
        // the last of two "format" keys is the tree's: a newer format, refused
        String root = new String(Json.write(RootState.empty()), StandardCharsets.UTF_8);
        String twice = root.substring(0, root.lastIndexOf('}')) + ", \"format\" : 9 }";
        assertThrows(UnsupportedFormatException.class,
                () -> Json.readRoot("ROOT", twice.getBytes(StandardCharsets.UTF_8)));

        // a file's mode given twice: the last one, as the tree has it
        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8)
                .replace("\"mode\" : 384,", "\"mode\" : 511, \"mode\" : 384,");
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        Manifest read = Json.readManifest(KEY, bytes, null);
        assertEquals(throughTree(bytes), read);
        assertEquals(0600, read.files().get(1).mode());

        // given again after every other field of the file, once the file could already have been built
        String full = new String(Json.write(manifest()), StandardCharsets.UTF_8);
        int file = full.indexOf("\"b/c.txt\"");
        int end = full.indexOf("} ]", full.indexOf("\"chunks\"", file)) + 3;
        byte[] late = (full.substring(0, end) + ", \"mode\" : 511" + full.substring(end)).getBytes(StandardCharsets.UTF_8);
        Manifest lateRead = Json.readManifest(KEY, late, null);
        assertEquals(throughTree(late), lateRead);
        assertEquals(0777, lateRead.files().get(1).mode());
    }

    @Test
    void aDamagedManifestIsNamedAsBefore() {
        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8).replace("\"size\" : 2,", "\"size\" : \"two\",");
        CorruptObjectException e = assertThrows(CorruptObjectException.class,
                () -> Json.readManifest(KEY, json.getBytes(StandardCharsets.UTF_8), null));
        assertTrue(e.getMessage().contains("is malformed: field 'files[1].size' is missing or has the wrong type"),
                e.getMessage());
    }

    /**
     * A file's mode is a regular file's as a save records it (its permission bits, with or
     * without the type bit 0100000, or 0), written as a JSON whole number: an archive's
     * manifest edited to -1 (restored 0777), a directory's or device's type bits, "0755" (read
     * as 755) or 1.5 (read as 1) was imported, verified and restored (helper-143).
     */
    @Test
    void aModeNoSaveRecordsIsRefused() {
        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"mode\" : 384,"), json);
        for (String bad : List.of("-1", "16877", "41471", "8630", "61933", "4095", "\"0755\"", "1.5", "384.0")) {
            byte[] bytes = json.replace("\"mode\" : 384,", "\"mode\" : " + bad + ",").getBytes(StandardCharsets.UTF_8);
            CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Json.readManifest(KEY, bytes, null),
                    bad);
            assertTrue(e.getMessage().contains("files[1].mode") || e.getMessage().contains("is not a regular file's"),
                    bad + ": " + e.getMessage());
        }
        for (int good : new int[]{0, 0644, 0100644, 0100000, 0777, 0100777}) {
            byte[] bytes = json.replace("\"mode\" : 384,", "\"mode\" : " + good + ",").getBytes(StandardCharsets.UTF_8);
            assertEquals(good, Json.readManifest(KEY, bytes, null).files().get(1).mode());
        }
    }

    /**
     * A number where text or a time is expected: a tree held it as a double (or an integer
     * zero), and the object got that number's text, not the one written. A user's metadata
     * written by hand or by another tool is the usual way in.
     */
    @Test
    void aNumberATreeRewritesReadsAsTheTreeReadIt() throws Exception {
        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8);
        Map<String, String> expected = Map.of("0.10", "0.1", "1e2", "100.0", "1.5E-3", "0.0015", "-0", "0",
                "123456789.123456789", "1.2345678912345679E8");
        for (Map.Entry<String, String> c : expected.entrySet()) {
            byte[] bytes = json.replace("\"k\" : \"v\"", "\"k\" : " + c.getKey()).getBytes(StandardCharsets.UTF_8);
            Manifest read = Json.readManifest(KEY, bytes, null);
            assertEquals(c.getValue(), read.metadata().get("k"), "metadata " + c.getKey());
            assertEquals(throughTree(bytes), read, c.getKey());
        }
        // a time in seconds with nine decimals: the tree's double rounds it
        byte[] seconds = json.replace("\"2026-12-01T00:00:00Z\"", "1764723271.758361764").getBytes(StandardCharsets.UTF_8);
        Manifest read = Json.readManifest(KEY, seconds, null);
        assertEquals(throughTree(seconds), read);
        assertEquals(Instant.ofEpochSecond(1764723271L, 758361800), read.created());

        // the same in ROOT, in a checkpoint's entry
        Manifest m = manifest();
        RootState root = RootState.empty().withCheckpoints(Map.of(m.id(), CheckpointEntry.of(m, Hashes.sha256Hex(Json.write(m)))));
        String rootJson = new String(Json.write(root), StandardCharsets.UTF_8);
        byte[] rootBytes = rootJson.replace("\"k\" : \"v\"", "\"k\" : 0.10")
                .replace("\"2026-12-01T00:00:00Z\"", "1764723271.758361764").getBytes(StandardCharsets.UTF_8);
        RootState rootRead = Json.readRoot("ROOT", rootBytes);
        assertEquals(Json.MAPPER.treeToValue(Json.MAPPER.readTree(rootBytes), RootState.class), rootRead);
        CheckpointEntry entry = rootRead.checkpoints().get(m.id());
        assertEquals("0.1", entry.metadata().get("k"));
        assertEquals(Instant.ofEpochSecond(1764723271L, 758361800), entry.created());
    }

    @Test
    void onlyNumbersOutsideStringsAreLeftToTheTree() {
        // the usual object: dots, e's and "-0" only inside strings, true and false outside
        assertEquals(false, Json.leftToTheTree(Json.write(manifest())));
        assertEquals(false, Json.leftToTheTree(bytes("{\"a\" : \"1.5 -0 1e2\", \"b\" : true, \"c\" : false, \"d\" : -10}")));
        // an escaped quote does not end a string; an escaped backslash before a quote does not keep it open
        assertEquals(false, Json.leftToTheTree(bytes("{\"a\" : \"x\\\" 1.5\"}")));
        assertEquals(true, Json.leftToTheTree(bytes("{\"a\" : \"x\\\\\", \"b\" : 1.5}")));
        assertEquals(true, Json.leftToTheTree(bytes("{\"a\" : 1e2}")));
        assertEquals(true, Json.leftToTheTree(bytes("{\"a\" : 7E+2}")));
        assertEquals(true, Json.leftToTheTree(bytes("{\"a\" : -0}")));
        // not ASCII, or a NUL: the tree's way (it checks every string's UTF-8; UTF-16 and -32)
        assertEquals(true, Json.leftToTheTree(bytes("{\"a\" : \"\u00e9\"}")));
        assertEquals(true, Json.leftToTheTree("{\"a\" : 1}".getBytes(StandardCharsets.UTF_16LE)));
    }

    /** A tree decodes every string; a bind skips an unknown field's string unread. */
    @Test
    void malformedUtf8InAnUnknownFieldIsRefusedAsBefore() {
        byte[] json = Json.write(manifest());
        String text = new String(json, StandardCharsets.ISO_8859_1);
        // U+D800 encoded as UTF-8 (ED A0 80), in an unknown field once every known one of the writer is read
        String writer = "\"id\" : \"w\",\n    \"epoch\" : 2";
        assertTrue(text.contains(writer), text);
        byte[] bad = text.replace(writer, writer + ", \"zz\" : \"\u00ed\u00a0\u0080\"").getBytes(StandardCharsets.ISO_8859_1);
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Json.readManifest(KEY, bad, null));
        assertTrue(e.getMessage().contains("is not valid JSON"), e.getMessage());
        String root = new String(Json.write(RootState.empty()), StandardCharsets.ISO_8859_1);
        byte[] badRoot = (root.substring(0, root.lastIndexOf('}')) + ", \"zz\" : \"\u00ed\u00a0\u0080\"\n}\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        assertThrows(CorruptObjectException.class, () -> Json.readRoot("ROOT", badRoot));
    }

    /** UTF-16 and UTF-32, which Jackson detects: numbers read as the tree read them. */
    @Test
    void aManifestInUtf16ReadsItsNumbersAsTheTreeDid() throws Exception {
        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8)
                .replace("\"k\" : \"v\"", "\"k\" : 1e2, \"n\" : -0");
        for (java.nio.charset.Charset cs : List.of(StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE,
                java.nio.charset.Charset.forName("UTF-32LE"))) {
            byte[] bytes = json.getBytes(cs);
            Manifest read = Json.readManifest(KEY, bytes, null);
            assertEquals("100.0", read.metadata().get("k"), cs.name());
            assertEquals("0", read.metadata().get("n"), cs.name());
            assertEquals(throughTree(bytes), read, cs.name());
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A refusal in our own words quoting a name with a line break is said whole, the reason after the name kept (helper-132). */
    @Test
    void aRefusalQuotingANameWithALineBreakIsSaidWhole() {
        String json = new String(Json.write(manifest()), StandardCharsets.UTF_8).replace("\"a.txt\"", "\"../a\\nb.txt\"");
        CorruptObjectException e = assertThrows(CorruptObjectException.class,
                () -> Json.readManifest(KEY, json.getBytes(StandardCharsets.UTF_8), null));
        assertTrue(e.getMessage().contains("unsafe file path '../a\nb.txt'") && e.getMessage().contains("'..' segments"),
                e.getMessage());
    }
}

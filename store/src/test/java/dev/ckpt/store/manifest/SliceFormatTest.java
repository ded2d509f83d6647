package dev.ckpt.store.manifest;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Codec;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.UnsupportedFormatException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chunk slices (packed small files) in the manifest: written as format 3 only when a slice is
 * present, refused by a reader that knows formats up to 2, and manifests without slices keep
 * formats 1 and 2 and their exact bytes.
 */
class SliceFormatTest {
    private static final String PACK = Hashes.sha256Hex("ab".getBytes(StandardCharsets.UTF_8));
    private static final String OTHER = Hashes.sha256Hex("x".getBytes(StandardCharsets.UTF_8));
    private static final Manifest.Writer WRITER = new Manifest.Writer("w", 1);
    private static final Instant T = Instant.parse("2026-12-01T00:00:00Z");

    private static List<FileEntry> packedFiles() {
        ChunkRef pack = new ChunkRef(PACK, 2, 11, Codec.ZSTD);
        return List.of(
                new FileEntry("a", 1, 0644, Hashes.sha256Hex("a".getBytes(StandardCharsets.UTF_8)), List.of(pack.slice(0, 1))),
                new FileEntry("b", 1, 0644, Hashes.sha256Hex("b".getBytes(StandardCharsets.UTF_8)), List.of(pack.slice(1, 1))));
    }

    @Test
    void aManifestWithSlicesIsFormat3AndAReaderOfFormat2RefusesIt() {
        Manifest m = Manifest.of("r-s1-00000001", "r", 1, null, T, WRITER, Map.of(), packedFiles());
        assertEquals(Manifest.FORMAT_SLICES, m.format());
        assertEquals(List.of(PACK), m.chunks());
        assertEquals(new ChunkRef(PACK, 2, 11, Codec.ZSTD), m.chunkRefs().get(PACK), "the pack, whole");
        byte[] bytes = Json.write(m);
        String json = new String(bytes, StandardCharsets.UTF_8);
        assertTrue(json.contains("\"offset\" : 1") && json.contains("\"length\" : 1"), json);

        assertEquals(m, Json.readManifest(m.key(), bytes, Hashes.sha256Hex(bytes)));
        UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class,
                () -> Json.readManifest(m.key(), bytes, null, Manifest.FORMAT_PARTS));
        assertTrue(e.getMessage().contains("format version 3") && e.getMessage().contains(m.key()), e.getMessage());
    }

    @Test
    void aPartManifestWithSlicesIsFormat3AndMergesIntoFormat3() {
        Manifest part = Manifest.ofPart("r-s1-e1-00000001", "r", 1, null, T, WRITER, Map.of(), packedFiles(),
                new Manifest.Part(0, 1), 0);
        assertEquals(Manifest.FORMAT_SLICES, part.format());
        byte[] bytes = Json.write(part);
        assertEquals(part, Json.readManifest(part.key(), bytes, null));
        Manifest top = Manifest.ofParts(part.id(), "r", 1, null, T, WRITER, Map.of(),
                List.of(new Manifest.PartRef(0, part.key(), Hashes.sha256Hex(bytes), 2, 2)));
        assertEquals(Manifest.FORMAT_PARTS, top.format());
        assertEquals(Manifest.FORMAT_SLICES, Manifest.merged(top, List.of(part)).format());
    }

    @Test
    void slicesAreRefusedInAFormat1Or2ManifestAndMustBeASingleChunkWithinThePack() {
        assertThrows(IllegalArgumentException.class, () -> new Manifest(Manifest.FORMAT, "r-s1-00000001", "r", 1, null,
                T, WRITER, Map.of(), packedFiles(), List.of(PACK)));
        ChunkRef pack = new ChunkRef(PACK, 2, 11, Codec.ZSTD);
        assertThrows(IllegalArgumentException.class, () -> pack.slice(1, 2), "past the pack's end");
        assertThrows(IllegalArgumentException.class, () -> new ChunkRef(PACK, 2, 11, Codec.ZSTD, 0, null));
        ChunkRef other = new ChunkRef(OTHER, 1, 1, Codec.RAW);
        assertThrows(IllegalArgumentException.class, () -> new FileEntry("c", 2, 0644, OTHER,
                List.of(pack.slice(0, 1), other)), "a packed file is one slice");
    }

    @Test
    void manifestsWithoutSlicesKeepFormats1And2AndTheirBytes() throws IOException, URISyntaxException {
        Path dir = Path.of(SliceFormatTest.class.getResource("/legacy/store-2026-11/store/manifests").toURI());
        List<Path> legacy;
        try (Stream<Path> all = Files.walk(dir)) {
            legacy = all.filter(Files::isRegularFile).toList();
        }
        assertFalse(legacy.isEmpty());
        for (Path p : legacy) {
            byte[] bytes = Files.readAllBytes(p);
            Manifest m = Json.readManifest("manifests/" + dir.relativize(p), bytes, null);
            assertEquals(Manifest.FORMAT, m.format());
            assertArrayEquals(bytes, Json.write(m), "re-written byte for byte (no slice fields): " + p);
            assertFalse(new String(bytes, StandardCharsets.UTF_8).contains("\"offset\""));
        }
        FileEntry whole = new FileEntry("a", 1, 0644, OTHER, List.of(new ChunkRef(OTHER, 1, 1, Codec.RAW)));
        Manifest part = Manifest.ofPart("r-s1-e1-00000001", "r", 1, null, T, WRITER, Map.of(), List.of(whole),
                new Manifest.Part(0, 2), 0);
        assertEquals(Manifest.FORMAT_PARTS, part.format(), "a part without slices stays format 2");
        assertEquals(Manifest.FORMAT, Manifest.of("r-s1-00000001", "r", 1, null, T, WRITER, Map.of(), List.of(whole)).format());
        byte[] bytes = Json.write(part);
        assertEquals(part, Json.readManifest(part.key(), bytes, null, Manifest.FORMAT_PARTS),
                "a reader of format 2 reads it");
    }
}

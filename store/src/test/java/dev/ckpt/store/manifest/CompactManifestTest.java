package dev.ckpt.store.manifest;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A save writes its manifest as compact JSON (no indentation: a quarter of the bytes of a manifest of many small
 * files), decoded in one pass like the indented manifests of earlier versions, which read to the same manifest.
 */
class CompactManifestTest {
    @TempDir
    Path tmp;

    @Test
    void aSaveWritesItsManifestCompactAndItReadsAsTheIndentedOneDoes() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("sub dir"));
        for (int i = 0; i < 40; i++) {
            Files.writeString(src.resolve("sub dir/f" + i + ".txt"), "file " + i); // packed: slices
        }
        Files.write(src.resolve("big.bin"), new byte[3 * 4096 + 5]); // whole chunks
        Path storeDir = tmp.resolve("store");
        StoreConfig config = StoreConfig.builder().chunkSize(4096).parallelism(2).ioConcurrency(2).maxChunksInFlight(4).build();
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), config)) {
            String id = s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1)).checkpointId();
            CheckpointEntry e = s.resolve(id);
            byte[] stored = Files.readAllBytes(storeDir.resolve(e.manifest()));
            String text = new String(stored, StandardCharsets.UTF_8);
            assertTrue(text.startsWith("{\"format\":3,\"id\":\"" + id + "\","), text.substring(0, Math.min(80, text.length())));
            assertFalse(text.contains("\n") || text.contains(" : ") || text.contains("  "), "no indentation: " + text);
            assertEquals(e.manifestSha256(), Hashes.sha256Hex(stored));

            Manifest m = Json.readManifest(e.manifest(), stored, e.manifestSha256());
            assertEquals(41, m.files().size());
            assertNotNull(Json.bindDirectly(stored, Manifest.FORMAT_SUPPORTED, Manifest.class, Manifest::format),
                    "a compact manifest is decoded in one pass, not through a tree");
            byte[] indented = Json.write(m); // what versions before wrote
            assertTrue(indented.length > stored.length * 5 / 4, indented.length + " against " + stored.length);
            assertEquals(m, Json.readManifest(e.manifest(), indented, Hashes.sha256Hex(indented)));
            assertArrayEquals(stored, Json.writeManifest(Json.readManifest(e.manifest(), indented, null)));

            Path out = tmp.resolve("out");
            s.restore(id, out);
            assertArrayEquals(Files.readAllBytes(src.resolve("sub dir/f7.txt")), Files.readAllBytes(out.resolve("sub dir/f7.txt")));
            assertArrayEquals(Files.readAllBytes(src.resolve("big.bin")), Files.readAllBytes(out.resolve("big.bin")));
        }
    }
}

package dev.ckpt.store;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Codec;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Byte-grouped chunks through a whole save and restore (codec-level cases: ByteGroupingTest). */
class ByteGroupedSaveTest extends InMemoryFixture {

    private static byte[] floats(int bytes, long seed) {
        Random rnd = new Random(seed);
        ByteBuffer b = ByteBuffer.allocate(bytes + 8).order(ByteOrder.LITTLE_ENDIAN);
        while (b.position() < bytes) {
            b.putFloat((float) (rnd.nextGaussian() * 0.02));
        }
        return java.util.Arrays.copyOf(b.array(), bytes);
    }

    private Path everyDtype() throws Exception {
        Path src = tmp.resolve("src");
        // sizes not multiples of the chunk size (16 KiB here), so every tensor ends in an odd-sized chunk
        TestDirs.safetensors(src.resolve("model.safetensors"), List.of(
                new TestDirs.Tensor("f32", "F32", floats(50_004, 1)),
                new TestDirs.Tensor("f16", "F16", floats(33_002, 2)),
                new TestDirs.Tensor("bf16", "BF16", floats(20_006, 3)),
                new TestDirs.Tensor("f64", "F64", floats(40_008, 4)),
                new TestDirs.Tensor("i64", "I64", floats(24_000, 5)),
                new TestDirs.Tensor("odd", "F32", floats(30_001, 6)),
                new TestDirs.Tensor("tiny1", "F32", floats(12, 7)),
                new TestDirs.Tensor("tiny2", "BF16", floats(6, 8))));
        Files.write(src.resolve("notes.bin"), floats(5_003, 9));
        return src;
    }

    @Test
    void everyFloatDtypeAndOddLengthRestoresByteIdentical() throws Exception {
        Path src = everyDtype();
        SaveResult r = store.save(store.claimWriter("run"), SaveRequest.of(src, "run", 1));
        Manifest m = store.manifest(store.resolve(r.checkpointId()));
        Set<Codec> codecs = EnumSet.noneOf(Codec.class);
        for (FileEntry f : m.files()) {
            for (ChunkRef c : f.chunks()) {
                codecs.add(c.codec());
            }
        }
        assertTrue(codecs.containsAll(EnumSet.of(Codec.ZSTD_GROUPED_2, Codec.ZSTD_GROUPED_4, Codec.ZSTD_GROUPED_8)),
                "the manifest records each chunk's grouping: " + codecs);
        store.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
        assertTrue(store.verify(dev.ckpt.store.VerifyRequest.deep()).ok());
    }

    @Test
    void aChunkObjectAlreadyStoredWithAnotherCodecIsRecordedAsItIsStored() throws Exception {
        // An older version (or another save) stored this F32 tensor's chunk as plain zstd, unreferenced
        // (its checkpoint dropped, not yet collected): this save would group it but must record what exists.
        Path src = tmp.resolve("src");
        byte[] tensor = floats(12_000, 11); // < 16 KiB: one chunk
        TestDirs.safetensors(src.resolve("w.safetensors"), List.of(new TestDirs.Tensor("w", "F32", tensor),
                new TestDirs.Tensor("v", "F32", floats(12_000, 12))));
        String hash = Hashes.sha256Hex(tensor);
        ChunkCodec.Encoded plain = new ChunkCodec(1).encode(hash, tensor, 0, tensor.length, 1);
        assertEquals(Codec.ZSTD, plain.ref().codec());
        objects.putIfAbsent(ChunkRef.keyOf(hash), plain.buffer(), 0, plain.length());

        SaveResult r = store.save(store.claimWriter("run"), SaveRequest.of(src, "run", 1));
        Manifest m = store.manifest(store.resolve(r.checkpointId()));
        ChunkRef recorded = m.chunkRefs().get(hash);
        assertEquals(Codec.ZSTD, recorded.codec(), "as stored, not as this save would have stored it");
        assertEquals(plain.length(), recorded.storedLength());
        ChunkRef other = m.chunkRefs().values().stream().filter(c -> !c.hash().equals(hash)
                && c.rawLength() == 12_000).findFirst().orElseThrow();
        assertEquals(Codec.ZSTD_GROUPED_4, other.codec(), "the other tensor was created by this save, grouped");
        assertTrue(store.verify(dev.ckpt.store.VerifyRequest.structural()).ok(), "stored sizes match the manifest");
        store.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
        assertTrue(store.verify(dev.ckpt.store.VerifyRequest.deep()).ok());
    }
}

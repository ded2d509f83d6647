package dev.ckpt.store.chunk;

import com.github.luben.zstd.Zstd;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ByteGroupingTest {
    private final ChunkCodec codec = new ChunkCodec(ChunkCodec.DEFAULT_LEVEL);

    /** Float-like bytes: a noisy mantissa, a narrow exponent (what grouping is for). */
    private static byte[] floats(int bytes, long seed) {
        Random rnd = new Random(seed);
        ByteBuffer b = ByteBuffer.allocate(bytes + 8).order(ByteOrder.LITTLE_ENDIAN);
        while (b.position() < bytes) {
            b.putFloat((float) (rnd.nextGaussian() * 0.02));
        }
        return Arrays.copyOf(b.array(), bytes);
    }

    @Test
    void groupingFollowsTheDocumentedLayoutAndUndoes() {
        byte[] raw = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        byte[] g = new byte[raw.length];
        ByteGrouping.group(raw, 0, raw.length, 4, g);
        // two whole elements: bytes 0 of both, bytes 1, 2, 3; then the 3 trailing bytes unchanged
        assertArrayEquals(new byte[]{1, 5, 2, 6, 3, 7, 4, 8, 9, 10, 11}, g);
        ByteGrouping.group(raw, 0, raw.length, 2, g);
        assertArrayEquals(new byte[]{1, 3, 5, 7, 9, 2, 4, 6, 8, 10, 11}, g);
        byte[] back = new byte[raw.length];
        for (int w : new int[]{2, 4, 8}) {
            ByteGrouping.group(raw, 0, raw.length, w, g);
            ByteGrouping.ungroup(g, raw.length, w, back);
            assertArrayEquals(raw, back, "width " + w);
        }
    }

    @Test
    void everyWidthAndOddLengthRoundTripsThroughTheCodec() {
        for (int w : new int[]{2, 4, 8}) {
            for (int n : new int[]{0, 1, w - 1, w, w + 1, 1000, 4097, 65_537, 262_147}) {
                byte[] raw = floats(n, 31L * n + w);
                ChunkCodec.Encoded e = codec.encode(Hashes.sha256Hex(raw), raw, 0, n, w);
                ChunkRef ref = e.ref();
                assertEquals(Hashes.sha256Hex(raw), ref.hash());
                assertEquals(n, ref.rawLength());
                assertTrue(ref.codec() == Codec.zstdGroupedBy(w) || ref.codec() == Codec.RAW, ref.toString());
                assertArrayEquals(raw, ChunkCodec.decode(ref, e.stored()), "width " + w + ", " + n + " bytes");
                ChunkCodec.Decoded d = ChunkCodec.decodeReusing(ref, e.stored());
                assertArrayEquals(raw, Arrays.copyOf(d.buffer(), d.length()));
            }
        }
    }

    @Test
    void aGroupedChunkIsOnePlainZstdFrameOfTheGroupedBytes() {
        byte[] raw = floats(100_003, 5);
        ChunkCodec.Encoded e = codec.encode(Hashes.sha256Hex(raw), raw, 0, raw.length, 4);
        assertEquals(Codec.ZSTD_GROUPED_4, e.ref().codec());
        byte[] frame = Zstd.decompress(e.stored(), raw.length); // any zstd reader
        byte[] grouped = new byte[raw.length];
        ByteGrouping.group(raw, 0, raw.length, 4, grouped);
        assertArrayEquals(grouped, frame);
    }

    @Test
    void groupingStoresFloatTensorsSmallerThanPlainZstd() {
        byte[] raw = floats(1 << 20, 9);
        String h = Hashes.sha256Hex(raw);
        int plain = codec.encode(h, raw, 0, raw.length, 1).length();
        int grouped = codec.encode(h, raw, 0, raw.length, 4).length();
        assertTrue(grouped < 0.93 * plain, "grouped " + grouped + " vs plain " + plain);
    }

    @Test
    void aGroupedChunkDecodedAsAnotherCodecIsRefusedNotReturned() {
        byte[] raw = floats(50_000, 7);
        ChunkCodec.Encoded e = codec.encode(Hashes.sha256Hex(raw), raw, 0, raw.length, 4);
        ChunkRef wrong = new ChunkRef(e.ref().hash(), raw.length, e.length(), Codec.ZSTD_GROUPED_2);
        assertThrows(CorruptObjectException.class, () -> ChunkCodec.decode(wrong, e.stored()));
        ChunkRef plain = new ChunkRef(e.ref().hash(), raw.length, e.length(), Codec.ZSTD);
        assertThrows(CorruptObjectException.class, () -> ChunkCodec.decode(plain, e.stored()));
    }

    @Test
    void identifyFindsHowAnExistingObjectIsStored() {
        byte[] raw = floats(40_000, 3);
        String h = Hashes.sha256Hex(raw);
        for (int w : new int[]{1, 2, 4, 8}) {
            ChunkCodec.Encoded e = codec.encode(h, raw, 0, raw.length, w);
            ChunkRef found = ChunkCodec.identify(h, raw.length, e.stored());
            assertEquals(e.ref(), found, "width " + w);
        }
        byte[] other = floats(40_000, 4);
        assertNull(ChunkCodec.identify(h, raw.length, codec.encode(other, 0, other.length).stored()));
        ChunkRef encodedAs = codec.encodeAs(new ChunkRef(h, raw.length, 0, Codec.ZSTD_GROUPED_8), raw, 0, raw.length).ref();
        assertEquals(Codec.ZSTD_GROUPED_8, encodedAs.codec());
    }

    @Test
    void piecesCarryTheElementWidthOfTheirTensors(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        int big = 40_000; // larger than chunkSize/8 (2 KiB at 16 KiB chunks): its own chunks
        Path f = tmp.resolve("m.safetensors");
        TestDirs.safetensors(f, List.of(
                new TestDirs.Tensor("f32", "F32", floats(big, 1)),
                new TestDirs.Tensor("f16", "F16", floats(big, 2)),
                new TestDirs.Tensor("bf16", "BF16", floats(big, 3)),
                new TestDirs.Tensor("f64", "F64", floats(big, 4)),
                new TestDirs.Tensor("i32", "I32", floats(big, 5)),
                new TestDirs.Tensor("odd", "F32", floats(big + 3, 6)), // not whole elements: not grouped
                new TestDirs.Tensor("s1", "F32", floats(400, 7)),     // four small tensors, packed into one piece
                new TestDirs.Tensor("s2", "F32", floats(400, 8)),
                new TestDirs.Tensor("s3", "F16", floats(400, 9)),    // of mixed widths: not grouped
                new TestDirs.Tensor("s4", "U8", floats(400, 10))));
        long size = Files.size(f);
        List<Chunker.Piece> pieces = new Chunker(16 * 1024).pieces(f, size);
        long headerEnd = pieces.get(0).length();
        assertEquals(1, pieces.get(0).groupWidth(), "the header");
        int[] expected = {4, 2, 2, 8, 1, 1};
        long at = headerEnd;
        int tensor = 0;
        for (Chunker.Piece p : pieces.subList(1, pieces.size())) {
            if (tensor < expected.length) {
                assertEquals(expected[tensor], p.groupWidth(), "piece " + p + " of tensor " + tensor);
                at += p.length();
                long tensorEnd = headerEnd + (long) big * (tensor + 1) + (tensor == 5 ? 3 : 0);
                if (at == tensorEnd) {
                    tensor++;
                }
            } else {
                assertNotEquals(0, p.groupWidth());
            }
        }
        assertEquals(expected.length, tensor, "every big tensor was seen");
        Chunker.Piece last = pieces.get(pieces.size() - 1);
        assertEquals(size, last.offset() + last.length());
        assertEquals(new Chunker.Piece(size - 1600, 1600, 1), last, "s1..s4 packed together, of mixed widths");
        Path g = tmp.resolve("small.safetensors");
        TestDirs.safetensors(g, List.of(new TestDirs.Tensor("a", "F32", floats(400, 1)), new TestDirs.Tensor("b", "F32", floats(800, 2))));
        List<Chunker.Piece> small = new Chunker(16 * 1024).pieces(g, Files.size(g));
        assertEquals(2, small.size(), small.toString());
        assertEquals(new Chunker.Piece(Files.size(g) - 1200, 1200, 4), small.get(1), "packed F32 tensors stay grouped");
    }
}

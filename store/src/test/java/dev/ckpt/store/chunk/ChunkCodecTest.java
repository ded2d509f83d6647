package dev.ckpt.store.chunk;

import dev.ckpt.store.error.CorruptObjectException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ChunkCodecTest {
    private final ChunkCodec codec = new ChunkCodec(ChunkCodec.DEFAULT_LEVEL);

    private static byte[] floats(int n, long seed) {
        Random rnd = new Random(seed);
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat((float) (rnd.nextGaussian() * 0.02));
        }
        return b.array();
    }

    @Test
    void compressibleChunkIsAZstdFrameNamedByTheSha256OfItsRawBytes() {
        byte[] raw = new byte[100_000];
        Arrays.fill(raw, (byte) 7);
        ChunkCodec.Encoded e = codec.encode(raw, 0, raw.length);
        assertEquals(Codec.ZSTD, e.ref().codec());
        assertEquals(Hashes.sha256Hex(raw), e.ref().hash());
        assertTrue(e.stored().length < 1000);
        assertEquals(0xFD2FB528, ByteBuffer.wrap(e.stored()).order(ByteOrder.LITTLE_ENDIAN).getInt(), "zstd magic");
        assertArrayEquals(raw, ChunkCodec.decode(e.ref(), e.stored()));
    }

    /** helper-110: an empty or cut object made zstd-jni index past its end, which escaped as a bare index error. */
    @Test
    void anEmptyOrCutObjectIsCorruptUnderEveryCodec() {
        byte[] raw = new byte[100_000];
        Arrays.fill(raw, (byte) 7);
        ChunkCodec.Encoded e = codec.encode(raw, 0, raw.length);
        for (byte[] stored : new byte[][] {new byte[0], Arrays.copyOf(e.stored(), 1), Arrays.copyOf(e.stored(), 3)}) {
            CorruptObjectException x = assertThrows(CorruptObjectException.class, () -> ChunkCodec.decode(e.ref(), stored));
            assertTrue(x.getMessage().contains(e.ref().key()), x.getMessage());
            assertEquals(null, ChunkCodec.identify(e.ref().hash(), raw.length, stored), stored.length + " bytes");
        }
    }

    @Test
    void incompressibleChunkIsStoredRaw() {
        byte[] raw = new byte[50_000];
        new Random(1).nextBytes(raw);
        ChunkCodec.Encoded e = codec.encode(raw, 0, raw.length);
        assertEquals(Codec.RAW, e.ref().codec());
        assertArrayEquals(raw, e.stored());
        assertArrayEquals(raw, ChunkCodec.decode(e.ref(), e.stored()));
    }

    @Test
    void anyFlippedByteIsDetectedAndTheBytesAreNotReturned() {
        byte[] raw = floats(20_000, 2);
        ChunkCodec.Encoded e = codec.encode(raw, 0, raw.length);
        Random rnd = new Random(3);
        for (int i = 0; i < 200; i++) {
            byte[] bad = e.stored().clone();
            bad[rnd.nextInt(bad.length)] ^= (byte) (1 + rnd.nextInt(255));
            CorruptObjectException ex = assertThrows(CorruptObjectException.class, () -> ChunkCodec.decode(e.ref(), bad));
            assertTrue(ex.getMessage().contains(e.ref().key()), ex.getMessage());
        }
        // a frame whose checksum (its last 4 bytes) fails is said as such, not as zstd's "Restored data doesn't match
        // checksum", read as if a restore's output were wrong (helper-141)
        byte[] sumBad = e.stored().clone();
        sumBad[sumBad.length - 1] ^= 1;
        CorruptObjectException sum = assertThrows(CorruptObjectException.class, () -> ChunkCodec.decode(e.ref(), sumBad));
        assertTrue(sum.getMessage().contains("the frame's checksum does not match its decoded bytes: the stored object"
                + " changed after it was written") && !sum.getMessage().contains("Restored"), sum.getMessage());
        byte[] rawBad = new byte[1000];
        ChunkRef rawRef = codec.encode(new byte[1000], 0, 1000).ref();
        rawBad[10] = 1;
        ChunkRef asRaw = new ChunkRef(rawRef.hash(), 1000, 1000, Codec.RAW);
        assertThrows(CorruptObjectException.class, () -> ChunkCodec.decode(asRaw, rawBad));
        assertThrows(CorruptObjectException.class, () -> ChunkCodec.decode(e.ref(), Arrays.copyOf(e.stored(), e.stored().length / 2)));
    }

    @Test
    void theZstdCommandLineToolDecompressesAStoredChunk(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/zstd")), "zstd command-line tool not installed");
        byte[] raw = floats(50_000, 4);
        ChunkCodec.Encoded e = codec.encode(raw, 0, raw.length);
        assertEquals(Codec.ZSTD, e.ref().codec());
        Path in = Files.write(tmp.resolve("chunk.zst"), e.stored());
        Process p = new ProcessBuilder("/usr/bin/zstd", "-d", "-q", "-c", in.toString()).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        assertArrayEquals(raw, out);
        assertEquals(e.ref().hash(), Hashes.sha256Hex(out));
    }

    @Test
    void levelOutsideZstdRangeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ChunkCodec(99));
    }
}

package dev.ckpt.store.util;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/** Which reads take a reused buffer, and that a buffer given back is taken again. */
class ChunkBuffersTest {
    private static final int MIB = 1 << 20;

    @Test
    void aLargeChunkTakesAReusedBufferAndASmallOneAnArrayOfItsOwn() {
        ChunkBuffers b = new ChunkBuffers(8 * MIB);
        byte[] big = b.takeFor(3 * MIB); // the bench's tensor-aligned chunks are 3, 4 and 8 MiB
        assertEquals(8 * MIB, big.length);
        b.give(big);
        assertSame(big, b.takeFor(8 * MIB), "given back, taken again");
        assertEquals(8 * MIB, b.takeFor(MIB + 1).length);
        assertEquals(MIB, b.takeFor(MIB).length, "1 MiB of an 8 MiB buffer: an array of its own");
        assertEquals(100, b.takeFor(100).length);
        byte[] own = b.takeFor(100);
        b.give(own); // dropped: another size
        assertNotSame(own, b.takeFor(8 * MIB));
    }

    @Test
    void aBufferIsNeverMoreThanEightTimesWhatItHolds() {
        ChunkBuffers b = new ChunkBuffers(64 * MIB); // one chunk of another writer's 64 MiB among 8 MiB ones
        assertEquals(8 * MIB, b.takeFor(8 * MIB).length);
        assertEquals(64 * MIB, b.takeFor(8 * MIB + 1).length);
        assertEquals(65 * MIB, b.takeFor(65 * MIB).length, "larger than the buffers: an array of its own");
    }

    @Test
    void smallChunkSizesStillReuseTheirBuffers() {
        ChunkBuffers b = new ChunkBuffers(16 << 10); // the tests' 16 KiB chunks
        assertEquals(16 << 10, b.takeFor(8 << 10).length);
        assertEquals((8 << 10) - 1, b.takeFor((8 << 10) - 1).length);
    }
}

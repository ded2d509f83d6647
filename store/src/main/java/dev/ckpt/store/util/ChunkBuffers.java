package dev.ckpt.store.util;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Chunk-sized buffers of one save or restore, reused across its chunks. A new multi-MiB
 * array per chunk is a "humongous" allocation for G1: zeroed by the JVM, collected by extra
 * GC cycles, and, as the heap grows to hold them, faulted in fresh by the kernel — about 1.5
 * core-seconds per GiB saved, and a quarter of a restore's CPU (docs/benchmarks.md, "Read-ahead
 * of a save" and "Restore: reads into reused buffers"). Not a bound: the caller's own permits
 * bound how many are out at once, and this holds at most that many when they come back.
 * Thread-safe.
 */
public final class ChunkBuffers {
    private final int size;
    private final ConcurrentLinkedQueue<byte[]> free = new ConcurrentLinkedQueue<>();

    /** Buffers of {@code size} bytes. */
    public ChunkBuffers(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("buffer size " + size);
        }
        this.size = size;
    }

    /** The size of each buffer, in bytes. */
    public int size() {
        return size;
    }

    /**
     * Objects of this many bytes or more are large ({@link #takeFor}): a new array of 1 MiB or more
     * is "humongous" for G1 (half a region; a region is at most 2 MiB below a 4 GiB heap), allocated
     * outside the young generation and collected only by extra cycles.
     */
    public static final int LARGE_MIN_BYTES = 1 << 20;

    /**
     * A buffer for {@code n} bytes: a free one of {@link #size()} bytes when {@code n} is large
     * ({@link #LARGE_MIN_BYTES}, or half the size, or more) and fits, else a new array of {@code n}
     * bytes, which {@link #give} drops. A reused buffer is never more than 8 times the bytes it
     * holds: a checkpoint whose largest chunk is far larger than the others (another writer's
     * chunk size) keeps its smaller chunks on arrays of their own, not in buffers of the largest.
     */
    public byte[] takeFor(int n) {
        return n >= Math.max(Math.min(LARGE_MIN_BYTES, size / 2), size / 8 + 1) && n <= size ? take() : new byte[n];
    }

    /** A free buffer of {@link #size()} bytes, a new one when none is free. Its content is unspecified. */
    public byte[] take() {
        byte[] b = free.poll();
        return b != null ? b : new byte[size];
    }

    /** Gives back a buffer its taker no longer uses; one of another size is dropped. */
    public void give(byte[] b) {
        if (b.length == size) {
            free.add(b);
        }
    }
}

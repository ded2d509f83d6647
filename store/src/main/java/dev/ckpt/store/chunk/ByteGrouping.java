package dev.ckpt.store.chunk;

/**
 * The byte grouping of floating-point chunks ("byte shuffle" in Blosc and HDF5's shuffle
 * filter), applied before zstd. A chunk of {@code n} bytes grouped by width {@code w} has
 * {@code m = n / w} whole elements; its grouped form holds byte 0 of every element, then
 * byte 1 of every element, ..., then byte {@code w-1} of every element, then the
 * {@code n - m*w} trailing bytes unchanged:
 *
 * <pre>grouped[b*m + i] = raw[i*w + b]   for 0 &lt;= b &lt; w, 0 &lt;= i &lt; m
 * grouped[m*w + j]  = raw[m*w + j]   for 0 &lt;= j &lt; n - m*w</pre>
 *
 * The exponent bytes of float tensors then sit together and compress; their noisy
 * mantissa bytes do not spoil them (docs/benchmarks.md has the ratios; docs/design.md the
 * format).
 */
public final class ByteGrouping {
    private ByteGrouping() {
    }

    /**
     * Elements per block: the passes of one block write (or read) {@code BLOCK * w} bytes of
     * the raw form, 16 KiB for float32, which stay in the L1/L2 cache from one byte position's
     * pass to the next; unblocked, each of the {@code w} passes streamed the whole chunk.
     */
    private static final int BLOCK = 4096;

    /**
     * Writes the grouped form of {@code src[off, off+n)} into {@code dst[0, n)}.
     *
     * <p>Block by block, one strided pass per byte position, each with a single store per
     * element. In a fresh JVM (a {@code ckpt-tool} run) the first loop, which stored all
     * {@code w} bytes of an element per iteration, ran at a fraction of its warm speed until
     * C2 caught up; the simple loop compiles sooner and better, and blocking keeps its writes
     * in cache (docs/benchmarks.md, "The grouping loop in a fresh JVM":
     * {@code GroupingLoopBenchmark}).
     */
    public static void group(byte[] src, int off, int n, int w, byte[] dst) {
        int m = n / w;
        if (w == 4) { // the stride a literal: the JIT unrolls the float32 case (1.5-2x warm)
            for (int from = 0; from < m; from += BLOCK) {
                int to = Math.min(m, from + BLOCK);
                for (int b = 0; b < 4; b++) {
                    int base = b * m;
                    for (int i = from, s = off + from * 4 + b; i < to; i++, s += 4) {
                        dst[base + i] = src[s];
                    }
                }
            }
            System.arraycopy(src, off + m * 4, dst, m * 4, n - m * 4);
            return;
        }
        for (int from = 0; from < m; from += BLOCK) {
            int to = Math.min(m, from + BLOCK);
            for (int b = 0; b < w; b++) {
                int base = b * m;
                for (int i = from, s = off + from * w + b; i < to; i++, s += w) {
                    dst[base + i] = src[s];
                }
            }
        }
        System.arraycopy(src, off + m * w, dst, m * w, n - m * w);
    }

    /**
     * Undoes {@link #group}: writes the raw form of grouped {@code src[0, n)} into {@code dst[0, n)},
     * the same way (block by block, one strided pass per byte position).
     */
    public static void ungroup(byte[] src, int n, int w, byte[] dst) {
        int m = n / w;
        if (w == 4) { // as in group: float32 with the stride a literal
            for (int from = 0; from < m; from += BLOCK) {
                int to = Math.min(m, from + BLOCK);
                for (int b = 0; b < 4; b++) {
                    int base = b * m;
                    for (int i = from, d = from * 4 + b; i < to; i++, d += 4) {
                        dst[d] = src[base + i];
                    }
                }
            }
            System.arraycopy(src, m * 4, dst, m * 4, n - m * 4);
            return;
        }
        for (int from = 0; from < m; from += BLOCK) {
            int to = Math.min(m, from + BLOCK);
            for (int b = 0; b < w; b++) {
                int base = b * m;
                for (int i = from, d = from * w + b; i < to; i++, d += w) {
                    dst[d] = src[base + i];
                }
            }
        }
        System.arraycopy(src, m * w, dst, m * w, n - m * w);
    }
}

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

    /** Writes the grouped form of {@code src[off, off+n)} into {@code dst[0, n)}. */
    public static void group(byte[] src, int off, int n, int w, byte[] dst) {
        int m = n / w;
        if (w == 4) {
            int p1 = m, p2 = 2 * m, p3 = 3 * m;
            for (int i = 0, s = off; i < m; i++, s += 4) {
                dst[i] = src[s];
                dst[p1 + i] = src[s + 1];
                dst[p2 + i] = src[s + 2];
                dst[p3 + i] = src[s + 3];
            }
        } else if (w == 2) {
            for (int i = 0, s = off; i < m; i++, s += 2) {
                dst[i] = src[s];
                dst[m + i] = src[s + 1];
            }
        } else {
            for (int b = 0; b < w; b++) {
                int base = b * m;
                for (int i = 0, s = off + b; i < m; i++, s += w) {
                    dst[base + i] = src[s];
                }
            }
        }
        System.arraycopy(src, off + m * w, dst, m * w, n - m * w);
    }

    /** Undoes {@link #group}: writes the raw form of grouped {@code src[0, n)} into {@code dst[0, n)}. */
    public static void ungroup(byte[] src, int n, int w, byte[] dst) {
        int m = n / w;
        if (w == 4) {
            int p1 = m, p2 = 2 * m, p3 = 3 * m;
            for (int i = 0, d = 0; i < m; i++, d += 4) {
                dst[d] = src[i];
                dst[d + 1] = src[p1 + i];
                dst[d + 2] = src[p2 + i];
                dst[d + 3] = src[p3 + i];
            }
        } else if (w == 2) {
            for (int i = 0, d = 0; i < m; i++, d += 2) {
                dst[d] = src[i];
                dst[d + 1] = src[m + i];
            }
        } else {
            for (int b = 0; b < w; b++) {
                int base = b * m;
                for (int i = 0, d = b; i < m; i++, d += w) {
                    dst[d] = src[base + i];
                }
            }
        }
        System.arraycopy(src, m * w, dst, m * w, n - m * w);
    }
}

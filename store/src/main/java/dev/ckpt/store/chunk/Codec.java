package dev.ckpt.store.chunk;

/**
 * How a chunk's bytes are stored; recorded per chunk in the manifest (as the constant's
 * name). Every compressed form is one standard zstd frame with the content size and the
 * content checksum, so {@code zstd -d} reads any chunk object.
 */
public enum Codec {
    /** A standard zstd frame of the chunk's bytes. */
    ZSTD(1),
    /** The raw bytes, when zstd does not make them smaller. */
    RAW(1),
    /**
     * A zstd frame of the chunk's bytes grouped by position in 2-byte elements (F16, BF16
     * tensors): see {@link ByteGrouping}.
     */
    ZSTD_GROUPED_2(2),
    /** As {@link #ZSTD_GROUPED_2} for 4-byte elements (F32 tensors). */
    ZSTD_GROUPED_4(4),
    /** As {@link #ZSTD_GROUPED_2} for 8-byte elements (F64 tensors). */
    ZSTD_GROUPED_8(8);

    private final int groupWidth;

    Codec(int groupWidth) {
        this.groupWidth = groupWidth;
    }

    /** The element width in bytes the chunk's bytes are grouped by before zstd; 1 for none. */
    public int groupWidth() {
        return groupWidth;
    }

    public boolean compressed() {
        return this != RAW;
    }

    /** The zstd codec that groups by {@code width} bytes ({@link #ZSTD} for 1). */
    public static Codec zstdGroupedBy(int width) {
        return switch (width) {
            case 1 -> ZSTD;
            case 2 -> ZSTD_GROUPED_2;
            case 4 -> ZSTD_GROUPED_4;
            case 8 -> ZSTD_GROUPED_8;
            default -> throw new IllegalArgumentException("no byte grouping by " + width + " bytes");
        };
    }
}

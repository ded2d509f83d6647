package dev.ckpt.store.chunk;

/** How a chunk's bytes are stored. */
public enum Codec {
    /** A standard zstd frame with the content checksum; {@code zstd -d} reads it. */
    ZSTD,
    /** The raw bytes, when zstd does not make them smaller. */
    RAW
}

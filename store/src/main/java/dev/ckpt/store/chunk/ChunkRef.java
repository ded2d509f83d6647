package dev.ckpt.store.chunk;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.Objects;

/**
 * One chunk of a file: the SHA-256 of its uncompressed bytes (which is also its name),
 * its raw length, and how it is stored. A <em>slice</em> ({@code offset} and
 * {@code length} set) is a file's bytes {@code [offset, offset + length)} of the chunk's
 * raw bytes: a small file packed with others into one chunk (a "pack", see
 * {@code docs/design.md}). Both are null for a whole chunk, and then absent from the JSON,
 * so manifests without packs are byte for byte what they were.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChunkRef(String hash, int rawLength, int storedLength, Codec codec, Integer offset, Integer length) {
    public ChunkRef {
        if (!Hashes.isSha256Hex(hash)) {
            throw new IllegalArgumentException("chunk hash must be 64 lower-case hex digits, got '" + hash + "'");
        }
        if (rawLength < 0 || storedLength < 0) {
            throw new IllegalArgumentException("negative chunk length for " + hash);
        }
        Objects.requireNonNull(codec, "codec");
        if ((offset == null) != (length == null)) {
            throw new IllegalArgumentException("chunk " + hash + ": a slice has both offset and length, a whole chunk neither");
        }
        if (offset != null && (offset < 0 || length < 0 || (long) offset + length > rawLength)) {
            throw new IllegalArgumentException("chunk " + hash + ": slice [" + offset + ", +" + length
                    + ") is not within its " + rawLength + " bytes");
        }
    }

    /** A whole chunk. */
    public ChunkRef(String hash, int rawLength, int storedLength, Codec codec) {
        this(hash, rawLength, storedLength, codec, null, null);
    }

    /** True when this is a slice of a pack, not a whole chunk. */
    public boolean sliced() {
        return offset != null;
    }

    /** Where the file's bytes start in the chunk's raw bytes: 0 for a whole chunk. */
    public int sliceOffset() {
        return offset == null ? 0 : offset;
    }

    /** How many of the file's bytes this reference holds: the slice's length, or the whole chunk's. */
    public int sliceLength() {
        return length == null ? rawLength : length;
    }

    /** The same chunk, whole. */
    public ChunkRef whole() {
        return offset == null ? this : new ChunkRef(hash, rawLength, storedLength, codec);
    }

    /** The slice {@code [offset, offset + length)} of this (whole) chunk. */
    public ChunkRef slice(int offset, int length) {
        return new ChunkRef(hash, rawLength, storedLength, codec, offset, length);
    }

    /** The object key of the chunk: {@code chunks/<h0h1>/<hash>}. */
    public String key() {
        return keyOf(hash);
    }

    public static String keyOf(String hash) {
        return "chunks/" + hash.substring(0, 2) + "/" + hash;
    }

    /** The hash of a chunk key, or null when the key is not a chunk key. */
    public static String hashOfKey(String key) {
        if (!key.startsWith("chunks/") || key.length() != "chunks/".length() + 3 + 64) {
            return null;
        }
        String hash = key.substring(key.length() - 64);
        return Hashes.isSha256Hex(hash) && key.startsWith("chunks/" + hash.substring(0, 2) + "/") ? hash : null;
    }
}

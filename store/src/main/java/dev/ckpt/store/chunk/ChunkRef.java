package dev.ckpt.store.chunk;

import java.util.Objects;

/**
 * One chunk of a file: the SHA-256 of its uncompressed bytes (which is also its name),
 * its raw length, and how it is stored.
 */
public record ChunkRef(String hash, int rawLength, int storedLength, Codec codec) {
    public ChunkRef {
        if (!Hashes.isSha256Hex(hash)) {
            throw new IllegalArgumentException("chunk hash must be 64 lower-case hex digits, got '" + hash + "'");
        }
        if (rawLength < 0 || storedLength < 0) {
            throw new IllegalArgumentException("negative chunk length for " + hash);
        }
        Objects.requireNonNull(codec, "codec");
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

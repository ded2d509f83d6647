package dev.ckpt.store.objectstore;

import java.time.Instant;
import java.util.Objects;

/** Metadata of an object. {@code etag} may be null in listings. */
public record ObjectInfo(String key, long size, Instant lastModified, String etag) {
    public ObjectInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(lastModified, "lastModified");
        if (size < 0) {
            throw new IllegalArgumentException("negative size for " + key);
        }
    }
}

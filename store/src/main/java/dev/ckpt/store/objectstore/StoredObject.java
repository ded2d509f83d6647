package dev.ckpt.store.objectstore;

import java.util.Objects;

/** The bytes of an object together with the ETag they were read at. */
public record StoredObject(String key, byte[] data, String etag) {
    public StoredObject {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(etag, "etag");
    }
}

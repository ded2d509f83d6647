package dev.ckpt.store.objectstore;

import java.util.Objects;

/**
 * An object's bytes as {@link ObjectStore#getInto} read them: the first {@code length} bytes
 * of {@code array}, which is the caller's buffer when the object fit in it, else a new array.
 * The bytes past {@code length} are not the object's.
 */
public record StoredBytes(byte[] array, int length) {
    public StoredBytes {
        Objects.requireNonNull(array, "array");
        if (length < 0 || length > array.length) {
            throw new IllegalArgumentException("length " + length + " outside an array of " + array.length);
        }
    }
}

package dev.ckpt.store.error;

/**
 * A write to a store that can only be read (a read-only mount, a filesystem snapshot, a
 * directory this user may not write, or a store opened read-only). Nothing was written;
 * reading works. Retrying will not help: write through a writable mount.
 */
public final class ReadOnlyStoreException extends CkptException {
    public ReadOnlyStoreException(String message) {
        super(message);
    }

    public ReadOnlyStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}

package dev.ckpt.store.error;

/**
 * An object's content does not match what references it (hash mismatch, truncation,
 * malformed JSON, an unsafe path). The bytes are never returned to the caller.
 */
public final class CorruptObjectException extends CkptException {
    private final String key;

    public CorruptObjectException(String key, String message) {
        super(message);
        this.key = key;
    }

    public CorruptObjectException(String key, String message, Throwable cause) {
        super(message, cause);
        this.key = key;
    }

    /** The object key or file that is corrupt. */
    public String key() {
        return key;
    }
}

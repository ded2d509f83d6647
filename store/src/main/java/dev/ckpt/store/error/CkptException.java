package dev.ckpt.store.error;

/**
 * Root of every error the store raises. Unchecked, specific and prescriptive: each
 * subclass says what went wrong, names the object key or file, and its message tells
 * the operator what to do. Messages never contain credentials.
 */
public abstract class CkptException extends RuntimeException {
    protected CkptException(String message) {
        super(message);
    }

    protected CkptException(String message, Throwable cause) {
        super(message, cause);
    }

    /** True when repeating the same operation later may succeed. */
    public boolean isRetryable() {
        return false;
    }
}

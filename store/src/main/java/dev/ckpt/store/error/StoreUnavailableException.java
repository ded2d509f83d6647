package dev.ckpt.store.error;

/**
 * The backend could not be reached or failed transiently (I/O error, timeout, 5xx).
 * For a write, the write may or may not have happened. Retrying later is safe.
 */
public final class StoreUnavailableException extends CkptException {
    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public StoreUnavailableException(String message) {
        super(message);
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}

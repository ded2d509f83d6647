package dev.ckpt.store.error;

/**
 * The backend could not be reached or failed transiently (I/O error, timeout, 5xx).
 * For a write, the write may or may not have happened. Retrying later is safe.
 *
 * <p>A failure that a retry alone will not fix, such as a full disk or a permission on a local
 * store, is {@link #needsAction}: the message says what to do, and the CLIs exit 1 (error)
 * for it rather than 7 (unavailable, retry), so a requeue script does not retry in a loop.
 */
public final class StoreUnavailableException extends CkptException {
    private final boolean needsAction;

    public StoreUnavailableException(String message, Throwable cause) {
        this(message, cause, false);
    }

    public StoreUnavailableException(String message) {
        this(message, null, false);
    }

    private StoreUnavailableException(String message, Throwable cause, boolean needsAction) {
        super(message, cause);
        this.needsAction = needsAction;
    }

    /** A backend failure someone must act on before a retry can succeed (free space, fix a permission). */
    public static StoreUnavailableException needingAction(String message, Throwable cause) {
        return new StoreUnavailableException(message, cause, true);
    }

    /** Whether a retry alone will not help: the message says what to do first. */
    public boolean needsAction() {
        return needsAction;
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}

package dev.ckpt.store.error;

/**
 * ROOT kept changing under the commit and the bounded retries ran out, or another
 * process holds what the operation needs (a GC lease). Nothing was committed: retrying
 * the whole operation is safe.
 */
public class CommitConflictException extends CkptException {
    public CommitConflictException(String message) {
        super(message);
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}

package dev.ckpt.store.error;

/**
 * A write of ROOT may or may not have taken effect (timeout, reset or server error after
 * the request may have reached the server) and reading ROOT back did not settle it.
 * Never retried automatically and never cleaned up: objects the commit wrote may be
 * referenced. Run {@code ckpt-tool ls} later to see whether the checkpoint is there.
 */
public final class CommitStateUnknownException extends CkptException {
    private final String transactionId;

    public CommitStateUnknownException(String key, String transactionId, Throwable cause) {
        super("the write of " + key + " (transaction " + transactionId + ") may or may not have been applied, "
                + "and reading it back failed: do not clean anything up; list the store again once it is "
                + "reachable to see whether the change is there", cause);
        this.transactionId = transactionId;
    }

    /**
     * The caller's deadline passed with a write of {@code key} in doubt: abandoned in flight, or
     * sent earlier and not yet read back. Says what the deadline's error says happened.
     */
    public static CommitStateUnknownException pastDeadline(String key, String transactionId,
                                                           DeadlineExceededException late) {
        return new CommitStateUnknownException(transactionId, late, late.circumstances() + "; a write of " + key
                + " (transaction " + transactionId + ") had been sent and may or may not be applied, and there was no"
                + " time left to read it back: do not clean anything up; list the store again later to see whether"
                + " the change is there");
    }

    /**
     * Every write of {@code key} failed as unavailable ({@code lastFailure}: a server error, a
     * reset, a lost response) and ROOT read back afterwards does not show it: one the server had
     * not finished may land yet. Not "reading it back failed", which it did not (helper-123).
     */
    public static CommitStateUnknownException notShownYet(String key, String transactionId, Throwable lastFailure) {
        String why = lastFailure instanceof CkptException c ? c.reason() : String.valueOf(lastFailure.getMessage());
        return new CommitStateUnknownException(transactionId, lastFailure, "the write of " + key + " (transaction "
                + transactionId + ") failed (" + why + "); ROOT read back afterwards does not show it, but a write the"
                + " server had not finished may land yet: do not clean anything up; list the store again in a few"
                + " minutes to see whether the change is there");
    }

    private CommitStateUnknownException(String transactionId, Throwable cause, String message) {
        super(message, cause);
        this.transactionId = transactionId;
    }

    public String transactionId() {
        return transactionId;
    }
}

package dev.ckpt.store.error;

import java.time.Duration;

/**
 * A save or restore did not finish by its caller's deadline and was abandoned. Names the
 * object whose request was in flight longest (the stuck one) and the time spent. Nothing
 * was committed (a save's uploaded chunks are unreferenced, for GC) and a restore left its
 * target as it was; retrying later, or with more time, is safe.
 */
public final class DeadlineExceededException extends CkptException {
    private final String key;
    private final Duration stuckFor;
    private final Duration spent;

    public DeadlineExceededException(String message, String key, Duration stuckFor, Duration spent) {
        super(message);
        this.key = key;
        this.stuckFor = stuckFor;
        this.spent = spent;
    }

    /** The object whose request was in flight longest when the deadline passed (the slowest one if none was). */
    public String key() {
        return key;
    }

    /** How long that object's request had been in flight (or took). */
    public Duration stuckFor() {
        return stuckFor;
    }

    /** How long the operation ran before it was abandoned. */
    public Duration spent() {
        return spent;
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}

package dev.ckpt.store.error;

import java.time.Duration;

/**
 * A save or restore did not finish by its caller's deadline and was abandoned. Names the
 * object whose request was in flight longest (the stuck one) and the time spent. Nothing
 * was committed (a save's uploaded chunks are unreferenced, for GC) and a restore left its
 * target as it was; retrying later, or with more time, is safe. A commit's write of ROOT
 * abandoned in flight is the exception: the commit reports
 * {@link CommitStateUnknownException} instead ({@link #abandonedInFlight()}).
 */
public final class DeadlineExceededException extends CkptException {
    private final String key;
    private final Duration stuckFor;
    private final Duration spent;
    private final String circumstances;
    private final String consequence;
    private final boolean abandonedInFlight;

    /** A deadline that passed before any request of the caller was sent, or outside any request (a wait). */
    public DeadlineExceededException(String message, String key, Duration stuckFor, Duration spent) {
        this(message, "", key, stuckFor, spent, false);
    }

    /**
     * @param circumstances     what happened: "save of run r step 5 did not finish by its deadline … in flight
     *                          for 2.1 s without an answer (1 request(s) in flight)"
     * @param consequence       what the caller is left with, after "; " (empty = nothing to add)
     * @param abandonedInFlight whether the request that gets this error had been sent and was abandoned before
     *                          its answer came (a write may land yet), rather than refused before it was sent
     */
    public DeadlineExceededException(String circumstances, String consequence, String key, Duration stuckFor,
                                     Duration spent, boolean abandonedInFlight) {
        super(consequence.isEmpty() ? circumstances : circumstances + "; " + consequence);
        this.circumstances = circumstances;
        this.consequence = consequence;
        this.key = key;
        this.stuckFor = stuckFor;
        this.spent = spent;
        this.abandonedInFlight = abandonedInFlight;
    }

    /** The message without what the caller is left with: for a caller that says that itself. */
    public String circumstances() {
        return circumstances;
    }

    /** What the caller is left with ("nothing was committed; …"), as the message says it; empty if it says none. */
    public String consequence() {
        return consequence;
    }

    /**
     * Whether the request that got this error was sent and abandoned without its answer: a write
     * may still land. False when it was refused before it was sent (the deadline had passed) and
     * for a wait that sent nothing (a local store's wait for its lock).
     */
    public boolean abandonedInFlight() {
        return abandonedInFlight;
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

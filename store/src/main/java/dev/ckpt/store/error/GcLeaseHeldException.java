package dev.ckpt.store.error;

import java.time.Instant;

/**
 * A GC holds the store's lease and the operation cannot go on without waiting for it
 * longer than it was allowed to: a commit that needs objects on the GC's delete list, or
 * a second GC. Names the holder and when its lease expires. Nothing was committed or
 * deleted by this operation; retrying after the GC finishes or its lease expires is safe.
 */
public final class GcLeaseHeldException extends CommitConflictException {
    private final long generation;
    private final String owner;
    private final Instant leaseExpiry;

    public GcLeaseHeldException(String message, long generation, String owner, Instant leaseExpiry) {
        super(message);
        this.generation = generation;
        this.owner = owner;
        this.leaseExpiry = leaseExpiry;
    }

    public long generation() {
        return generation;
    }

    /** Who holds the lease, e.g. {@code 1f2e3d4c@node17 pid 4242}. */
    public String owner() {
        return owner;
    }

    public Instant leaseExpiry() {
        return leaseExpiry;
    }
}

package dev.ckpt.store.error;

import java.util.List;

/**
 * A checkpoint saved by several ranks could not be committed: a rank's part did not appear
 * (rank 0, which commits, waited for it), or the commit did not appear (another rank waited
 * for rank 0), within the caller's timeout; or a GC deleted another rank's objects before
 * the commit. Nothing was committed for that step; what was uploaded is garbage that GC
 * collects after the grace age. The next step's save starts afresh.
 */
public final class RanksIncompleteException extends CommitConflictException {
    private final String checkpointId;
    private final List<Integer> missingRanks;

    private final boolean relayed;

    public RanksIncompleteException(String checkpointId, List<Integer> missingRanks, String message) {
        this(checkpointId, missingRanks, message, false);
    }

    /** {@code relayed}: this rank stopped because another rank recorded that it gave up (its reason is in the message). */
    public RanksIncompleteException(String checkpointId, List<Integer> missingRanks, String message, boolean relayed) {
        super(message);
        this.checkpointId = checkpointId;
        this.missingRanks = List.copyOf(missingRanks);
        this.relayed = relayed;
        if (relayed) {
            closeStep(); // another rank's record closed the step for good: its message says "save a later step"
        }
    }

    /** Whether this rank stopped because another rank gave up (so it has nothing of its own to record). */
    public boolean relayed() {
        return relayed;
    }

    public String checkpointId() {
        return checkpointId;
    }

    /** The ranks whose part was missing (empty when rank 0's commit was what did not come). */
    public List<Integer> missingRanks() {
        return missingRanks;
    }
}

package dev.ckpt.store.restore;

import java.util.List;

/**
 * The outcome of a verify: what was checked and every problem found. {@code checkpointIds}:
 * the checkpoints verified, as resolved when the verify began (a checkpoint committed while it
 * ran is not among them, so {@code verify --record} never records one that was not read).
 * {@code chunksChecked} and {@code bytesChecked}: the distinct chunks read and re-hashed, and
 * their raw bytes, each counted once however many checkpoints or files hold it.
 */
public record VerifyReport(boolean deep, List<String> checkpointIds, int chunksChecked, long bytesChecked,
                           List<Problem> problems) {
    public enum Kind { MISSING, CORRUPT, SIZE_MISMATCH, MANIFEST_UNREADABLE, ROOT_UNREADABLE,
        /** ROOT is older than a checkpoint in the store, or missing ({@link dev.ckpt.store.commit.NewerThanRoot}). */
        ROOT_OLDER,
        /**
         * ROOT's entry for a checkpoint names another id, run or step than the checkpoint's own
         * manifest (which the entry's SHA-256 proves): ROOT was edited by hand or damaged.
         */
        ROOT_MISMATCH }

    /** One problem: which checkpoint, which object, what is wrong. */
    public record Problem(String checkpointId, String key, Kind kind, String message) {
    }

    public VerifyReport {
        checkpointIds = List.copyOf(checkpointIds);
        problems = List.copyOf(problems);
    }

    /** How many checkpoints were verified. */
    public int checkpoints() {
        return checkpointIds.size();
    }

    public boolean ok() {
        return problems.isEmpty();
    }
}

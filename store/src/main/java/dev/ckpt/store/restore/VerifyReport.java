package dev.ckpt.store.restore;

import java.util.List;

/** The outcome of a verify: what was checked and every problem found. */
public record VerifyReport(boolean deep, int checkpoints, int chunksChecked, long bytesChecked, List<Problem> problems) {
    public enum Kind { MISSING, CORRUPT, SIZE_MISMATCH, MANIFEST_UNREADABLE, ROOT_UNREADABLE }

    /** One problem: which checkpoint, which object, what is wrong. */
    public record Problem(String checkpointId, String key, Kind kind, String message) {
    }

    public VerifyReport {
        problems = List.copyOf(problems);
    }

    public boolean ok() {
        return problems.isEmpty();
    }
}

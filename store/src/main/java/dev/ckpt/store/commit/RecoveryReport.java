package dev.ckpt.store.commit;

import dev.ckpt.store.manifest.RootState;

import java.time.Instant;
import java.util.List;

/**
 * What {@link RootRecovery} found and decided. Nothing is written unless {@code decision}
 * is {@link Decision#REWRITTEN}.
 *
 * @param condition     what ROOT looked like
 * @param rootProblem   why ROOT is unusable (null when healthy or missing)
 * @param decision      what recovery did or, in a dry run, would do
 * @param message       one line saying so, with what to do next
 * @param manifests     one finding per object under {@code manifests/}, sorted by key (empty when ROOT is healthy)
 * @param writerEpoch   the writer epoch given to every run in the rebuilt ROOT (0 when nothing was rebuilt)
 * @param highestEpochSeen the highest writer epoch found in manifests and in what is left of the damaged ROOT
 * @param gcGeneration  the GC generation of the rebuilt ROOT (the highest found)
 * @param newestKey     the most recently written object outside ROOT (null when there is none)
 * @param newestAt      when it was written
 * @param backupKey     where the damaged ROOT's bytes were (or would be) copied before it is replaced, or null
 * @param rebuilt       the ROOT recovery wrote or would write (null when there is nothing to rebuild)
 */
public record RecoveryReport(Condition condition, String rootProblem, Decision decision, String message,
                             List<Finding> manifests, long writerEpoch, long highestEpochSeen, long gcGeneration,
                             String newestKey, Instant newestAt, String backupKey, RootState rebuilt) {
    public enum Condition { HEALTHY, MISSING, DAMAGED }

    public enum Decision {
        /** ROOT reads fine (or the store is empty): nothing was written. */
        NOTHING_TO_DO,
        /** Dry run: the new ROOT was built and checked, nothing was written. */
        WOULD_REWRITE,
        /** The new ROOT was written. */
        REWRITTEN,
        /** An object was written within the quiet period: a writer or GC may still be running. */
        REFUSED_RECENT_ACTIVITY,
        /** ROOT changed between the read and the conditional write: someone else repaired or wrote it. */
        CONFLICT
    }

    /** One manifest: kept in the rebuilt ROOT, or skipped and why. */
    public record Finding(String key, String checkpointId, String run, long step, boolean kept, String reason) {
    }

    public RecoveryReport {
        manifests = List.copyOf(manifests);
    }

    public long kept() {
        return manifests.stream().filter(Finding::kept).count();
    }

    public long skipped() {
        return manifests.size() - kept();
    }
}

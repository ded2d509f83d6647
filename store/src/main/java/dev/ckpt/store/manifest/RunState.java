package dev.ckpt.store.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-run writer fencing: the current writer epoch and who claimed it. {@code writerId} is
 * one process's random id, or {@code job:<job id>} for the ranks of one job, which share the
 * epoch. {@code retired}: the writer ids that held the run before, newest last (at most
 * {@link #KEEP_RETIRED}) — a rank of a replaced job that starts late is refused, instead of
 * claiming the run back from its successor.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record RunState(long writerEpoch, String writerId, Instant claimedAt, List<String> retired) {
    public static final int KEEP_RETIRED = 32;
    /** Writer ids of jobs whose ranks share one epoch start with this. */
    public static final String JOB_PREFIX = "job:";

    public RunState {
        retired = retired == null ? List.of() : List.copyOf(retired);
    }

    public RunState(long writerEpoch, String writerId, Instant claimedAt) {
        this(writerEpoch, writerId, claimedAt, List.of());
    }

    /**
     * The next writer's state: epoch + 1, the current writer retired if it was a job's
     * ({@code job:} prefix; a single process's random id can never claim again).
     */
    public RunState next(String newWriterId, Instant now) {
        List<String> r = new ArrayList<>(retired);
        if (writerId != null && writerId.startsWith(JOB_PREFIX)) {
            r.remove(writerId);
            r.add(writerId);
        }
        while (r.size() > KEEP_RETIRED) {
            r.remove(0);
        }
        return new RunState(writerEpoch + 1, newWriterId, now, r);
    }
}

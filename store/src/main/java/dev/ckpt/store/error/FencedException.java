package dev.ckpt.store.error;

/**
 * This writer's epoch for its run is no longer current: a newer writer claimed the run
 * (typically the job that replaced a preempted one). The commit was refused so that a
 * zombie never overwrites its successor. Stop writing; do not retry.
 */
public final class FencedException extends CkptException {
    private final String run;
    private final long writerEpoch;
    private final long currentEpoch;

    public FencedException(String run, long writerEpoch, long currentEpoch) {
        this(run, writerEpoch, currentEpoch, currentEpoch < writerEpoch
                // ROOT went back: not a newer writer (helper-107: an empty store mounted over the store said so)
                ? "writer of run '" + run + "' is fenced: it holds epoch " + writerEpoch + " but ROOT now says the run's"
                + " epoch is " + currentEpoch + ", older than this writer's: ROOT was replaced by an older copy or another"
                + " store (a backup restored, another directory or bucket mounted at the store's place), so this"
                + " process stops writing checkpoints rather than write over it; check the store with ckpt-tool ls"
                + " before running again"
                : "writer of run '" + run + "' is fenced: it holds epoch " + writerEpoch
                + " but the run's current epoch is " + currentEpoch
                + "; a newer writer owns this run, so this process must stop writing checkpoints");
    }

    private FencedException(String run, long writerEpoch, long currentEpoch, String message) {
        super(message);
        this.run = run;
        this.writerEpoch = writerEpoch;
        this.currentEpoch = currentEpoch;
    }

    /** A rank of a job that was replaced (requeued) asked to join the run again. */
    public static FencedException replaced(String run, String jobWriterId, long currentEpoch, String currentWriter) {
        return new FencedException(run, 0, currentEpoch, "writer " + jobWriterId + " of run '" + run
                + "' is fenced: it was replaced by " + currentWriter + " (epoch " + currentEpoch
                + "); this rank belongs to a job that no longer owns the run and must stop writing checkpoints");
    }

    /**
     * This refusal, said with {@code advice} after it (what a person who ran the command by hand
     * should do: a {@code ckpt-tool push} fenced by another push of the same run); the same
     * epochs, this exception as its cause, and a closed step stays closed.
     */
    public FencedException withAdvice(String advice) {
        FencedException e = new FencedException(run, writerEpoch, currentEpoch, getMessage() + "; " + advice);
        e.initCause(this);
        if (stepClosed()) {
            e.closeStep();
        }
        return e;
    }

    public String run() {
        return run;
    }

    public long writerEpoch() {
        return writerEpoch;
    }

    public long currentEpoch() {
        return currentEpoch;
    }
}

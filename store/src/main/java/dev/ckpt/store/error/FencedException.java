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
        super("writer of run '" + run + "' is fenced: it holds epoch " + writerEpoch
                + " but the run's current epoch is " + currentEpoch
                + "; a newer writer owns this run, so this process must stop writing checkpoints");
        this.run = run;
        this.writerEpoch = writerEpoch;
        this.currentEpoch = currentEpoch;
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

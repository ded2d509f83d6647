package dev.ckpt.trainer;

import java.time.Duration;
import java.util.Locale;

/**
 * The stop step a rank told to stop proposes to the others ({@link dev.ckpt.store.commit.StopPoint}).
 *
 * <p>No rank can be more than two save intervals past the proposer: a rank starting the
 * save of step k waits for the commit of step k - saveEvery, which needs the proposer's part,
 * so every rank is at most at the second save step after the proposer's step ({@code safe}).
 * And every rank reads the stop point in time for that step: each save of a rank of several,
 * once the save before it has committed, reads the stop point while it stages, and every
 * rank's next save step after the proposal is at most that step and comes after the
 * proposal was written (a rank already waiting there reads it after the commit of the save
 * before, which needs the proposer's part). So the proposal is that step, unless it would
 * not leave half of the time to the deadline for the save; then it is the latest step that
 * does, but never closer than two poll intervals at the proposer's step time plus one step
 * (a rank with no save step before it learns of it only from its poller), and a rank
 * already past it saves nothing (see Trainer's pastStop). An earlier rule took the later of
 * the two bounds always (before the read at each save existed): with a long poll interval
 * or fast steps that put the stop past the deadline, and nothing was saved.
 *
 * @param step    the proposed stop step
 * @param safe    whether no rank can be past it (false: the deadline forced a nearer step)
 * @param because the reasoning, for the log line
 */
record StopStep(long step, boolean safe, String because) {
    /**
     * @param at          the proposer's current step
     * @param saveEvery   --save-every
     * @param meanNanos   the proposer's mean step time so far (0: unknown)
     * @param pollNanos   --stop-poll-interval
     * @param leftNanos   time left to the preemption deadline
     */
    static StopStep choose(long at, long saveEvery, long meanNanos, long pollNanos, long leftNanos) {
        long nextSave = (at / saveEvery + 1) * saveEvery;
        long twoSaves = nextSave + saveEvery;
        long pollSteps = meanNanos <= 0 ? 10 : 1 + (2 * pollNanos + meanNanos - 1) / meanNanos;
        long byPolls = at + pollSteps;
        String polls = meanNanos <= 0
                ? String.format(Locale.ROOT, "two stop polls of %s take an unknown number of steps (no step timed yet;"
                + " assumed %d)", SaveTimes.seconds(Duration.ofNanos(pollNanos)), pollSteps)
                : String.format(Locale.ROOT, "two stop polls of %s take %d steps at %s per step",
                SaveTimes.seconds(Duration.ofNanos(pollNanos)), pollSteps, perStep(meanNanos));
        long stop = twoSaves;
        String why = "this rank is at step " + at + "; no rank can be past step " + twoSaves
                + ", the second save step from here, and every rank reads the stop point at its next save step";
        if (meanNanos > 0 && (stop - at) * meanNanos > leftNanos / 2) {
            long fits = at + Math.max(0, leftNanos / 2) / meanNanos;
            long nearer = Math.max(byPolls, fits);
            if (nearer < stop) {
                return new StopStep(nearer, false, why + "; step " + stop + " would leave less than half of the time to"
                        + " the deadline for the save, so the stop is nearer (" + polls + ") and a rank already past it"
                        + " will not save");
            }
        }
        return new StopStep(stop, true, why);
    }

    /** A step time as "0.1 s", or "12 ms" below 0.1 s (where one decimal of a second would print 0.0). */
    private static String perStep(long nanos) {
        return nanos >= 100_000_000L ? SaveTimes.seconds(Duration.ofNanos(nanos))
                : String.format(Locale.ROOT, "%.3g ms", nanos / 1e6);
    }
}

package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.StopPoint;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.Redaction;
import dev.ckpt.store.manifest.CheckpointEntry;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The stop point a rank of several that was told to stop proposes to the others: the step
 * {@link StopStep} chooses from where the rank is, the signal's reason, and the deadline, an
 * instant: the signal's time plus --preempt-deadline.
 *
 * @param point  the stop point to propose
 * @param choice why that step, for the log line
 */
record StopProposal(StopPoint point, StopStep choice) {
    /**
     * How long a rank whose start-up was abandoned spends telling the other ranks, past its own
     * deadline: 5 s. The store may be what held the start-up, and the scheduler's SIGKILL may follow
     * the deadline; one write of a stop point takes milliseconds when the store answers.
     */
    static final Duration TELL_LIMIT = Duration.ofSeconds(5);

    /**
     * @param at        the proposer's current step (where the job resumed, for a rank that trained none)
     * @param meanNanos the proposer's mean step time so far (0: none timed)
     */
    static StopProposal of(CheckpointStore store, TrainOptions o, Preemption preemption, int rank, long at, long meanNanos) {
        long deadlineNanos = preemption.requestedAtNanos() + o.preemptDeadline.toNanos();
        StopStep choice = StopStep.choose(at, o.saveEvery, meanNanos, o.stopPollInterval.toNanos(),
                deadlineNanos - System.nanoTime());
        Instant deadline = store.config().clock().instant().plusNanos(deadlineNanos - System.nanoTime());
        return new StopProposal(new StopPoint(choice.step(), rank, preemption.reason(), deadline), choice);
    }

    /**
     * A rank of several whose start-up a stop abandoned (or that failed after the stop) trains
     * nothing and saves no part: it proposes the stop all the same, so the other ranks hear of
     * it from the store and stop by its deadline, which has passed or is near. Before, they
     * trained on and each save waited for this rank's part for --ranks-timeout, 10 minutes by
     * default (helper-77). The step is chosen as at any stop, from the step the job resumed at
     * ({@code resumeStep}; with --auto-resume and none read yet, the run's newest checkpoint is
     * listed now), so no rank takes it for an earlier job's stop point. All of it runs on a
     * thread of its own for at most {@link #TELL_LIMIT}.
     *
     * @param joined     the job's writer token, or null if the start-up had not joined the run
     * @param resumeStep the step of the checkpoint the start-up resumes from; -1 when not read yet
     * @return the line to print: what the other ranks were told, or why they were not
     */
    static String tellRanksOfAbandonedStartUp(CheckpointStore store, TrainOptions o, Preemption preemption,
                                              WriterToken joined, long resumeStep) throws InterruptedException {
        String prefix = "ckpt-train: rank " + o.rank + ": ";
        if (joined == null) {
            return prefix + "the start-up had not joined run " + o.run + " of job " + o.jobId + ", so the other ranks"
                    + " could not be told to stop through the store: a rank not signalled itself fails its next save"
                    + " after its --ranks-timeout";
        }
        FutureTask<String> f = new FutureTask<>(() -> {
            long at = resumeStep;
            if (at < 0) {
                List<CheckpointEntry> cps = o.autoResume ? store.list(o.run) : List.of();
                at = cps.isEmpty() ? 0 : cps.get(cps.size() - 1).step();
            }
            StopPoint p = of(store, o, preemption, o.rank, at, 0).point();
            StopPoint mine = new StopPoint(p.step(), p.rank(), p.reason(), p.deadline(), true);
            StopPoint agreed = store.proposeStop(joined, mine);
            return agreed.equals(mine)
                    ? prefix + "told the other ranks to stop (stop point " + StopPoint.key(joined) + "): this rank saves"
                    + " no part, so no checkpoint of this job can be completed, and they stop at once with the latest"
                    + " checkpoint instead of waiting --ranks-timeout for it"
                    : prefix + "rank " + agreed.rank() + " had already set the ranks' stop at step " + agreed.step() + " ("
                    + agreed.reason() + "); this rank saves no part of it";
        });
        return within(f, prefix, joined, "a rank not signalled itself fails its next save after its --ranks-timeout");
    }

    /**
     * Runs {@code tell} (the write of a stop point) on a thread of its own for at most
     * {@link #TELL_LIMIT}; returns its line, or what became of it ({@code otherwise}: what the
     * other ranks do if they were not told), after {@code prefix}.
     */
    private static String within(FutureTask<String> tell, String prefix, WriterToken writer, String otherwise)
            throws InterruptedException {
        Thread t = new Thread(tell, "ckpt-train-tell-ranks");
        t.setDaemon(true);
        t.start();
        try {
            return tell.get(TELL_LIMIT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // the write may still land when the store answers (helper-79 saw it do so): not "could not"
            return prefix + "telling the other ranks to stop (stop point " + StopPoint.key(writer) + ") got no answer"
                    + " from the store within " + human(TELL_LIMIT) + ": if the write still lands, they stop when they"
                    + " read it; if not, " + otherwise;
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            String why = c == null || c.getMessage() == null ? "an unexpected error" : c.getMessage();
            return prefix + "could not tell the other ranks to stop (stop point " + StopPoint.key(writer) + "): "
                    + Redaction.redact(why) + "; " + otherwise;
        }
    }

    /**
     * A rank of several that trained and then failed (its staging disk full, an error that ends
     * its process) saves no more parts: without word from it the other ranks would wait
     * --ranks-timeout for its part at every save and train on with nothing committed (helper-104).
     * It proposes a stop point that says it failed ({@link StopPoint#failed}, at its current step
     * {@code step}, {@code why} being what failed), so they stop at once with the latest
     * checkpoint and exit 1 as this rank does. On a thread of its own for at most
     * {@link #TELL_LIMIT}, as for an abandoned start-up.
     *
     * @return the line to print: what the other ranks were told, or why they were not
     */
    static String tellRanksOfFailure(CheckpointStore store, TrainOptions o, WriterToken writer, long step, String why)
            throws InterruptedException {
        String prefix = "ckpt-train: rank " + o.rank + ": ";
        String reason = "rank " + o.rank + " failed at step " + step + ": " + firstSentence(Redaction.redact(why));
        FutureTask<String> f = new FutureTask<>(() -> {
            StopPoint mine = StopPoint.failed(step, o.rank, reason, store.config().clock().instant());
            StopPoint agreed = store.proposeStop(writer, mine);
            return agreed.equals(mine)
                    ? prefix + "told the other ranks to stop (stop point " + StopPoint.key(writer) + "): this rank saves"
                    + " no more parts, so no checkpoint of this job can be completed, and they stop at once with the"
                    + " latest checkpoint instead of waiting --ranks-timeout for its part"
                    : prefix + "the ranks were already stopping (rank " + agreed.rank() + ": " + agreed.reason()
                    + (agreed.noCheckpointCanComplete() ? "" : ", at step " + agreed.step()) + "); this rank saves no"
                    + " part of it";
        });
        return within(f, prefix, writer, "they wait for its part of each checkpoint until their --ranks-timeout ("
                + human(o.ranksTimeout) + ")");
    }

    /**
     * What the other ranks print of a failure: its first sentence (up to ". " and a capital: what
     * failed, not this rank's advice), at most 700 characters. The failing rank's log has it all.
     */
    static String firstSentence(String why) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.\\s+\\p{Lu}").matcher(why);
        String first = m.find() ? why.substring(0, m.start()) : why.replaceFirst("\\.$", "");
        return first.length() <= 700 ? first : first.substring(0, 697) + "...";
    }

    private static String human(Duration d) {
        return dev.ckpt.store.util.Durations.format(d);
    }
}

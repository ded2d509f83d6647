package dev.ckpt.trainer;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The trainer's start-up (the store's set-up, the writer claim, {@code --auto-resume}'s
 * restore), run on a thread of its own so that a stop request during it is heard: the loop
 * only looks for one at step boundaries, and a claim behind a local lock that another
 * process holds waited its 30 s, a restore its whole download, past {@code --preempt-deadline}
 * (helper-76; the scheduler's SIGKILL then came before the requeue hook ran).
 *
 * <p>After a stop request the start-up gets what is left of the deadline; if it has not ended
 * by then it is interrupted and {@link Outcome#ABANDONED} is returned. Nothing is lost: no step
 * has been trained since the latest checkpoint.
 */
final class StartUp {
    /** The work of the start-up. */
    interface Task {
        void run() throws IOException, InterruptedException;
    }

    /** How a start-up ended, when not by an exception of its own. */
    enum Outcome {
        /** It ran to its end (a stop request may be pending: the loop acts on it at once). */
        DONE,
        /** A stop was requested, and the start-up had not ended by the stop's deadline. */
        ABANDONED
    }

    /** How often the wait looks for a stop request: 0.1 s. */
    private static final long SLICE_NANOS = 100_000_000L;

    private StartUp() {
    }

    /**
     * Runs {@code task} on a daemon thread and waits for it, or, once {@code stop} is requested,
     * until {@code deadline} after the request.
     *
     * @return {@link Outcome#DONE}, or {@link Outcome#ABANDONED} (the task was interrupted)
     * @throws IOException          the task's own
     * @throws InterruptedException the task's own, or this thread was interrupted (the task is then interrupted too)
     * @throws RuntimeException     the task's own (a {@code CkptException}, say)
     */
    static Outcome run(Task task, Preemption stop, Duration deadline) throws IOException, InterruptedException {
        FutureTask<Void> f = new FutureTask<>(() -> {
            task.run();
            return null;
        });
        Thread t = new Thread(f, "ckpt-train-start-up");
        t.setDaemon(true); // an abandoned start-up must not keep the process
        t.start();
        try {
            while (true) {
                long wait = SLICE_NANOS;
                if (stop.requested()) {
                    wait = stop.requestedAtNanos() + deadline.toNanos() - System.nanoTime();
                    if (wait <= 0 && !f.isDone()) {
                        f.cancel(true);
                        return Outcome.ABANDONED;
                    }
                }
                try {
                    f.get(Math.max(0, wait), TimeUnit.NANOSECONDS);
                    return Outcome.DONE;
                } catch (TimeoutException e) {
                    // look again for a stop request, or at the deadline
                }
            }
        } catch (InterruptedException e) {
            f.cancel(true);
            throw e;
        } catch (CancellationException e) {
            throw new InterruptedException("start-up cancelled");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof InterruptedException ie) {
                throw ie;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        }
    }
}

package dev.ckpt.trainer;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The stop request: SIGUSR1 (SLURM's {@code --signal=B:USR1@60}), SIGTERM (spot
 * reclaim, {@code scancel}, Kubernetes), SIGINT (Ctrl-C; torchrun passes it on to its
 * workers) and cloud spot notices only set it; the training loop acts on it at the next
 * step boundary. Further signals change nothing but say so, and how to end the process at
 * once. A signal ignored when the JVM started (SIGINT in a job a non-interactive shell put
 * in the background, or under {@code nohup}) stays ignored: the JVM does not let a handler
 * replace that (helper-103: Ctrl-C ended the trainer with 130 and nothing said, and the
 * saves it had staged were dropped).
 */
final class Preemption {
    private volatile String reason;
    private volatile long requestedAtNanos;
    private final AtomicInteger count = new AtomicInteger();
    private final PrintStream err;

    Preemption(PrintStream err) {
        this.err = err;
    }

    /** Installs handlers for USR1, TERM and INT (where the platform has them). */
    void installSignalHandlers() {
        for (String sig : new String[]{"USR1", "TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> request("SIG" + s.getName()));
            } catch (IllegalArgumentException e) {
                err.println("ckpt-train: cannot handle SIG" + sig + " here (" + e.getMessage() + "); it will not save on exit");
            }
        }
    }

    /** Whether the trainer is starting up (no step trained yet; so from the start), for what a request says it will do. */
    private volatile boolean startingUp = true;

    void startingUp(boolean is) {
        startingUp = is;
    }

    /** Whether training has finished and the final save is under way: a stop then ends with it. */
    private volatile boolean finishing;

    void finishing(boolean is) {
        finishing = is;
    }

    /** See {@link #finishing(boolean)}: the last step was trained, and no save but the final one follows. */
    boolean finishing() {
        return finishing;
    }

    /** Requests a stop; the first reason wins. Safe from signal handlers and any thread. */
    void request(String why) {
        int n = count.incrementAndGet();
        if (n == 1) {
            requestedAtNanos = System.nanoTime();
            reason = why;
            err.println("ckpt-train: " + why + " received: " + (startingUp
                    ? "during start-up, with nothing trained to save: stopping when the start-up step under way ends, at the"
                    + " latest at --preempt-deadline, then exiting 75" // "stopping by" read as a cause (helper-118)
                    : finishing ? "training has finished and its final save is under way: exiting 0 once it commits,"
                    + " or 75 if it has not by --preempt-deadline"
                    : "saving at the next step boundary, then exiting 75"));
        } else {
            err.println("ckpt-train: " + why + " received again (" + n + " stop requests): already stopping"
                    + (startingUp ? "" : ", the checkpoint in progress is not interrupted") + " (to end it at once: kill -KILL "
                    + ProcessHandle.current().pid() + "; every committed checkpoint stays)");
        }
    }

    boolean requested() {
        return reason != null;
    }

    String reason() {
        return reason;
    }

    long requestedAtNanos() {
        return requestedAtNanos;
    }
}

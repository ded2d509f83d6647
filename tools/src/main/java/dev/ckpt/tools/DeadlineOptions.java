package dev.ckpt.tools;

import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.CommitStateUnknownException;
import dev.ckpt.store.error.DeadlineExceededException;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.time.Instant;

/**
 * --deadline, for push and restore: the whole command must be done within DURATION of its
 * start, or it is abandoned and exits 7 naming the object whose request was stuck longest and
 * the time spent; nothing is committed (push) and the target is left as it was (restore). A push
 * abandoned while its commit's write of ROOT was in flight exits 6 instead: that write may land.
 */
public abstract class DeadlineOptions {
    /** The duration given, or null (none). */
    abstract Duration deadline();

    /** push's --deadline: its help says what a push abandoned at its commit leaves (exit 6). */
    public static final class ForPush extends DeadlineOptions {
        @Option(names = "--deadline", paramLabel = "DURATION", converter = Durations.class,
                description = "give up if not done within DURATION (e.g. 10m): exit 7 naming the stuck object, and"
                        + " nothing is committed; exit 6 if the commit was in flight (it may land: see ls)"
                        + " (default: no deadline)")
        Duration deadline;

        @Override
        Duration deadline() {
            return deadline;
        }
    }

    /** restore's --deadline: its help speaks of the target, not of a commit (a restore has none). */
    public static final class ForRestore extends DeadlineOptions {
        @Option(names = "--deadline", paramLabel = "DURATION", converter = Durations.class,
                description = "give up if not done within DURATION (e.g. 10m): exit 7 naming the stuck object, and"
                        + " the target is left as it was (default: no deadline)")
        Duration deadline;

        @Override
        Duration deadline() {
            return deadline;
        }
    }

    /**
     * {@code e}, with the value the user gave added ("… (given: --deadline 3s)") when it is that
     * deadline passing: the message says how long was spent, and the advice "give it more
     * time" needs the number it is measured against.
     */
    RuntimeException named(RuntimeException e) {
        boolean late = e instanceof DeadlineExceededException
                || e instanceof CommitStateUnknownException u && u.getCause() instanceof DeadlineExceededException;
        if (deadline() != null && late) {
            ((CkptException) e).addNote(" (given: --deadline " + Durations.format(deadline()) + ")");
        }
        return e;
    }

    /** The instant the command must be done by, counted from {@code start} (asked only when given); null = none. */
    Instant from(java.util.function.Supplier<Instant> start) {
        return deadline() == null ? null : start.get().plus(deadline());
    }
}

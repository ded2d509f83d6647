package dev.ckpt.store.objectstore;

import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The instant by which the calling thread's operation must be over, for a wait inside a store
 * that the {@link ObjectStore} calls have no parameter for: a local store's wait for its lock
 * file ({@link LocalLocks}), which otherwise lasts its own 30 s past a save's {@code --deadline}
 * (helper-73). {@code RootStore} sets it around its writes of ROOT; it holds for the calling
 * thread only, so a store that hands a request to another thread does not see it (none of
 * the stores that wait does).
 */
public final class CallerDeadline {
    private static final ThreadLocal<Instant> DEADLINE = new ThreadLocal<>();

    private CallerDeadline() {
    }

    /** {@code call}'s result, with {@code deadline} (null = none) in force on this thread while it runs. */
    public static <T> T within(Instant deadline, Supplier<T> call) {
        Instant outer = DEADLINE.get();
        DEADLINE.set(deadline);
        try {
            return call.get();
        } finally {
            if (outer == null) {
                DEADLINE.remove();
            } else {
                DEADLINE.set(outer);
            }
        }
    }

    /** The deadline in force on this thread, if any. */
    static Optional<Instant> current() {
        return Optional.ofNullable(DEADLINE.get());
    }

    /** Set by a {@link DeadlineObjectStore} request's thread: whether its store is waiting for a lock (has sent nothing). */
    private static final ThreadLocal<java.util.concurrent.atomic.AtomicBoolean> WAITING = new ThreadLocal<>();

    /** {@link #within}, with {@code waiting} told while the store waits for a lock ({@link #waitingForLock}). */
    static <T> T within(Instant deadline, java.util.concurrent.atomic.AtomicBoolean waiting, Supplier<T> call) {
        WAITING.set(waiting);
        try {
            return within(deadline, call);
        } finally {
            WAITING.remove();
        }
    }

    /**
     * A store says that it waits for a lock ({@code true}) and so has sent nothing, or that the
     * wait is over ({@code false}): a request abandoned in that wait is no write in doubt, even
     * when the store's own deadline error comes too late for the caller (helper-82: a CPU-starved
     * machine missed the grace, and a held lock read as a commit in doubt).
     */
    static void waitingForLock(boolean waiting) {
        java.util.concurrent.atomic.AtomicBoolean flag = WAITING.get();
        if (flag != null) {
            flag.set(waiting);
        }
    }
}

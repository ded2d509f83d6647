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
}

package dev.ckpt.store.util;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * How the store retries what is safe to retry — a conditional write of ROOT refused because
 * ROOT changed (412), or one whose outcome is then settled by reading ROOT back. It is the
 * only retry loop of the store; transport errors are retried by the SDKs below it (their own
 * settings), and nothing else is retried above it.
 *
 * <p>Bounded three ways: at most {@code maxAttempts} attempts; at most {@code maxUnavailable}
 * of them that failed because the store was unavailable (the SDK below has already retried
 * each such request with its own transport retries, so more attempts rarely help and a
 * flapping server would otherwise hold a writer for minutes); at most {@code maxElapsed} of
 * pauses in all; and no retry starts after a deadline the caller passes (a preempted
 * trainer's), by the configured clock. Pauses grow from {@code firstPause}, doubling up to {@code maxPause}, each drawn
 * uniformly from its upper half ("equal jitter"), so writers that collided do not collide again
 * in step. Time is the configured clock's and waits are the configured {@link Sleeper}'s.
 *
 * @param maxAttempts attempts in all, at least 1
 * @param maxUnavailable attempts that may fail with the store unavailable before giving up, at least 1
 * @param firstPause  the pause before the second attempt (upper bound; at least 1 ms)
 * @param maxPause    the largest pause
 * @param maxElapsed  the pauses between attempts add up to at most this
 */
public record RetryPolicy(int maxAttempts, int maxUnavailable, Duration firstPause, Duration maxPause,
                          Duration maxElapsed) {
    /**
     * ROOT updates: 60 attempts of which 3 unavailable, pauses 10 ms doubling to 1 s, at most
     * 30 s of them (60 full pauses would be about 54 s). Eight writers committing to one ROOT at once finish within a few attempts
     * each (the concurrent-save tests); 60 covers heavy contention without retrying forever.
     * With n client attempts per request, a server failing every write costs at most
     * 3 x (1 read + n writes) requests plus the backend's settling reads (RetryBoundTest).
     */
    public static final RetryPolicy ROOT = new RetryPolicy(60, 3, Duration.ofMillis(10), Duration.ofSeconds(1),
            Duration.ofSeconds(30));

    public RetryPolicy {
        if (maxAttempts < 1 || maxUnavailable < 1) {
            throw new IllegalArgumentException("a retry policy needs at least 1 attempt, got " + maxAttempts
                    + " (of which unavailable: " + maxUnavailable + ")");
        }
        if (firstPause.toMillis() < 1 || maxPause.compareTo(firstPause) < 0 || maxElapsed.isNegative()) {
            throw new IllegalArgumentException("retry pauses must be positive, the first no larger than the largest,"
                    + " and the time bound not negative");
        }
    }

    /** This policy with at most {@code n} attempts. */
    public RetryPolicy withMaxAttempts(int n) {
        return new RetryPolicy(n, maxUnavailable, firstPause, maxPause, maxElapsed);
    }

    /** The pause in milliseconds before attempt {@code attempt} (1 = the second attempt). */
    public long pauseMillis(int attempt, RandomGenerator random) {
        long cap = Math.min(maxPause.toMillis(), firstPause.toMillis() << Math.min(attempt - 1, 30));
        return random.nextLong(cap / 2, cap + 1);
    }
}

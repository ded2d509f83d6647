package dev.ckpt.trainer;

import dev.ckpt.store.commit.SaveResult;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Optional;

/**
 * What the trainer learnt from its own recent saves, and how long it expects the next one to
 * take: the preemption save is started only if that estimate fits in the time left before
 * {@code --preempt-deadline}. Only saves of this process count (the link, the server and the
 * machine may differ from the last job's), so before the first one commits there is no
 * estimate. Thread-safe: the upload thread records, the training thread estimates.
 */
final class SaveTimes {
    /** The saves the estimate looks at: recent enough to follow a link that slowed down. */
    static final int WINDOW = 3;
    /** The margin on top of the estimate: a quarter of it, and at least this much. */
    static final double MARGIN_FRACTION = 0.25;
    static final Duration MARGIN_MIN = Duration.ofMillis(250);

    /**
     * One committed save: {@code newBytes} (checkpoint bytes, before compression) went up in
     * {@code upload} (hashing, compression and PUTs); {@code commit} is writing the manifest and
     * committing ROOT; {@code local} is writing the staging copy and reading ROOT before it.
     */
    record Sample(long newBytes, Duration upload, Duration commit, Duration local) {
        Sample {
            if (newBytes < 0 || upload.isNegative() || commit.isNegative() || local.isNegative()) {
                throw new IllegalArgumentException("a save cannot take negative bytes or time: " + this);
            }
        }

        static Sample of(SaveResult r, Duration staging) {
            return new Sample(r.newBytes(), r.uploadTime(), r.manifestTime().plus(r.commitTime()),
                    staging.plus(r.scanTime()));
        }
    }

    /**
     * The expected time of a save that uploads {@code bytes}: {@code bytes} at {@code bytesPerSecond}
     * (0 when no recent save uploaded anything: then {@code upload} is the longest recent upload),
     * the slowest recent commit and local part, and the margin.
     */
    record Estimate(long bytes, double bytesPerSecond, Duration upload, Duration commit, Duration local, Duration margin) {
        Duration total() {
            return upload.plus(commit).plus(local).plus(margin);
        }

        /** Whether a save of this estimate commits within {@code timeLeft}. */
        boolean fitsIn(Duration timeLeft) {
            return total().compareTo(timeLeft) <= 0;
        }

        /** "upload 6.5 s (198.3 KiB at 30.0 KiB/s) + commit 0.2 s + staging 0.1 s + margin 1.7 s". */
        String breakdown() {
            String rate = bytesPerSecond > 0
                    ? " (" + SaveResult.human(bytes) + " at " + SaveResult.human((long) bytesPerSecond) + "/s)" : "";
            return "upload " + seconds(upload) + rate + " + commit " + seconds(commit) + " + staging " + seconds(local) + " + margin " + seconds(margin);
        }
    }

    private final Deque<Sample> recent = new ArrayDeque<>();

    synchronized void record(Sample s) {
        recent.addLast(s);
        while (recent.size() > WINDOW) {
            recent.removeFirst();
        }
    }

    /** The estimate for a save uploading {@code bytes}; empty before any save of this process committed. */
    synchronized Optional<Estimate> estimate(long bytes) {
        if (recent.isEmpty()) {
            return Optional.empty();
        }
        long sentBytes = 0;
        long sentNanos = 0;
        Duration longestUpload = Duration.ZERO;
        Duration commit = Duration.ZERO;
        Duration local = Duration.ZERO;
        for (Sample s : recent) {
            if (s.newBytes() > 0) {
                // bytes over time summed, not an average of rates: a tiny save's rate is mostly latency
                sentBytes += s.newBytes();
                sentNanos += s.upload().toNanos();
            }
            longestUpload = max(longestUpload, s.upload());
            commit = max(commit, s.commit());
            local = max(local, s.local());
        }
        double rate = sentBytes == 0 ? 0 : sentBytes * 1e9 / Math.max(1, sentNanos);
        Duration upload = rate > 0 ? Duration.ofNanos((long) (bytes * 1e9 / rate)) : longestUpload;
        Duration sum = upload.plus(commit).plus(local);
        Duration margin = max(MARGIN_MIN, Duration.ofNanos((long) (sum.toNanos() * MARGIN_FRACTION)));
        return Optional.of(new Estimate(bytes, rate, upload, commit, local, margin));
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** "1.4 s". */
    static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f s", d.toNanos() / 1e9);
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Ids;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What to save: a directory (every regular file below it), the run and step it belongs
 * to, optional training epoch and metadata, and the run's retention policy.
 *
 * <p>{@code unchanged}: files (by relative path) the caller knows to be byte-identical to
 * a file of a committed checkpoint, with that file's manifest entry — e.g. a frozen block
 * hard-linked from the previous staged checkpoint. Such a file is neither read nor hashed
 * again: its entry is reused when its size matches and every chunk is still referenced
 * from ROOT; otherwise it is saved like any other file. A wrong claim cannot make a
 * checkpoint corrupt (the reused entry and its chunks verify), only hold the older bytes.
 *
 * <p>{@code gcWait}: how long the commit may wait for a GC whose sweep deletes objects the
 * checkpoint needs (null = {@code StoreConfig.commitWait}; zero = do not wait, fail at once
 * naming the GC). {@code deadline}: the save must be done by this instant (null = none) — a
 * preempted trainer passes the time it must be gone by. When it passes before the commit,
 * the requests in flight are abandoned and the save fails with {@code DeadlineExceededException}
 * naming the stuck object, nothing committed; the commit never starts after it and never
 * waits past it, whatever {@code gcWait} says. Either way, a GC whose lease has expired is
 * taken over at once.
 *
 * <p>{@code scanned}: the scan of {@code source} a caller made before it claimed the run
 * ({@link SourceDir#scan}), which the save then uses instead of walking the directory again
 * (null: the save scans). Files are checked against the scan's stamps as they are read, so
 * a file changed since is refused as it would be had it changed during the save; a file
 * added since is not saved.
 */
public record SaveRequest(Path source, String run, long step, Long epoch, Map<String, String> metadata,
                          Retention retention, Map<String, FileEntry> unchanged, Duration gcWait, Instant deadline,
                          Shard shard, SourceDir scanned) {
    /**
     * This save is rank {@code rank}'s part of a checkpoint saved by {@code worldSize} ranks
     * of one job (their writer tokens from {@code CheckpointStore.joinRun}, one epoch). Rank 0
     * commits once every part is present; the others return once the commit is in ROOT.
     * {@code timeout}: how long rank 0 waits for the other parts and the others wait for the
     * commit, from the end of their own upload ({@code RanksIncompleteException} after it).
     */
    public record Shard(int rank, int worldSize, Duration timeout) {
        public Shard {
            if (worldSize < 1 || rank < 0 || rank >= worldSize) {
                throw new IllegalArgumentException("rank " + rank + " is not within world size " + worldSize
                        + " (ranks are 0 to world size - 1)");
            }
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("the ranks' timeout must not be negative, got " + timeout);
            }
        }
    }

    public SaveRequest(Path source, String run, long step, Long epoch, Map<String, String> metadata,
                       Retention retention, Map<String, FileEntry> unchanged, Duration gcWait, Instant deadline) {
        this(source, run, step, epoch, metadata, retention, unchanged, gcWait, deadline, null, null);
    }

    public SaveRequest(Path source, String run, long step, Long epoch, Map<String, String> metadata,
                       Retention retention, Map<String, FileEntry> unchanged, Duration gcWait, Instant deadline,
                       Shard shard) {
        this(source, run, step, epoch, metadata, retention, unchanged, gcWait, deadline, shard, null);
    }

    public SaveRequest {
        Objects.requireNonNull(source, "source");
        Ids.checkRunName(run);
        if (step < 0) {
            throw new IllegalArgumentException("step must not be negative, got " + step);
        }
        checkMetadata(metadata);
        metadata = metadata == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(metadata));
        retention = retention == null ? Retention.KEEP_ALL : retention;
        unchanged = unchanged == null ? Map.of() : Map.copyOf(unchanged);
        if (gcWait != null && gcWait.isNegative()) {
            throw new IllegalArgumentException("the GC wait must not be negative, got " + gcWait);
        }
        if (scanned != null && !scanned.root().equals(source)) {
            throw new IllegalArgumentException("the scan is of " + scanned.root() + ", not of the source " + source);
        }
    }

    public SaveRequest(Path source, String run, long step, Long epoch, Map<String, String> metadata,
                       Retention retention, Map<String, FileEntry> unchanged) {
        this(source, run, step, epoch, metadata, retention, unchanged, null, null, null, null);
    }

    /** Longest metadata key, in UTF-8 bytes. */
    public static final int MAX_METADATA_KEY_BYTES = 256;
    /** Longest metadata value, in UTF-8 bytes. */
    public static final int MAX_METADATA_VALUE_BYTES = 16 * 1024;
    /** Most metadata of one checkpoint, keys and values, in UTF-8 bytes: ROOT holds it and is rewritten by every commit. */
    public static final int MAX_METADATA_BYTES = 64 * 1024;

    /**
     * Checks a checkpoint's metadata against the limits above (ROOT carries every checkpoint's
     * metadata and is read and rewritten by every commit, so it must stay small).
     *
     * @throws IllegalArgumentException naming the key that is too long, or the total
     */
    public static void checkMetadata(Map<String, String> metadata) {
        if (metadata == null) {
            return;
        }
        long total = 0;
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("metadata key '" + e.getKey() + "' has no value (null)");
            }
            if (e.getKey().codePoints().anyMatch(Character::isISOControl)) {
                // as push --meta refuses it: a key is printed on one line (helper-132/133: an imported archive's key
                // with a line break was committed, then listed by forget --keep-best)
                throw new IllegalArgumentException("metadata key '" + dev.ckpt.store.util.Printable.of(e.getKey())
                        + "' holds a control character (a newline, a tab, ...); keys are printed on one line");
            }
            int k = e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            int v = e.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (k > MAX_METADATA_KEY_BYTES) {
                String key = e.getKey();
                String start = key.substring(0, key.offsetByCodePoints(0, Math.min(40, key.codePointCount(0, key.length()))));
                throw new IllegalArgumentException("metadata key '" + start + "...' is " + k + " bytes long; keys may have"
                        + " at most " + MAX_METADATA_KEY_BYTES + " bytes (UTF-8)");
            }
            if (v > MAX_METADATA_VALUE_BYTES) {
                throw new IllegalArgumentException("metadata value of key '" + e.getKey() + "' is " + v
                        + " bytes long; values may have at most " + MAX_METADATA_VALUE_BYTES + " bytes (UTF-8): store"
                        + " large data as a file of the checkpoint");
            }
            total += k + v;
        }
        if (total > MAX_METADATA_BYTES) {
            throw new IllegalArgumentException("the metadata's keys and values add up to " + total + " bytes; a checkpoint"
                    + " may carry at most " + MAX_METADATA_BYTES + " bytes (UTF-8): store large data as a file of the checkpoint");
        }
    }

    public static SaveRequest of(Path source, String run, long step) {
        return new SaveRequest(source, run, step, null, Map.of(), Retention.KEEP_ALL, Map.of(), null, null, null, null);
    }

    /** Rank {@code rank} of {@code worldSize} saves its part; see {@link Shard}. */
    public SaveRequest withShard(Shard s) {
        return new SaveRequest(source, run, step, epoch, metadata, retention, unchanged, gcWait, deadline, s, scanned);
    }

    public SaveRequest withMetadata(Map<String, String> m) {
        return new SaveRequest(source, run, step, epoch, m, retention, unchanged, gcWait, deadline, shard, scanned);
    }

    public SaveRequest withRetention(Retention r) {
        return new SaveRequest(source, run, step, epoch, metadata, r, unchanged, gcWait, deadline, shard, scanned);
    }

    public SaveRequest withEpoch(Long e) {
        return new SaveRequest(source, run, step, e, metadata, retention, unchanged, gcWait, deadline, shard, scanned);
    }

    /** How long the commit may wait for a GC holding objects it needs (zero: fail at once). */
    public SaveRequest withGcWait(Duration w) {
        return new SaveRequest(source, run, step, epoch, metadata, retention, unchanged, w, deadline, shard, scanned);
    }

    /** The save is done by this instant or abandoned (nothing committed); the commit waits for nothing past it. */
    public SaveRequest withDeadline(Instant d) {
        return new SaveRequest(source, run, step, epoch, metadata, retention, unchanged, gcWait, d, shard, scanned);
    }

    /** The save uses this scan of its source instead of walking it again; see {@code scanned} above. */
    public SaveRequest withScan(SourceDir s) {
        return new SaveRequest(source, run, step, epoch, metadata, retention, unchanged, gcWait, deadline, shard, s);
    }

    public SaveRequest withUnchanged(Map<String, FileEntry> u) {
        return new SaveRequest(source, run, step, epoch, metadata, retention, u, gcWait, deadline, shard, scanned);
    }
}

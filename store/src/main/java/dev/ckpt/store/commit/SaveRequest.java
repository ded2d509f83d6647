package dev.ckpt.store.commit;

import dev.ckpt.store.manifest.Ids;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What to save: a directory (every regular file below it), the run and step it belongs
 * to, optional training epoch and metadata, and the run's retention policy.
 */
public record SaveRequest(Path source, String run, long step, Long epoch, Map<String, String> metadata,
                          Retention retention) {
    public SaveRequest {
        Objects.requireNonNull(source, "source");
        Ids.checkRunName(run);
        if (step < 0) {
            throw new IllegalArgumentException("step must not be negative, got " + step);
        }
        metadata = metadata == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(metadata));
        retention = retention == null ? Retention.KEEP_ALL : retention;
    }

    public static SaveRequest of(Path source, String run, long step) {
        return new SaveRequest(source, run, step, null, Map.of(), Retention.KEEP_ALL);
    }

    public SaveRequest withMetadata(Map<String, String> m) {
        return new SaveRequest(source, run, step, epoch, m, retention);
    }

    public SaveRequest withRetention(Retention r) {
        return new SaveRequest(source, run, step, epoch, metadata, r);
    }

    public SaveRequest withEpoch(Long e) {
        return new SaveRequest(source, run, step, e, metadata, retention);
    }
}

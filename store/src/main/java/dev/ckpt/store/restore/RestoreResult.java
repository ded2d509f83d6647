package dev.ckpt.store.restore;

import java.time.Duration;
import java.util.List;

/**
 * What a restore wrote. {@code fallbacks} lists, in order, the newer checkpoints an
 * auto-resume skipped because they failed verification, each with the reason.
 */
public record RestoreResult(String checkpointId, String run, long step, int files, long bytes, int chunksDownloaded,
                            int chunksReused, List<String> fallbacks, Duration time) {
    public RestoreResult {
        fallbacks = List.copyOf(fallbacks);
    }

    RestoreResult withFallbacks(List<String> f) {
        return new RestoreResult(checkpointId, run, step, files, bytes, chunksDownloaded, chunksReused, f, time);
    }
}

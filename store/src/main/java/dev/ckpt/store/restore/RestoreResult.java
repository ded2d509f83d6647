package dev.ckpt.store.restore;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What a restore wrote. {@code fallbacks} lists, in order, the newer checkpoints an
 * auto-resume skipped because they failed verification, each with the reason.
 * {@code temporariesRemoved}: temporaries ({@code .ckpt-<hex>.tmp}) of an earlier, interrupted
 * restore deleted from the target's directories; {@code replacedVersions}: the {@code .ckpt-<hex>.old}
 * files such a restore left there (versions it replaced), kept for the user to delete.
 */
public record RestoreResult(String checkpointId, String run, long step, int files, long bytes, int chunksDownloaded,
                            int chunksReused, List<String> fallbacks, Duration time, int temporariesRemoved,
                            List<Path> replacedVersions) {
    public RestoreResult {
        fallbacks = List.copyOf(fallbacks);
        replacedVersions = List.copyOf(replacedVersions);
    }

    RestoreResult withFallbacks(List<String> f) {
        return new RestoreResult(checkpointId, run, step, files, bytes, chunksDownloaded, chunksReused, f, time,
                temporariesRemoved, replacedVersions);
    }
}

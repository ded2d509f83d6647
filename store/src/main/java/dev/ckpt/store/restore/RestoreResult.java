package dev.ckpt.store.restore;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What a restore wrote. {@code fallbacks} lists, in order, the newer checkpoints an
 * auto-resume skipped because they failed verification, each with the reason.
 * {@code leftoverTemporaries}: temporaries ({@code .ckpt-<hex>.tmp}) that an earlier, interrupted
 * restore left beside the files written (or that a restore running now into the same directories
 * is writing); {@code replacedVersions}: the {@code .ckpt-<hex>.old} files such a restore left there
 * (versions it replaced), and {@code replacedFrom} the file each of them was, where that
 * restore's journal says ({@code journals}: the {@code .ckpt-<hex>.journal} files at the target's
 * top, left with them). None is deleted: they are named for the user to delete.
 * {@code filesReplaced}: how many of the files written took the place of a file that was there
 * (a restore into a directory that held an older copy).
 */
public record RestoreResult(String checkpointId, String run, long step, int files, long bytes, int chunksDownloaded,
                            int chunksReused, List<String> fallbacks, Duration time, List<Path> leftoverTemporaries,
                            List<Path> replacedVersions, int filesReplaced, java.util.Map<Path, Path> replacedFrom,
                            List<Path> journals) {
    public RestoreResult {
        replacedFrom = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(replacedFrom));
        journals = List.copyOf(journals);
        fallbacks = List.copyOf(fallbacks);
        leftoverTemporaries = List.copyOf(leftoverTemporaries);
        replacedVersions = List.copyOf(replacedVersions);
    }

    RestoreResult withFallbacks(List<String> f) {
        return new RestoreResult(checkpointId, run, step, files, bytes, chunksDownloaded, chunksReused, f, time,
                leftoverTemporaries, replacedVersions, filesReplaced, replacedFrom, journals);
    }
}

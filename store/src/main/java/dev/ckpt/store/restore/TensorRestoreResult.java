package dev.ckpt.store.restore;

import java.time.Duration;
import java.util.List;

/**
 * What a restore of selected tensors wrote: {@code files} the safetensors files written (each
 * holding only its selected tensors), {@code bytes} the tensors' bytes, {@code chunksDownloaded}
 * the chunks fetched (each checked against its SHA-256); {@code leftoverTemporaries} and
 * {@code replacedVersions}: what an interrupted restore left beside the files written, named and
 * never deleted, {@code filesReplaced}, {@code replacedFrom} and {@code journals}, as in {@link RestoreResult}; {@code unindexed}: the
 * checkpoint's safetensors files that have no tensor index and so were not searched (saved by a
 * version without the index, or not valid safetensors when saved: restore them whole).
 */
public record TensorRestoreResult(String checkpointId, String run, long step, List<String> files, int tensors, long bytes,
                                  int chunksDownloaded, Duration time, List<java.nio.file.Path> leftoverTemporaries,
                                  List<java.nio.file.Path> replacedVersions, int filesReplaced,
                                  List<String> unindexed, java.util.Map<java.nio.file.Path, java.nio.file.Path> replacedFrom,
                                  List<java.nio.file.Path> journals) {
    public TensorRestoreResult {
        replacedFrom = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(replacedFrom));
        journals = List.copyOf(journals);
        files = List.copyOf(files);
        leftoverTemporaries = List.copyOf(leftoverTemporaries);
        replacedVersions = List.copyOf(replacedVersions);
        unindexed = List.copyOf(unindexed);
    }
}

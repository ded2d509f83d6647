package dev.ckpt.store.gc;

import java.util.List;

/**
 * What a GC run deleted or, for a dry run, would delete. {@code deletedKeys} is sorted.
 * {@code youngUnreferenced} counts unreferenced objects spared because they are younger
 * than the grace age (they may belong to a save in flight).
 */
public record GcResult(long generation, boolean dryRun, boolean resumed, List<String> deletedKeys, long deletedBytes,
                       int liveCheckpoints, int liveObjects, int youngUnreferenced) {
    public GcResult {
        deletedKeys = List.copyOf(deletedKeys);
    }
}

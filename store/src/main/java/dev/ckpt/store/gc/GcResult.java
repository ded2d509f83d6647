package dev.ckpt.store.gc;

import dev.ckpt.store.objectstore.Leftovers;

import java.util.List;

/**
 * What a GC run deleted or, for a dry run, would delete. {@code deletedKeys} is sorted.
 * {@code youngUnreferenced} counts unreferenced objects spared because they are younger
 * than the grace age (they may belong to a save in flight). {@code refusedNow}, for a dry
 * run only: why a GC started now would be refused (another GC holds the lease: until when,
 * and whether its owner still runs), or null when it would run. {@code leftovers}: what
 * writes killed midway had left (a local store's temporary files), removed or, in a dry run,
 * that would be; never an object.
 */
public record GcResult(long generation, boolean dryRun, boolean resumed, List<String> deletedKeys, long deletedBytes,
                       int liveCheckpoints, int liveObjects, int youngUnreferenced, Leftovers leftovers,
                       String refusedNow) {
    public GcResult {
        deletedKeys = List.copyOf(deletedKeys);
    }

    /** A run that was not refused. */
    public GcResult(long generation, boolean dryRun, boolean resumed, List<String> deletedKeys, long deletedBytes,
                    int liveCheckpoints, int liveObjects, int youngUnreferenced, Leftovers leftovers) {
        this(generation, dryRun, resumed, deletedKeys, deletedBytes, liveCheckpoints, liveObjects, youngUnreferenced,
                leftovers, null);
    }
}

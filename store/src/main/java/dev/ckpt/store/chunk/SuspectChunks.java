package dev.ckpt.store.chunk;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Chunks this process found missing or corrupt in the store (a restore that fell back to an
 * older checkpoint because of them): a save does not deduplicate against them, since they are
 * referenced by a live checkpoint and would otherwise be taken as stored; it writes them
 * again, repairing the object (helper-106: a trainer that fell back past a corrupt chunk saved
 * the same step again, bit-exact, deduplicated against that chunk and committed a checkpoint
 * that could not be restored). Held by one {@code CheckpointStore}, shared by its restores and
 * saves; thread-safe.
 */
public final class SuspectChunks {
    private final Set<String> hashes = ConcurrentHashMap.newKeySet();

    /** Notes the chunk of object key {@code key}, if it is a chunk key; other keys are ignored. */
    public void report(String key) {
        String hash = key == null ? null : ChunkRef.hashOfKey(key);
        if (hash != null) {
            hashes.add(hash);
        }
    }

    /** Notes chunk {@code hash} (a checkpoint that failed holds it, and no checkpoint restored since does). */
    public void reportHash(String hash) {
        hashes.add(hash);
    }

    /** Whether chunk {@code hash} was found missing or corrupt, and not written again since. */
    public boolean contains(String hash) {
        return hashes.contains(hash);
    }

    /** Chunk {@code hash} was written again, whole: it is no longer suspect. */
    public void repaired(String hash) {
        hashes.remove(hash);
    }

    /** The suspect hashes now (a copy). */
    public Set<String> all() {
        return Set.copyOf(hashes);
    }
}

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
    /** At most this many chunks are remembered as seen ({@link #sawStored(String, boolean)}); then the set starts afresh. */
    static final int MAX_SEEN = 1_000_000;
    /** Chunks whose objects this process saw in the store (see {@link #sawStored(String)}). */
    private final Set<String> stored = ConcurrentHashMap.newKeySet();

    /** Notes the chunk of object key {@code key}, if it is a chunk key; other keys are ignored. */
    public void report(String key) {
        String hash = key == null ? null : ChunkRef.hashOfKey(key);
        if (hash != null) {
            stored.remove(hash);
            hashes.add(hash);
        }
    }

    /** Notes chunk {@code hash} (a checkpoint that failed holds it, and no checkpoint restored since does). */
    public void reportHash(String hash) {
        stored.remove(hash);
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

    /**
     * Whether this process saw chunk {@code hash}'s object in the store, whole (a save's look
     * before it commits a checkpoint that deduplicated against it); a save looks once per chunk.
     */
    public boolean sawStored(String hash) {
        return stored.contains(hash);
    }

    /** Records that chunk {@code hash}'s object is in the store, whole ({@code true}), or that this is no longer known. */
    public void sawStored(String hash, boolean seen) {
        if (seen) {
            if (stored.size() >= MAX_SEEN) {
                stored.clear(); // a bound on memory (about 150 MB at the cap): those chunks are looked at again
            }
            stored.add(hash);
        } else {
            stored.remove(hash);
        }
    }

    /** The suspect hashes now (a copy). */
    public Set<String> all() {
        return Set.copyOf(hashes);
    }
}

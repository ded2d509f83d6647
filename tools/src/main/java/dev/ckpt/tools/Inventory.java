package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Manifest;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The live checkpoints with their manifests and chunk reference counts, for ls and stats. */
final class Inventory {
    final List<CheckpointEntry> checkpoints;
    final Map<String, Manifest> manifests = new LinkedHashMap<>();
    final Map<String, Integer> refs = new HashMap<>();
    final Map<String, ChunkRef> chunks = new HashMap<>();

    /** The checkpoints whose manifest is missing or damaged, with why ({@code skipDamaged} only), in ROOT's order. */
    final Map<String, String> unreadable = new LinkedHashMap<>();

    Inventory(CheckpointStore store, String run) {
        this(store, run, false);
    }

    /**
     * @param skipDamaged a checkpoint whose manifest is missing or damaged goes in {@link #unreadable}
     *                    and the rest are counted without it (ls: helper-102 saw one missing manifest
     *                    fail the whole listing); else its error is thrown
     */
    Inventory(CheckpointStore store, String run, boolean skipDamaged) {
        List<CheckpointEntry> all = store.list(null);
        this.checkpoints = run == null ? all : all.stream().filter(e -> e.run().equals(run)).toList();
        for (CheckpointEntry e : all) {
            Manifest m;
            try {
                m = store.manifest(e);
            } catch (dev.ckpt.store.error.CorruptObjectException | dev.ckpt.store.error.NotFoundException x) {
                if (!skipDamaged) {
                    throw x;
                }
                unreadable.put(e.id(), x.reason()); // without its pointer to verify: ls and stats say it once, after
                continue;
            }
            manifests.put(e.id(), m);
            for (ChunkRef c : m.chunkRefs().values()) {
                refs.merge(c.hash(), 1, Integer::sum);
                chunks.putIfAbsent(c.hash(), c);
            }
        }
    }

    /**
     * Stored bytes of the chunks that only this checkpoint references: what forgetting it would
     * free (counting none of an {@link #unreadable} checkpoint's); null if its manifest is unreadable.
     */
    Long uniqueBytes(String id) {
        if (!manifests.containsKey(id)) {
            return null;
        }
        long sum = 0;
        for (ChunkRef c : manifests.get(id).chunkRefs().values()) {
            if (refs.get(c.hash()) == 1) {
                sum += c.storedLength();
            }
        }
        return sum;
    }
}

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

    Inventory(CheckpointStore store, String run) {
        List<CheckpointEntry> all = store.list(null);
        this.checkpoints = run == null ? all : all.stream().filter(e -> e.run().equals(run)).toList();
        for (CheckpointEntry e : all) {
            Manifest m = store.manifest(e);
            manifests.put(e.id(), m);
            for (ChunkRef c : m.chunkRefs().values()) {
                refs.merge(c.hash(), 1, Integer::sum);
                chunks.putIfAbsent(c.hash(), c);
            }
        }
    }

    /** Stored bytes of the chunks that only this checkpoint references: what forgetting it would free. */
    long uniqueBytes(String id) {
        long sum = 0;
        for (ChunkRef c : manifests.get(id).chunkRefs().values()) {
            if (refs.get(c.hash()) == 1) {
                sum += c.storedLength();
            }
        }
        return sum;
    }
}

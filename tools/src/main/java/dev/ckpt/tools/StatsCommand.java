package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ObjectInfo;
import picocli.CommandLine.Command;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

@Command(name = "stats", description = {"Show store totals: sizes, deduplication and compression, garbage.",
        "Checkpoints, logical bytes, stored bytes, deduplication and compression ratios, and the bytes no live",
        "checkpoint references (what gc frees once they pass the grace age)."},
        footer = {"", "Example:", "  ckpt-tool stats s3://ml-ckpt/llama --json"})
final class StatsCommand extends StoreCommand {
    @Override
    int run(CheckpointStore store) {
        Inventory inv = new Inventory(store, null);
        long logical = 0;
        Set<String> runs = new HashSet<>();
        Set<String> liveKeys = new HashSet<>();
        for (CheckpointEntry e : inv.checkpoints) {
            logical += e.logicalBytes();
            runs.add(e.run());
            liveKeys.add(e.manifest());
        }
        long raw = 0;
        long stored = 0;
        for (ChunkRef c : inv.chunks.values()) {
            raw += c.rawLength();
            stored += c.storedLength();
            liveKeys.add(c.key());
        }
        long manifestBytes = 0;
        long unreferenced = 0;
        int unreferencedObjects = 0;
        for (String prefix : new String[]{"chunks/", "manifests/"}) {
            for (ObjectInfo o : store.objectStore().list(prefix)) {
                if (!liveKeys.contains(o.key())) {
                    unreferenced += o.size();
                    unreferencedObjects++;
                } else if (prefix.equals("manifests/")) {
                    manifestBytes += o.size();
                }
            }
        }
        double dedup = raw == 0 ? 1 : (double) logical / raw;
        double compression = stored == 0 ? 1 : (double) raw / stored;
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("store", store.objectStore().describe());
            j.put("checkpoints", inv.checkpoints.size());
            j.put("runs", runs.size());
            j.put("logicalBytes", logical);
            j.put("distinctChunks", inv.chunks.size());
            j.put("distinctBytes", raw);
            j.put("storedBytes", stored + manifestBytes);
            j.put("dedupRatio", dedup);
            j.put("compressionRatio", compression);
            j.put("unreferencedObjects", unreferencedObjects);
            j.put("unreferencedBytes", unreferenced);
            output.printJson(out(), j);
        } else {
            out().printf("store          %s%n", store.objectStore().describe());
            out().printf("checkpoints    %d in %d runs%n", inv.checkpoints.size(), runs.size());
            out().printf("logical        %s%n", human(logical));
            out().printf("distinct       %s in %d chunks (deduplication %.2fx)%n", human(raw), inv.chunks.size(), dedup);
            out().printf("stored         %s (compression %.2fx)%n", human(stored + manifestBytes), compression);
            out().printf("unreferenced   %s in %d objects (gc frees them after the grace age)%n", human(unreferenced), unreferencedObjects);
        }
        return ExitCode.OK;
    }
}

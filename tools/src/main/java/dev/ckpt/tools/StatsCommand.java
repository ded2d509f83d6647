package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ObjectInfo;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.HashSet;
import java.util.Set;

@Command(name = "stats", description = {"Show store totals: sizes, deduplication and compression, garbage.",
        "Checkpoints, logical bytes, stored bytes, deduplication and compression ratios, and the bytes no live"
                + " checkpoint references (what gc frees once they pass the grace age)."},
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
            liveKeys.addAll(store.partKeys(e)); // its part manifests, as its top manifest lists them (as GC marks them)
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
                if (!dev.ckpt.store.gc.GarbageCollector.ownKey(o.key())) {
                    continue; // another store's, whose prefix lies in this one's (as GC skips it)
                }
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
        print(new Stats(store.objectStore().describe(), inv.checkpoints.size(), runs.size(), logical, inv.chunks.size(), raw,
                stored + manifestBytes, dedup, compression, unreferencedObjects, unreferenced));
        return ExitCode.OK;
    }

    /**
     * @param distinctBytes     raw bytes of the distinct chunks
     * @param storedBytes       compressed chunks plus manifests
     * @param dedupRatio        logical bytes over distinct bytes
     * @param compressionRatio  distinct bytes over stored chunk bytes
     * @param unreferencedBytes what no live checkpoint references (gc frees it after the grace age)
     */
    record Stats(String store, int checkpoints, int runs, long logicalBytes, int distinctChunks, long distinctBytes,
                 long storedBytes, double dedupRatio, double compressionRatio, int unreferencedObjects, long unreferencedBytes)
            implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.printf("store          %s%n", store);
            out.printf("checkpoints    %d in %s%n", checkpoints, count(runs, "run"));
            out.printf("logical        %s%n", human(logicalBytes));
            out.printf("distinct       %s in %s (deduplication %.2fx)%n", human(distinctBytes), count(distinctChunks, "chunk"), dedupRatio);
            out.printf("stored         %s (compression %.2fx)%n", human(storedBytes), compressionRatio);
            out.printf("unreferenced   %s in %s (gc frees %s after the grace age)%n", human(unreferencedBytes),
                    count(unreferencedObjects, "object"), unreferencedObjects == 1 ? "it" : "them");
        }
    }
}

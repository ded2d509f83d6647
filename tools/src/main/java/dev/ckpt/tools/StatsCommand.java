package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
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
                + " checkpoint references (what gc frees once they pass the grace age). A checkpoint whose manifest"
                + " is missing or damaged is named on stderr and not counted; the totals are printed, then exit 3."},
        footer = {"", "Example:", "  ckpt-tool stats s3://ml-ckpt/llama --json"})
final class StatsCommand extends StoreCommand {
    @Override
    int run(CheckpointStore store) {
        // a checkpoint whose manifest is missing or damaged is left out of the chunk totals and named, as ls does
        // (helper-105: one such checkpoint failed stats for the whole store)
        Inventory inv = new Inventory(store, null, true);
        long logical = 0;
        Set<String> runs = new HashSet<>();
        Set<String> liveKeys = new HashSet<>();
        for (CheckpointEntry e : inv.checkpoints) {
            logical += e.logicalBytes();
            runs.add(e.run());
            liveKeys.add(e.manifest());
            if (!inv.unreadable.containsKey(e.id())) {
                liveKeys.addAll(store.partKeys(e)); // its part manifests, as its top manifest lists them (as GC marks them)
            }
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
                stored + manifestBytes, manifestBytes, dedup, compression, unreferencedObjects, unreferenced));
        if (inv.unreadable.isEmpty()) {
            return ExitCode.OK;
        }
        inv.unreadable.values().forEach(d -> err().println("ckpt-tool stats: " + Printable.message(d)));
        err().println("ckpt-tool stats: " + dev.ckpt.store.commit.SaveResult.count(inv.unreadable.size(), "checkpoint")
                + " of the store cannot be restored, and none of their chunks is counted above; ckpt-tool verify "
                + dev.ckpt.store.util.ShellWords.word(this.store) + " says what is damaged, ckpt-tool forget drops a"
                + " checkpoint that cannot be mended");
        return ExitCode.DAMAGE;
    }

    /**
     * @param distinctBytes     raw bytes of the distinct chunks
     * @param storedBytes       compressed chunks plus manifests
     * @param manifestBytes     the live manifests among {@code storedBytes}
     * @param dedupRatio        logical bytes over distinct bytes
     * @param compressionRatio  distinct bytes over stored chunk bytes
     * @param unreferencedBytes what no live checkpoint references (gc frees it after the grace age)
     */
    record Stats(String store, int checkpoints, int runs, long logicalBytes, int distinctChunks, long distinctBytes,
                 long storedBytes, long manifestBytes, double dedupRatio, double compressionRatio, int unreferencedObjects, long unreferencedBytes)
            implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.printf("store          %s%n", store);
            out.printf("checkpoints    %d in %s%n", checkpoints, count(runs, "run"));
            out.printf("logical        %s%n", human(logicalBytes));
            out.printf("distinct       %s in %s (deduplication %.2fx)%n", human(distinctBytes), count(distinctChunks, "chunk"), dedupRatio);
            // the ratio is the chunks' alone: with the manifests in the figure beside it, it did not add up (helper-105)
            out.printf("stored         %s: chunks %s (compression %.2fx), manifests %s%n", human(storedBytes),
                    human(storedBytes - manifestBytes), compressionRatio, human(manifestBytes));
            out.printf("unreferenced   %s in %s (gc frees %s after the grace age)%n", human(unreferencedBytes),
                    count(unreferencedObjects, "object"), unreferencedObjects == 1 ? "it" : "them");
        }
    }
}

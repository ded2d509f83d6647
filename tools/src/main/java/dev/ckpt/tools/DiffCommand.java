package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

@Command(name = "diff", description = "Compare two checkpoints: files added, removed and changed, and the bytes they share.",
        footer = {"", "Example:", "  ckpt-tool diff ./ckpt-store demo@100 demo@200"})
final class DiffCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "A", description = "the first checkpoint")
    String a;

    @Parameters(index = "2", paramLabel = "B", description = "the second checkpoint")
    String b;

    @Override
    int run(CheckpointStore store) {
        Manifest ma = store.manifest(store.resolve(a));
        Manifest mb = store.manifest(store.resolve(b));
        Map<String, FileEntry> fa = new TreeMap<>();
        ma.files().forEach(f -> fa.put(f.path(), f));
        Map<String, FileEntry> fb = new TreeMap<>();
        mb.files().forEach(f -> fb.put(f.path(), f));
        List<String> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        int same = 0;
        for (String p : fb.keySet()) {
            if (!fa.containsKey(p)) {
                added.add(p);
            } else if (!fa.get(p).sha256().equals(fb.get(p).sha256())) {
                changed.add(p);
            } else {
                same++;
            }
        }
        for (String p : fa.keySet()) {
            if (!fb.containsKey(p)) {
                removed.add(p);
            }
        }
        Map<String, ChunkRef> ca = ma.chunkRefs();
        long shared = 0;
        for (ChunkRef c : mb.chunkRefs().values()) {
            if (ca.containsKey(c.hash())) {
                shared += c.rawLength();
            }
        }
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("a", ma.id());
            j.put("b", mb.id());
            j.put("added", added);
            j.put("removed", removed);
            j.put("changed", changed);
            j.put("unchanged", same);
            j.put("sharedBytes", shared);
            j.put("aBytes", ma.logicalBytes());
            j.put("bBytes", mb.logicalBytes());
            output.printJson(out(), j);
        } else {
            out().printf("%s -> %s%n", ma.id(), mb.id());
            added.forEach(p -> out().println("  added    " + p + " (" + human(fb.get(p).size()) + ")"));
            removed.forEach(p -> out().println("  removed  " + p));
            changed.forEach(p -> out().println("  changed  " + p + " (" + human(fa.get(p).size()) + " -> " + human(fb.get(p).size()) + ")"));
            out().printf("%d added, %d removed, %d changed, %d unchanged; %s of %s shared (distinct chunks)%n",
                    added.size(), removed.size(), changed.size(), same, human(shared), human(mb.logicalBytes()));
        }
        return ExitCode.OK;
    }
}

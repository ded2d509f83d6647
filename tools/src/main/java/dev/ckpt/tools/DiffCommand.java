package dev.ckpt.tools;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

@Command(name = "diff", description = "Compare two checkpoints: files added, removed and changed, and the bytes they share.",
        footer = {"", "Example:", "  ckpt-tool diff ./ckpt-store demo@100 demo@200"})
final class DiffCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "A", description = "the first checkpoint", converter = SelectorShape.class)
    String a;

    @Parameters(index = "2", paramLabel = "B", description = "the second checkpoint", converter = SelectorShape.class)
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
        // B's bytes, each occurrence counted, that lie in chunks A holds too: comparable with B's size (helper-105:
        // distinct chunk bytes against B's logical size read as 4 % shared for two identical checkpoints)
        Map<String, ChunkRef> ca = ma.chunkRefs();
        long shared = 0;
        for (FileEntry f : mb.files()) {
            for (ChunkRef c : f.chunks()) {
                if (ca.containsKey(c.hash())) {
                    shared += c.sliceLength(); // a packed file's slice, not its whole pack
                }
            }
        }
        Map<String, Long> sizesA = new TreeMap<>();
        fa.forEach((p, f) -> sizesA.put(p, f.size()));
        Map<String, Long> sizesB = new TreeMap<>();
        fb.forEach((p, f) -> sizesB.put(p, f.size()));
        print(new Difference(ma.id(), mb.id(), added, removed, changed, same, shared, ma.logicalBytes(), mb.logicalBytes(),
                sizesA, sizesB));
        return ExitCode.OK;
    }

    /**
     * Files of B against A, by path and SHA-256.
     *
     * @param sharedBytes bytes of B (as {@code bBytes} counts them, every occurrence of a chunk) that lie in
     *                    chunks A holds too: {@code bBytes} when B is A
     * @param sizesA      file sizes of A by path (text form only)
     * @param sizesB      file sizes of B by path (text form only)
     */
    record Difference(String a, String b, List<String> added, List<String> removed, List<String> changed, int unchanged,
                      long sharedBytes, long aBytes, long bBytes, @JsonIgnore Map<String, Long> sizesA,
                      @JsonIgnore Map<String, Long> sizesB) implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.printf("%s -> %s%n", a, b);
            // names escaped as show escapes them (helper-105: an archive's file names drove the terminal)
            added.forEach(p -> out.println("  added    " + ShowCommand.printable(p) + " (" + human(sizesB.get(p)) + ")"));
            removed.forEach(p -> out.println("  removed  " + ShowCommand.printable(p)));
            changed.forEach(p -> out.println("  changed  " + ShowCommand.printable(p) + " (" + human(sizesA.get(p)) + " -> "
                    + human(sizesB.get(p)) + ")"));
            // "X of Y in chunks A holds too" read awkwardly (helper-141): whose bytes, and what holds what
            out.printf("%d added, %d removed, %d changed, %d unchanged; %s of the %s of %s is in chunks %s holds too%n",
                    added.size(), removed.size(), changed.size(), unchanged, human(sharedBytes), human(bBytes), b, a);
        }
    }
}

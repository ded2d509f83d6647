package dev.ckpt.store.restore;

import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.TensorEntry;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Which tensors of a checkpoint match a set of name patterns, and which chunks hold them:
 * for every safetensors file with a tensor index and at least one matching tensor, the
 * matching tensors in file order and the indexes of the file's chunks that overlap their
 * byte ranges — nothing else of the file needs to be fetched. A value: computing it reads
 * nothing from the store.
 *
 * <p>Patterns are globs on the whole tensor name: {@code *} matches any run of characters
 * (dots included), {@code ?} one character; everything else is literal. A tensor is
 * selected when any pattern matches it.
 *
 * @param files          the files with selected tensors, in manifest order
 * @param unindexed      safetensors files of the checkpoint without a tensor index (saved before it existed, or
 *                       whose header was not valid safetensors when saved), not searched
 */
public record TensorSelection(String checkpointId, List<String> patterns, List<FileSelection> files,
                              List<String> unindexed) {
    /** One file's selected tensors and the indexes of its chunks that hold them (sorted, distinct). */
    public record FileSelection(FileEntry file, List<TensorEntry> tensors, List<Integer> chunks) {
        public FileSelection {
            tensors = List.copyOf(tensors);
            chunks = List.copyOf(chunks);
        }

        /** The bytes of the selected tensors. */
        public long tensorBytes() {
            return tensors.stream().mapToLong(TensorEntry::length).sum();
        }
    }

    public TensorSelection {
        patterns = List.copyOf(patterns);
        files = List.copyOf(files);
        unindexed = List.copyOf(unindexed);
    }

    /** The tensors of {@code m} whose names match any of {@code patterns}. */
    public static TensorSelection of(Manifest m, List<String> patterns) {
        Objects.requireNonNull(patterns, "patterns");
        if (patterns.isEmpty()) {
            throw new IllegalArgumentException("at least one tensor name pattern is needed");
        }
        List<Pattern> globs = patterns.stream().map(TensorSelection::glob).toList();
        List<FileSelection> out = new ArrayList<>();
        List<String> unindexed = new ArrayList<>();
        for (FileEntry f : m.files()) {
            if (f.tensors() == null) {
                if (f.path().endsWith(".safetensors")) {
                    unindexed.add(f.path());
                }
                continue;
            }
            List<TensorEntry> picked = new ArrayList<>();
            for (TensorEntry t : f.tensors()) {
                if (globs.stream().anyMatch(g -> g.matcher(t.name()).matches())) {
                    picked.add(t);
                }
            }
            if (!picked.isEmpty()) {
                out.add(new FileSelection(f, picked, chunksCovering(f, picked)));
            }
        }
        return new TensorSelection(m.id(), patterns, out, unindexed);
    }

    /**
     * Names the safetensors files that have no tensor index (a few of them, and how many) and
     * why they have none, in words for a message.
     */
    public static String unindexedWords(List<String> files) {
        String named = String.join(", ", files.subList(0, Math.min(3, files.size())).stream().map(f -> "'" + f + "'")
                .toList()) + (files.size() > 3 ? " and " + (files.size() - 3) + " more" : "");
        return (files.size() == 1 ? "its safetensors file " + named + " has" : "its safetensors files " + named + " have")
                + " no tensor index and " + (files.size() == 1 ? "was" : "were") + " not searched: saved by a version"
                + " without the index, or not valid safetensors when saved (overlapping tensors, a shape its bytes do"
                + " not hold, a tensor past the file's end)";
    }

    /** Whether no tensor matched. */
    public boolean isEmpty() {
        return files.isEmpty();
    }

    public int tensorCount() {
        return files.stream().mapToInt(f -> f.tensors().size()).sum();
    }

    /** Chunks to fetch, counted once per file that needs them. */
    public int chunkCount() {
        return files.stream().mapToInt(f -> f.chunks().size()).sum();
    }

    /** The indexes of {@code f}'s chunks that overlap any of the tensors' byte ranges. */
    static List<Integer> chunksCovering(FileEntry f, List<TensorEntry> tensors) {
        TreeSet<Integer> out = new TreeSet<>();
        long[] starts = new long[f.chunks().size() + 1];
        for (int i = 0; i < f.chunks().size(); i++) {
            starts[i + 1] = starts[i] + f.chunks().get(i).sliceLength();
        }
        for (TensorEntry t : tensors) {
            if (t.length() == 0) {
                continue;
            }
            int i = chunkAt(starts, t.begin());
            for (; i < f.chunks().size() && starts[i] < t.end(); i++) {
                out.add(i);
            }
        }
        return new ArrayList<>(out);
    }

    /** The index of the chunk holding byte {@code offset}: the last start at or before it. */
    static int chunkAt(long[] starts, long offset) {
        int lo = 0;
        int hi = starts.length - 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= offset) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** A glob on a whole tensor name as a regular expression: {@code *} any run, {@code ?} one character. */
    static Pattern glob(String pattern) {
        StringBuilder re = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            if (c == '*' || c == '?') {
                if (literal.length() > 0) {
                    re.append(Pattern.quote(literal.toString()));
                    literal.setLength(0);
                }
                re.append(c == '*' ? ".*" : ".");
            } else {
                literal.append(c);
            }
        }
        if (literal.length() > 0) {
            re.append(Pattern.quote(literal.toString()));
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}

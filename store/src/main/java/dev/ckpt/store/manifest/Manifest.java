package dev.ckpt.store.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.ckpt.store.chunk.ChunkRef;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A checkpoint's immutable description, stored at {@code manifests/<id>.json}, written
 * create-only. {@code chunks} is the sorted set of distinct chunk hashes, which GC uses
 * as this checkpoint's references.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(int format, String id, String run, long step, Long epoch, Instant created,
                       Writer writer, Map<String, String> metadata, List<FileEntry> files, List<String> chunks) {
    public static final int FORMAT = 1;

    /** The writer that produced the checkpoint and the epoch it held. */
    public record Writer(String id, long epoch) {
    }

    public Manifest {
        Ids.checkCheckpointId(id);
        Ids.checkRunName(run);
        Objects.requireNonNull(created, "created");
        metadata = metadata == null ? Map.of() : new TreeMap<>(metadata);
        files = List.copyOf(files);
        chunks = List.copyOf(chunks);
        Set<String> seen = new HashSet<>();
        for (FileEntry f : files) {
            if (!seen.add(f.path())) {
                throw new IllegalArgumentException("file " + f.path() + " is listed twice");
            }
        }
        if (!new TreeSet<>(chunks).equals(distinctChunks(files)) || new TreeSet<>(chunks).size() != chunks.size()) {
            throw new IllegalArgumentException("the chunk set does not match the files' chunks");
        }
    }

    /** Builds the manifest of a new checkpoint, computing the distinct chunk set. */
    public static Manifest of(String id, String run, long step, Long epoch, Instant created, Writer writer,
                              Map<String, String> metadata, List<FileEntry> files) {
        return new Manifest(FORMAT, id, run, step, epoch, created, writer, metadata, files,
                new ArrayList<>(distinctChunks(files)));
    }

    private static TreeSet<String> distinctChunks(List<FileEntry> files) {
        TreeSet<String> set = new TreeSet<>();
        for (FileEntry f : files) {
            for (ChunkRef c : f.chunks()) {
                set.add(c.hash());
            }
        }
        return set;
    }

    public static String keyOf(String id) {
        return "manifests/" + id + ".json";
    }

    public String key() {
        return keyOf(id);
    }

    public long logicalBytes() {
        return files.stream().mapToLong(FileEntry::size).sum();
    }

    /** Every distinct chunk with its stored length, keyed by hash. */
    public Map<String, ChunkRef> chunkRefs() {
        Map<String, ChunkRef> out = new TreeMap<>();
        for (FileEntry f : files) {
            for (ChunkRef c : f.chunks()) {
                out.putIfAbsent(c.hash(), c);
            }
        }
        return out;
    }
}

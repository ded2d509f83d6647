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
 *
 * <p>A checkpoint saved by N ranks (format 2, see {@code docs/design.md}, "Many ranks") has
 * N <em>part</em> manifests, one per rank, at {@code manifests/<id>/part-<rank>.json}
 * ({@code part} set; {@code gcGeneration} the GC generation in ROOT when that rank's save
 * began), and one <em>top</em> manifest at {@code manifests/<id>.json} with no files and
 * the list of parts with their SHA-256 ({@code parts} set), written by rank 0 before the
 * commit. {@link ManifestLoader#load} returns the merged view (every part's files, format 1
 * shape), so readers that restore, verify or collect a whole checkpoint need not know about
 * parts. Versions that only know format 1 refuse format 2 as unsupported: they can never
 * take a sharded checkpoint for an empty one. A manifest (or part) holding a packed file is
 * format 3 ({@link #FORMAT_SLICES}); versions that know only 1 and 2 refuse it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(int format, String id, String run, long step, Long epoch, Instant created,
                       Writer writer, Map<String, String> metadata, List<FileEntry> files, List<String> chunks,
                       Part part, List<PartRef> parts, Long gcGeneration) {
    public static final int FORMAT = 1;
    /** The format of part and top manifests of a checkpoint saved by several ranks. */
    public static final int FORMAT_PARTS = 2;
    /**
     * The format of a manifest (of one writer, or a part) that holds a packed file: a chunk
     * reference with a slice ({@code offset}, {@code length}). Written only when there is one,
     * so that a version that does not know slices refuses it instead of misreading it.
     */
    public static final int FORMAT_SLICES = 3;
    /** The highest format this version reads. */
    public static final int FORMAT_SUPPORTED = FORMAT_SLICES;

    /** The writer that produced the checkpoint and the epoch it held. */
    public record Writer(String id, long epoch) {
    }

    /** Which part of a checkpoint saved by {@code worldSize} ranks a part manifest is: rank {@code rank}. */
    public record Part(int rank, int worldSize) {
        public Part {
            if (worldSize < 1 || rank < 0 || rank >= worldSize) {
                throw new IllegalArgumentException("rank " + rank + " is not within world size " + worldSize);
            }
        }
    }

    /**
     * A part as the top manifest lists it: the rank, its part manifest's key and SHA-256, and
     * its file count and bytes (so {@code ls} and {@code show} need not read the parts).
     */
    public record PartRef(int rank, String key, String sha256, int files, long logicalBytes) {
        public PartRef {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(sha256, "sha256");
        }
    }

    /** A format-1 manifest (one writer, no parts). */
    public Manifest(int format, String id, String run, long step, Long epoch, Instant created,
                    Writer writer, Map<String, String> metadata, List<FileEntry> files, List<String> chunks) {
        this(format, id, run, step, epoch, created, writer, metadata, files, chunks, null, null, null);
    }

    public Manifest {
        Ids.checkCheckpointId(id);
        Ids.checkRunName(run);
        if (created == null || files == null || chunks == null) {
            throw new IllegalArgumentException("the field \"" + (created == null ? "created" : files == null ? "files" : "chunks")
                    + "\" is missing");
        }
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
        if (part != null && parts != null) {
            throw new IllegalArgumentException("a manifest is either a part or the list of parts, not both");
        }
        if (parts != null) {
            parts = List.copyOf(parts);
            if (parts.isEmpty() || !files.isEmpty()) {
                throw new IllegalArgumentException("a top manifest lists at least one part and no files of its own");
            }
            for (int r = 0; r < parts.size(); r++) {
                PartRef p = parts.get(r);
                if (p.rank() != r || !p.key().equals(keyOfPart(id, r))) {
                    throw new IllegalArgumentException("part " + r + " of " + parts.size() + " is listed as rank "
                            + p.rank() + " at " + p.key() + "; expected " + keyOfPart(id, r));
                }
            }
        }
        if (format < FORMAT_SLICES && hasSlices(files)) {
            throw new IllegalArgumentException("a manifest with packed files (chunk slices) has format " + FORMAT_SLICES
                    + ", not " + format);
        }
        if ((part != null || parts != null) && format < FORMAT_PARTS) {
            throw new IllegalArgumentException("a part or top manifest has format " + FORMAT_PARTS + ", not " + format);
        }
    }

    /** The part manifest that rank {@code part.rank()} writes for a checkpoint saved by several ranks. */
    public static Manifest ofPart(String id, String run, long step, Long epoch, Instant created, Writer writer,
                                  Map<String, String> metadata, List<FileEntry> files, Part part, long gcGeneration) {
        return new Manifest(formatOf(files, FORMAT_PARTS), id, run, step, epoch, created, writer,
                metadata, files, new ArrayList<>(distinctChunks(files)), part, null, gcGeneration);
    }

    /** The top manifest rank 0 writes once every part is present: the parts in rank order. */
    public static Manifest ofParts(String id, String run, long step, Long epoch, Instant created, Writer writer,
                                   Map<String, String> metadata, List<PartRef> parts) {
        return new Manifest(FORMAT_PARTS, id, run, step, epoch, created, writer, metadata, List.of(), List.of(),
                null, parts, null);
    }

    /**
     * The whole checkpoint of a top manifest and its parts (in rank order): every part's
     * files, in a format-1 shape that restores, verifies, exports and is collected like a
     * checkpoint of one writer.
     *
     * @throws IllegalArgumentException if two parts hold the same file path
     */
    public static Manifest merged(Manifest top, List<Manifest> partsInRankOrder) {
        List<FileEntry> files = new ArrayList<>();
        for (Manifest p : partsInRankOrder) {
            files.addAll(p.files());
        }
        return new Manifest(formatOf(files, FORMAT), top.id(), top.run(), top.step(), top.epoch(), top.created(), top.writer(),
                top.metadata(), files, new ArrayList<>(distinctChunks(files)));
    }

    /** Ranks of the checkpoint: 1 for a checkpoint of one writer. */
    public int worldSize() {
        return parts != null ? parts.size() : part != null ? part.worldSize() : 1;
    }

    /** Builds the manifest of a new checkpoint, computing the distinct chunk set. */
    public static Manifest of(String id, String run, long step, Long epoch, Instant created, Writer writer,
                              Map<String, String> metadata, List<FileEntry> files) {
        return new Manifest(formatOf(files, FORMAT), id, run, step, epoch, created, writer, metadata,
                files, new ArrayList<>(distinctChunks(files)));
    }

    /** {@code base}, or {@link #FORMAT_SLICES} when a file is packed. */
    private static int formatOf(List<FileEntry> files, int base) {
        return hasSlices(files) ? FORMAT_SLICES : base;
    }

    private static boolean hasSlices(List<FileEntry> files) {
        for (FileEntry f : files) {
            if (f.packed()) {
                return true;
            }
        }
        return false;
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

    private static final java.util.regex.Pattern OWN_KEY = java.util.regex.Pattern.compile(
            "manifests/([A-Za-z0-9][A-Za-z0-9._-]{0,99})(\\.json|/part-[0-9]{5,}\\.json|/refused\\.json)");

    /**
     * Whether {@code key} has the shape of a key this store writes under {@code manifests/}:
     * {@link #keyOf}, {@link #keyOfPart} or {@link #keyOfRefusal} of a checkpoint id (no id is
     * one of the store's top-level names, {@link dev.ckpt.store.objectstore.Keys#TOP_LEVEL}).
     * Anything else there is not this store's: another store whose prefix lies in this one's
     * {@code manifests/} writes {@code manifests/ROOT}, {@code manifests/chunks/...},
     * {@code manifests/manifests/<id>.json} (helper-102: GC deleted them all as garbage).
     */
    public static boolean isOwnKey(String key) {
        java.util.regex.Matcher m = OWN_KEY.matcher(key);
        return m.matches() && !m.group(1).contains("..")
                && !dev.ckpt.store.objectstore.Keys.TOP_LEVEL.contains(m.group(1));
    }

    /** Where rank {@code rank}'s part manifest of checkpoint {@code id} is: {@code manifests/<id>/part-<rank, 5 digits>.json}. */
    public static String keyOfPart(String id, int rank) {
        return "manifests/" + id + "/part-" + String.format("%05d", rank) + ".json";
    }

    /**
     * Where rank 0 records that it gave up on checkpoint {@code id} of several ranks, so the
     * ranks waiting for its commit stop waiting: {@code manifests/<id>/refused.json}, a JSON
     * object with {@code checkpoint}, {@code reason} (rank 0's error message), {@code at} and
     * a random {@code attempt}. Never referenced by ROOT: GC removes it with the parts.
     */
    public static String keyOfRefusal(String id) {
        return "manifests/" + id + "/refused.json";
    }

    public String key() {
        return part == null ? keyOf(id) : keyOfPart(id, part.rank());
    }

    public long logicalBytes() {
        return files.stream().mapToLong(FileEntry::size).sum();
    }

    /** Every distinct chunk with its stored length, keyed by hash; whole (a pack's slices give the pack). */
    public Map<String, ChunkRef> chunkRefs() {
        Map<String, ChunkRef> out = new TreeMap<>();
        for (FileEntry f : files) {
            for (ChunkRef c : f.chunks()) {
                out.putIfAbsent(c.hash(), c.whole());
            }
        }
        return out;
    }
}

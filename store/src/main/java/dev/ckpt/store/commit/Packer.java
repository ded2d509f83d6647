package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.util.Tasks;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Packs a save's small files into shared chunks ("packs", see {@code docs/design.md}): the
 * raw bytes of a pack are its files' contents concatenated in the manifest's file order, and
 * each file is recorded as a slice of it. A pack of at least a quarter of {@link #maxPack} bytes
 * is cut after a file whose path hashes to a cut point (the low 4 bits of the last byte of
 * SHA-256 of the path's UTF-8 bytes are 0), and any pack is cut before a file that would
 * take it past {@link #maxPack} bytes: the cuts depend only on the
 * small files' paths and sizes, so an unchanged set of small files gives the same packs (and
 * deduplicates completely) and a changed or added file changes one or two packs.
 *
 * <p>Used by the reader thread only. The pack being filled is this object's own buffer; a
 * full pack is copied into one of the pipeline's chunk buffers under a permit and goes
 * through the same stages as any chunk (hash, dedup, compress, create-only write), so memory
 * stays bounded: one pack buffer more than before.
 */
final class Packer {
    /** Largest pack: 1 MiB raw (or the chunk size, if smaller). */
    static final int MAX_PACK = 1 << 20;
    /**
     * Smallest pack cut at a path's hash: a quarter of the largest (256 KiB). Without it a pack
     * held 16 files on average, 10,000 files of 100 B were 639 objects, and on S3Proxy, where a
     * PUT of a small object took 30-200 ms, their push spent 8.6 s uploading; with it, 4 objects
     * and 0.6 s.
     */
    private final int minPack;

    private final SavePipeline pipeline;
    private final int below;
    private final int maxPack;
    private final byte[] buf;
    private int length;
    private final List<Member> members = new ArrayList<>();
    private final List<Saver.Location> locations = new ArrayList<>();

    /** A file in the pack being filled: its slice, and the future its chunk list holds. */
    private record Member(int offset, int length, CompletableFuture<ChunkRef> ref) {
    }

    Packer(SavePipeline pipeline, int packBelow, int chunkSize) {
        this.pipeline = pipeline;
        this.maxPack = Math.min(MAX_PACK, chunkSize);
        this.minPack = maxPack / 4;
        this.below = Math.min(packBelow, maxPack + 1);
        this.buf = packBelow > 0 ? new byte[maxPack] : new byte[0];
    }

    /** Whether a file of {@code size} bytes at {@code relative} is packed: small, not empty, not safetensors. */
    boolean packs(String relative, long size) {
        return size > 0 && size < below && !relative.endsWith(".safetensors");
    }

    /** The buffer the next file of {@code size} bytes is to be read into, at {@link #position()}; cuts the pack first if it would not fit. */
    byte[] reserve(int size) {
        if (length + size > maxPack) {
            flush();
        }
        return buf;
    }

    /** Where the next file goes in {@link #reserve}'s buffer. */
    int position() {
        return length;
    }

    /**
     * Adds the file just read into the buffer at {@link #position()}; returns its chunk
     * reference, completed when its pack is stored (or known).
     */
    CompletableFuture<ChunkRef> add(String relative, Saver.Location where) {
        CompletableFuture<ChunkRef> ref = new CompletableFuture<>();
        members.add(new Member(length, where.length(), ref));
        locations.add(where);
        length += where.length();
        if (length >= minPack && cutAfter(relative)) {
            flush();
        }
        return ref;
    }

    /** A cut point: the low 4 bits of the last byte of SHA-256(path) are 0 (one path in 16). */
    static boolean cutAfter(String relative) {
        byte[] h = Hashes.sha256().digest(relative.getBytes(StandardCharsets.UTF_8));
        return (h[h.length - 1] & 0x0f) == 0;
    }

    /** Hands the pack being filled (if any) to the pipeline. A pack of one file is that file's whole chunk. */
    void flush() {
        if (members.isEmpty()) {
            return;
        }
        Tasks.acquire(pipeline.permits, "save");
        byte[] chunk = pipeline.raw.take();
        System.arraycopy(buf, 0, chunk, 0, length);
        List<Member> mine = List.copyOf(members);
        CompletableFuture<ChunkRef> pack = pipeline.submit(chunk, new Chunker.Piece(0, length), List.copyOf(locations));
        boolean single = mine.size() == 1;
        pack.whenComplete((whole, t) -> {
            for (Member m : mine) {
                if (t != null) {
                    m.ref().completeExceptionally(t);
                } else {
                    m.ref().complete(single ? whole : whole.slice(m.offset(), m.length()));
                }
            }
        });
        members.clear();
        locations.clear();
        length = 0;
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.commit.SourceDir.SourceFile;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

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
 * <p>The reader thread plans the packs from the sizes the scan found (a file whose size
 * changed since is refused when it is read, so the plan holds for every save that commits);
 * a cut pack is read on the {@code reader} pool: its files one after another into one of the
 * pipeline's chunk buffers, each file's SHA-256 taken there, and handed to the pipeline
 * (hash, dedup, compress, create-only write). Packs are read in parallel with each other and
 * with the reader's large files: reading 10,000 files on the reader thread alone was most of
 * a small push's time after start-up (docs/benchmarks.md, "Small files read in parallel").
 * Memory stays bounded: the reader takes a permit and a buffer for a pack before it is read,
 * as for any chunk.
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
    private final Executor reader;
    private final int below;
    private final int maxPack;
    private int length;
    private final List<Member> members = new ArrayList<>();

    /**
     * A file in a pack: where its bytes go, the future its chunk list holds (its slice of the
     * pack, once the pack is stored or known), and its SHA-256 in hex (once read).
     */
    record Member(SourceFile file, int offset, int length, CompletableFuture<ChunkRef> ref,
                  CompletableFuture<String> sha256) {
    }

    Packer(SavePipeline pipeline, Executor reader, int packBelow, int chunkSize) {
        this.pipeline = pipeline;
        this.reader = reader;
        this.maxPack = Math.min(MAX_PACK, chunkSize);
        this.minPack = maxPack / 4;
        this.below = Math.min(packBelow, maxPack + 1);
    }

    /** Whether a file of {@code size} bytes at {@code relative} is packed: small, not empty, not safetensors. */
    boolean packs(String relative, long size) {
        return size > 0 && size < below && !relative.endsWith(".safetensors");
    }

    /**
     * Adds {@code f} (which {@link #packs}) to the pack being planned, cutting the pack before it
     * if it would not fit and after it at a cut point; the member's futures complete once its
     * pack is read and stored (or fail with the reason its pack could not be).
     */
    Member add(SourceFile f) {
        int size = (int) f.size();
        if (length + size > maxPack) {
            flush();
        }
        Member m = new Member(f, length, size, new CompletableFuture<>(), new CompletableFuture<>());
        members.add(m);
        length += size;
        if (length >= minPack && cutAfter(f.relative())) {
            flush();
        }
        return m;
    }

    /** A cut point: the low 4 bits of the last byte of SHA-256(path) are 0 (one path in 16). */
    static boolean cutAfter(String relative) {
        byte[] h = Hashes.sha256().digest(relative.getBytes(StandardCharsets.UTF_8));
        return (h[h.length - 1] & 0x0f) == 0;
    }

    /** Hands the pack being planned (if any) to the reader pool. A pack of one file is that file's whole chunk. */
    void flush() {
        if (members.isEmpty()) {
            return;
        }
        List<Member> mine = List.copyOf(members);
        int total = length;
        members.clear();
        length = 0;
        byte[] chunk = pipeline.take(total);
        try {
            reader.execute(pipeline.guarded(() -> read(mine, total, chunk)));
        } catch (Throwable t) { // rejected: the store was closed; or no memory to queue it
            failed(mine, t, chunk);
        }
    }

    /** Reads the pack's files into {@code chunk}, then hands it to the pipeline. On the reader pool. */
    private void read(List<Member> mine, int total, byte[] chunk) {
        List<Saver.Location> locations;
        try {
            locations = new ArrayList<>(mine.size());
            for (Member m : mine) {
                pipeline.checkFailed(); // another chunk failed, or the save stopped: this pack is not read
                if (pipeline.aborted()) {
                    throw new java.util.concurrent.CancellationException("save aborted");
                }
                Saver.readSource(m.file(), ch -> {
                    Saver.readFully(ch, new Chunker.Piece(0, m.length()), m.file().path(), chunk, m.offset());
                    return null;
                });
                m.sha256().complete(Hashes.sha256Hex(chunk, m.offset(), m.length()));
                locations.add(new Saver.Location(m.file().path(), 0, m.length()));
            }
        } catch (Throwable e) {
            failed(mine, e, chunk);
            return;
        }
        // the members' futures complete with the pack's; if that hand-off itself fails (no memory), guarded()
        // records it and the save's await ends
        CompletableFuture<ChunkRef> pack = pipeline.submit(chunk, new Chunker.Piece(0, total), locations);
        boolean single = mine.size() == 1;
        pack.whenComplete((whole, t) -> {
            try {
                for (Member m : mine) {
                    if (t != null) {
                        m.ref().completeExceptionally(t);
                    } else {
                        m.ref().complete(single ? whole : whole.slice(m.offset(), m.length()));
                    }
                }
            } catch (Throwable e) { // a slice with no memory left: thrown here it would be lost, and the save wait
                pipeline.failedIn(e);
            }
        });
    }

    /** The pack could not be read: its buffer and permit go back, the save stops, and each member fails with {@code t}. */
    private void failed(List<Member> mine, Throwable t, byte[] chunk) {
        pipeline.fail(null, t, chunk); // first: it allocates nothing, so the buffer and permits come back
        for (Member m : mine) {
            m.sha256().completeExceptionally(t);
            m.ref().completeExceptionally(t);
        }
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.chunk.SuspectChunks;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.util.NonFiles;
import dev.ckpt.store.util.Tasks;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * One save's look at the chunks it takes as stored without writing or reading them (from the
 * live manifests, or files the caller declared unchanged): are their objects in the store, at
 * the stored length the manifests record, before the save commits a checkpoint that references
 * them? A missing or wrong-sized one is written again from the save's source (docs/design.md,
 * "Save": "Chunks taken as stored are looked at once per process"). Created when the save's
 * pipeline is; {@link #confirm} once the pipeline is done.
 */
final class DeduplicatedChunks {
    private final ObjectStore store;
    private final RootStore root;
    private final ChunkCodec codec;
    private final ExecutorService io;
    private final SuspectChunks suspects;
    private final SavePipeline pipeline;
    /** The listing of chunks/ this save looks in (a small store), taken meanwhile; null: none. */
    private final CompletableFuture<Map<String, Long>> listing;

    /**
     * Starts the listing of {@code chunks/} when the store is small ({@link SavePipeline#LISTED_CHUNKS}
     * live chunks at most), more than 8 live chunks and some not seen by this process.
     *
     * @param store the save's store (with its deadline)
     * @param live  the live checkpoints' chunks, by hash
     */
    DeduplicatedChunks(ObjectStore store, RootStore root, ChunkCodec codec, ExecutorService io, SuspectChunks suspects,
                       SavePipeline pipeline, Map<String, ChunkRef> live) {
        this.store = store;
        this.root = root;
        this.codec = codec;
        this.io = io;
        this.suspects = suspects;
        this.pipeline = pipeline;
        this.listing = pipeline.looksEarly() || live.size() <= 8 || live.keySet().stream().allMatch(suspects::sawStored)
                ? null : CompletableFuture.supplyAsync(() -> chunkSizes(store), io);
    }

    /**
     * Makes sure the chunk objects this save deduplicated against, without writing or reading
     * them, are in the store before it commits a checkpoint that references them, once per
     * process per chunk (a chunk seen here stays known: {@link SuspectChunks#sawStored(String)}).
     * In a store of at most {@link SavePipeline#LISTED_CHUNKS} live chunks it looks in the
     * listing started with this object; in a larger one it takes a size lookup per chunk
     * ({@link ObjectStore#sizeOf}, on the I/O pool, started by the pipeline as it finds the chunk
     * live: {@link SavePipeline#look}). A missing one, or one whose size is not the recorded
     * stored length (nothing of it is read), is written again from this save's source as the
     * manifests record it, which repairs the older checkpoints that reference it too. A save
     * that would encode it at another length (another compression level) refuses instead: the
     * object would then disagree with their records and the next save would write it back
     * (helper-111). Before, a chunk deleted by something other than ckpt's GC (an operator, a
     * bucket lifecycle rule) that every live checkpoint shared was deduplicated against, and
     * every later save committed a checkpoint that could not be restored (helper-108). A chunk
     * changed in place at its own size is not caught here; verify {@code --read-data} and
     * restores catch it. Chunks written again count as new in the save's figures.
     *
     * @param entries         the save's file entries
     * @param locations       where each chunk's bytes are in the source, by hash
     * @param startGeneration the GC generation when the save began: when a GC ran since, the chunks written again
     *                        are not reported (that GC may have deleted them: the commit re-creates such chunks silently)
     * @return the keys of the objects written again, to report ({@link SaveResult#repairNote})
     * @throws CorruptObjectException when a chunk to write again would be written at another length
     * @throws InvalidInputException  when its source cannot be read again or changed since it was read
     */
    List<String> confirm(List<FileEntry> entries, Map<String, List<Saver.Location>> locations, long startGeneration) {
        java.util.Set<String> handled = pipeline.handled();
        handled.forEach(h -> suspects.sawStored(h, true)); // this save wrote or read them
        Map<String, ChunkRef> unseen = new java.util.TreeMap<>();
        for (FileEntry f : entries) {
            for (ChunkRef c : f.chunks()) {
                if (!handled.contains(c.hash()) && !suspects.sawStored(c.hash())) {
                    unseen.putIfAbsent(c.hash(), c.whole());
                }
            }
        }
        if (unseen.isEmpty()) {
            return List.of();
        }
        // a small store: one listing of chunks/ (S3: a page per 1000 keys) instead of a HEAD per chunk, which in a
        // short-lived ckpt-tool JVM cost 2-4 ms of CPU each (the SDK's request path run cold): 195 HEADs added
        // 0.6-1.0 CPU s to the benchmark's S3 second save
        Map<String, Long> listed = Map.of();
        if (listing != null && unseen.size() > 8) {
            try {
                listed = Tasks.await(listing, "save");
            } catch (RuntimeException e) { // looked at one by one instead
                listed = Map.of();
            }
        }
        Map<String, CompletableFuture<java.util.Optional<Long>>> heads = new java.util.TreeMap<>();
        for (Map.Entry<String, ChunkRef> e : unseen.entrySet()) {
            String hash = e.getKey();
            ChunkRef ref = e.getValue();
            Long size = listed.get(hash);
            CompletableFuture<java.util.Optional<Long>> started = pipeline.lookAt(hash);
            if (size != null && size == ref.storedLength()) {
                heads.put(hash, CompletableFuture.completedFuture(java.util.Optional.of(size)));
            } else if (started != null && !started.isCompletedExceptionally()) {
                heads.put(hash, started);
            } else { // not listed, listed at another size, or the listing stopped early: looked at on its own
                heads.put(hash, CompletableFuture.supplyAsync(() -> store.sizeOf(ref.key()), io));
            }
        }
        List<String> rewritten = new ArrayList<>();
        for (Map.Entry<String, ChunkRef> e : unseen.entrySet()) {
            ChunkRef ref = e.getValue();
            java.util.Optional<Long> info = Tasks.await(heads.get(e.getKey()), "save");
            // every manifest records the object's stored length: at another size (truncated, empty, a frame appended,
            // another encoding written over it) the object fails every checkpoint that references it, and nothing of
            // it is read (helper-110: an empty object failed the save, a 3 GiB one ran out of memory)
            if (info.isPresent() && info.get() == ref.storedLength()) {
                suspects.sawStored(ref.hash(), true);
                continue;
            }
            List<Saver.Location> loc = locations.get(ref.hash());
            if (loc == null) {
                throw new IllegalStateException("no local source for chunk " + ref.key());
            }
            ChunkCodec.Encoded enc = encodeFromSource(codec, ref, loc, "that was missing or damaged in the store");
            if (enc.length() != ref.storedLength()) {
                // written at another length, the object would disagree with the checkpoints that record it, and the
                // next save, reading their record, would write it back over this one's (helper-111: a repair at
                // another level was flipped back by every later save, damaging the checkpoints recorded in between)
                throw new CorruptObjectException(ref.key(), "chunk object " + ref.key() + " in " + store.describe()
                        + " is " + (info.isPresent() ? "damaged (" + info.get() + " bytes, its checkpoints record "
                        + ref.storedLength() + ")" : "missing") + ", and this save encodes it otherwise than the"
                        + " checkpoints that reference it record (another compression setting), so it cannot write it"
                        + " again as they read it; nothing was committed. Save with the settings those checkpoints were"
                        + " saved with, or forget them (ckpt-tool verify " + dev.ckpt.store.util.ShellWords.word(store.describe())
                        + " lists them)");
            }
            // damaged, or missing and then found at another length by the create-only write: written over with bytes
            // of the same chunk, in the encoding its checkpoints record (every reader of the key wants exactly them);
            // missing and found at the recorded length: another save wrote it meanwhile, as recorded
            if (info.isPresent() || store.putIfAbsent(ref.key(), enc.buffer(), 0, enc.length()) != PutResult.CREATED
                    && store.sizeOf(ref.key()).orElse(-1L) != ref.storedLength()) {
                store.put(ref.key(), Arrays.copyOf(enc.buffer(), enc.length()));
            }
            pipeline.newChunks.incrementAndGet();
            pipeline.newBytes.addAndGet(ref.rawLength());
            pipeline.storedBytes.addAndGet(enc.length());
            pipeline.dedupChunks.decrementAndGet();
            pipeline.dedupBytes.addAndGet(-ref.rawLength());
            rewritten.add(ref.key());
            suspects.sawStored(ref.hash(), true);
        }
        if (!rewritten.isEmpty() && root.read().state().gc().generation() != startGeneration) {
            // a GC ran since the save began and may have deleted them (their checkpoints forgotten meanwhile): the
            // commit would have re-created them too, and no one else is to blame (helper-110)
            return List.of();
        }
        return rewritten;
    }

    /**
     * The sizes of the chunk objects of {@code chunks/}, by hash, from one listing (S3: a request
     * per 1000 keys) of at most {@link SavePipeline#LISTED_CHUNKS} keys: a store with more (much
     * garbage besides its live chunks) has the rest looked at one by one.
     */
    private static Map<String, Long> chunkSizes(ObjectStore store) {
        Map<String, Long> sizes = new java.util.HashMap<>();
        for (dev.ckpt.store.objectstore.ObjectInfo o : store.list("chunks/")) {
            if (sizes.size() >= SavePipeline.LISTED_CHUNKS) {
                break;
            }
            String h = ChunkRef.hashOfKey(o.key());
            if (h != null) {
                sizes.put(h, o.size());
            }
        }
        return sizes;
    }

    /**
     * The chunk {@code ref} read again from its source (one piece of a file, or every file of a
     * pack in order), checked against its hash, and encoded with {@code ref}'s codec at the
     * settings of {@code codec}. {@code why} says why it is re-created, for the errors.
     */
    static ChunkCodec.Encoded encodeFromSource(ChunkCodec codec, ChunkRef ref, List<Saver.Location> locs, String why) {
        byte[] buf = new byte[ref.rawLength()];
        int at = 0;
        for (Saver.Location loc : locs) {
            if (at + loc.length() > buf.length) {
                throw new IllegalStateException("the source of chunk " + ref.key() + " is longer than the chunk");
            }
            try (FileChannel ch = NonFiles.open(loc.path(), StandardOpenOption.READ)) {
                Saver.readFully(ch, new Chunker.Piece(loc.offset(), loc.length()), loc.path(), buf, at);
            } catch (IOException e) {
                throw new InvalidInputException("cannot re-read " + loc.path() + " to re-upload chunk " + ref.key()
                        + " " + why + ": " + e.getMessage(), e);
            }
            at += loc.length();
        }
        if (at != buf.length || !Hashes.sha256Hex(buf, 0, buf.length).equals(ref.hash())) {
            throw new InvalidInputException("file " + locs.get(0).path() + (locs.size() > 1 ? " (or another file packed"
                    + " with it)" : "") + " changed after it was saved; chunk " + ref.key()
                    + " " + why + " cannot be re-uploaded; save again");
        }
        return codec.encodeAs(ref, buf, 0, buf.length);
    }
}

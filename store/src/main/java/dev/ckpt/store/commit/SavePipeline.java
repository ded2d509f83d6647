package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.util.ChunkBuffers;
import dev.ckpt.store.util.Tasks;
import dev.ckpt.store.util.TransferListener;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The stages of one save after the read: hash and compress on the CPU pool, create the
 * chunk object on the I/O pool. The reader takes a permit per chunk before it reads it
 * ({@link #take}); the permit comes back when the chunk is known (already live, or
 * uploaded by this save) or stored, so at most {@code maxChunksInFlight} chunks are held
 * in memory, raw or encoded, plus one raw buffer per CPU thread while it compresses.
 *
 * <p>The reader also runs at most {@link #readAhead} chunks ahead of the CPU stage: a
 * chunk counts from its read until the CPU stage is done with it. The permits are sized
 * for uploads in flight (16 on S3); without this bound a reader that outruns the CPU
 * stage (a page-cache read is several times faster than hashing and compressing) filled
 * every permit with a raw chunk waiting for a CPU thread, each a fresh 8 MiB buffer the
 * kernel had to zero (docs/benchmarks.md, "Read-ahead of a save").
 */
final class SavePipeline {
    private final ObjectStore store;
    private final ChunkCodec codec;
    private final ExecutorService cpu;
    private final ExecutorService io;
    final Semaphore permits;
    /** Chunks read and not yet through the CPU stage: at most {@link #readAhead}. */
    private final Semaphore ahead;
    /** How far the reader may run ahead of the CPU stage, in chunks: twice the CPU threads, plus two. */
    final int readAhead;
    final ChunkBuffers raw;
    final ChunkBuffers encoded;
    final AtomicInteger newChunks = new AtomicInteger();
    final AtomicLong newBytes = new AtomicLong();
    final AtomicLong storedBytes = new AtomicLong();
    final AtomicInteger dedupChunks = new AtomicInteger();
    final AtomicLong dedupBytes = new AtomicLong();
    private final Map<String, ChunkRef> live;
    private final Map<String, List<Saver.Location>> locations;
    /** The first occurrence of each chunk this save uploads: later ones wait for it. */
    private final Map<String, CompletableFuture<ChunkRef>> thisSave = new ConcurrentHashMap<>();
    private final TransferListener listener;
    private final AtomicLong done;
    private final long total;
    private final AtomicReference<Throwable> failed = new AtomicReference<>();
    private volatile boolean aborted;

    /** Chunks found missing or corrupt by this store's restores: repaired here when a save writes them. */
    private dev.ckpt.store.chunk.SuspectChunks suspects = new dev.ckpt.store.chunk.SuspectChunks();
    /** How the live checkpoints record the suspect chunks they reference (codec, stored length), by hash. */
    private Map<String, ChunkRef> suspectLive = Map.of();
    /** Chunks this save wrote over a corrupt object (see {@link #existing}), by hash. */
    private final java.util.Set<String> writtenOver = java.util.concurrent.ConcurrentHashMap.newKeySet();

    SavePipeline withSuspects(dev.ckpt.store.chunk.SuspectChunks s, Map<String, ChunkRef> recordedAs) {
        this.suspects = s;
        this.suspectLive = recordedAs;
        return this;
    }

    SavePipeline(ObjectStore store, ChunkCodec codec, StoreConfig config, int chunkSize, ExecutorService cpu,
                 ExecutorService io, Map<String, ChunkRef> live, Map<String, List<Saver.Location>> locations,
                 TransferListener listener, AtomicLong done, long total) {
        this.store = store;
        this.codec = codec;
        this.cpu = cpu;
        this.io = io;
        this.permits = new Semaphore(config.maxChunksInFlight());
        this.readAhead = 2 * config.parallelism() + 2;
        this.ahead = new Semaphore(readAhead);
        this.raw = new ChunkBuffers(chunkSize);
        this.encoded = new ChunkBuffers(ChunkCodec.maxEncodedLength(chunkSize));
        this.live = live;
        this.locations = locations;
        this.listener = listener;
        this.done = done;
        this.total = total;
    }

    /**
     * The looks ({@link ObjectStore#sizeOf}) at chunk objects this save deduplicated against unread and this process has
     * not seen, by hash: started as soon as the chunk is found live, on the I/O pool, so that they
     * overlap the save's other work; {@link DeduplicatedChunks#confirm} waits for them.
     */
    private final Map<String, CompletableFuture<java.util.Optional<Long>>> looks =
            new ConcurrentHashMap<>();

    /**
     * The live chunks up to which a save looks at the chunks it deduplicated against in one
     * listing of {@code chunks/}, taken while it runs, rather than a size lookup each: 3 pages of
     * an S3 listing.
     */
    static final int LISTED_CHUNKS = 3000;

    /** Whether this save looks at deduplicated chunks one HEAD each, as it finds them: a store of more than {@link #LISTED_CHUNKS} live chunks. */
    boolean looksEarly() {
        return live.size() > LISTED_CHUNKS;
    }

    /** Starts the look at {@code ref}'s object unless this process saw it, this save already looks, or this save lists instead. */
    void look(ChunkRef ref) {
        if (!looksEarly() || suspects.sawStored(ref.hash()) || looks.containsKey(ref.hash())) {
            return;
        }
        try {
            looks.computeIfAbsent(ref.hash(), h -> CompletableFuture.supplyAsync(() -> store.sizeOf(ref.key()), io));
        } catch (RuntimeException rejected) { // the pool is shut down: the confirmation looks itself, and says why
            looks.remove(ref.hash());
        }
    }

    /** The look {@link #look} started at chunk {@code hash}, or null. */
    CompletableFuture<java.util.Optional<Long>> lookAt(String hash) {
        return looks.get(hash);
    }

    /** The chunks this save created or found by its own write (read back), by hash: known to be stored. */
    java.util.Set<String> handled() {
        return java.util.Collections.unmodifiableSet(thisSave.keySet());
    }

    /** Stops the stages: chunks not yet started are not uploaded. */
    void abort() {
        aborted = true;
    }

    /** Whether the save stopped ({@link #abort}): chunks not yet started are skipped. */
    boolean aborted() {
        return aborted;
    }

    /** Rethrows the first stage failure, so the reader stops early. */
    void checkFailed() {
        Throwable t = failed.get();
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
    }

    /**
     * A buffer for the next chunk to read, of {@code length} bytes, once a permit is free and the
     * reader is at most {@link #readAhead} chunks ahead of the CPU stage. The chunk then goes to
     * {@link #submit}, or back with {@link #unread} or {@link #fail(CompletableFuture, Throwable, byte[])}.
     * A buffer of the chunk size only for a large chunk ({@link ChunkBuffers#takeFor}), else an
     * array of its length: a 10,000-file push took a fresh 8 MiB buffer for each of its 4 packs
     * of at most 1 MiB and zeroed it, a tenth of its main thread's time (docs/benchmarks.md,
     * "Buffers the size of a pack").
     *
     * @throws dev.ckpt.store.error.StoreUnavailableException if the thread is interrupted while it waits
     */
    byte[] take(int length) {
        Tasks.acquire(permits, "save");
        try {
            Tasks.acquire(ahead, "save");
        } catch (RuntimeException e) {
            permits.release();
            throw e;
        }
        return raw.takeFor(length);
    }

    /** A buffer from {@link #take} whose chunk was not read: it and its permits come back. */
    void unread(byte[] buf) {
        raw.give(buf);
        ahead.release();
        permits.release();
    }

    /**
     * Hands a read chunk (in {@code buf}, which the pipeline gives back) to the CPU stage;
     * {@code loc}: where its bytes are in the source, in order (several files for a pack).
     */
    CompletableFuture<ChunkRef> submit(byte[] buf, Chunker.Piece piece, List<Saver.Location> loc) {
        return submit(buf, piece, loc, new CompletableFuture<>());
    }

    /**
     * {@link #submit(byte[], Chunker.Piece, List)}, completing {@code result}: the caller's own
     * future, so that nothing the caller does after the hand-off can fail and give back a
     * buffer the CPU stage now owns.
     */
    CompletableFuture<ChunkRef> submit(byte[] buf, Chunker.Piece piece, List<Saver.Location> loc,
                                       CompletableFuture<ChunkRef> result) {
        try {
            cpu.execute(guarded(() -> {
                try {
                    encodeStage(buf, piece, loc, result);
                } finally {
                    ahead.release();
                }
            }));
        } catch (Throwable t) { // rejected (the store was closed), or no memory for the task or its queue
            fail(result, t, buf);
        }
        return result;
    }

    /**
     * {@code task} for one of the save's pools: whatever escapes it (an {@link OutOfMemoryError}
     * where a stage allocates outside its own handling, or inside it) is recorded as the save's
     * failure, so that {@link #await} ends instead of waiting for a future that task would have
     * completed (helper-85: a pack's read that ran out of memory left the save waiting forever).
     */
    Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (Throwable t) {
                failedIn(t);
            }
        };
    }

    /**
     * Records {@code t}, thrown where nothing else would see it, as the save's failure and stops
     * the save; {@link #await} ends with it. For a pool task ({@link #guarded}) and for a
     * future's callback, whose throw {@link CompletableFuture} hands to a future nobody waits on
     * (helper-86: a listener that ran out of memory in one left the save waiting forever).
     * Allocates nothing, so it works when memory ran out.
     */
    void failedIn(Throwable t) {
        failed.compareAndSet(null, t);
        aborted = true;
    }

    /**
     * The value of {@code f}, a future of this save's stages; throws the save's first failure
     * as soon as one is recorded, even if it left {@code f} incomplete.
     *
     * @throws dev.ckpt.store.error.StoreUnavailableException if the thread is interrupted while it waits
     */
    <T> T await(CompletableFuture<T> f) {
        while (true) {
            try {
                return f.get(200, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException notYet) {
                if (failed.get() != null) {
                    checkFailed();
                    throw new IllegalStateException(failed.get()); // neither unchecked nor an error: not thrown by a stage
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new dev.ckpt.store.error.StoreUnavailableException("save interrupted", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw Tasks.cause(e);
            }
        }
    }

    /**
     * A chunk failed before it reached the CPU stage: its buffer and permits come back, and the
     * reader stops; {@code result} (if not null) fails with {@code t}.
     */
    void fail(CompletableFuture<ChunkRef> result, Throwable t, byte[] buf) {
        ahead.release();
        fail(result, t, buf, null);
    }

    private void encodeStage(byte[] buf, Chunker.Piece piece, List<Saver.Location> loc, CompletableFuture<ChunkRef> result) {
        byte[] rawBuf = buf; // null once given back
        byte[] dst = null;
        CompletableFuture<ChunkRef> mine = null;
        try {
            if (aborted) {
                throw new java.util.concurrent.CancellationException("save aborted");
            }
            int len = piece.length();
            String hash = Hashes.sha256Hex(buf, 0, len);
            locations.putIfAbsent(hash, loc);
            ChunkRef known = live.get(hash);
            if (known != null) {
                rawBuf = null;
                release(buf, null);
                look(known);
                known(len);
                result.complete(known);
                return;
            }
            CompletableFuture<ChunkRef> claim = new CompletableFuture<>();
            CompletableFuture<ChunkRef> first = thisSave.putIfAbsent(hash, claim);
            if (first != null) {
                rawBuf = null;
                release(buf, null);
                first.whenComplete((ref, t) -> {
                    try {
                        if (t != null) {
                            result.completeExceptionally(t);
                        } else {
                            known(len);
                            result.complete(ref);
                        }
                    } catch (Throwable e) { // thrown here it would be lost: result never completes
                        failedIn(e);
                    }
                });
                return;
            }
            mine = claim;
            dst = encoded.takeFor(ChunkCodec.maxEncodedLength(len)); // a pack's: no buffer of a whole chunk's size
            ChunkCodec.Encoded enc = codec.encodeInto(hash, buf, 0, len, piece.groupWidth(), dst);
            if (enc.buffer() != buf) {
                rawBuf = null;
                raw.give(buf); // compressed: the raw bytes are no longer needed
            }
            byte[] encodedBuf = dst;
            CompletableFuture<ChunkRef> owner = mine;
            io.execute(guarded(() -> putStage(enc, buf, encodedBuf, owner, result)));
        } catch (Throwable t) {
            if (mine != null) {
                mine.completeExceptionally(t); // the same chunk's later occurrences fail too
            }
            fail(result, t, rawBuf, dst);
        }
    }

    private void putStage(ChunkCodec.Encoded enc, byte[] buf, byte[] dst, CompletableFuture<ChunkRef> mine,
                          CompletableFuture<ChunkRef> result) {
        try {
            if (aborted) {
                throw new java.util.concurrent.CancellationException("save aborted");
            }
            ChunkRef ref;
            if (store.putIfAbsent(enc.ref().key(), enc.buffer(), 0, enc.length()) == PutResult.CREATED) {
                suspects.repaired(enc.ref().hash()); // if it was found missing: written again
                countNew(enc);
                ref = enc.ref();
            } else {
                ref = existing(enc); // stored by another save or rank: deduplicated (progress counted below, once)
                if (writtenOver.remove(enc.ref().hash())) {
                    countNew(enc); // it was corrupt and is uploaded again
                } else {
                    countDeduplicated(enc.ref().rawLength());
                }
            }
            release(enc.buffer() == buf ? buf : null, dst);
            progress(enc.ref().rawLength());
            mine.complete(ref);
            result.complete(ref);
        } catch (Throwable t) {
            mine.completeExceptionally(t);
            fail(result, t, enc.buffer() == buf ? buf : null, dst);
        }
    }

    private void known(int len) {
        countDeduplicated(len);
        progress(len);
    }

    private void countDeduplicated(int len) {
        dedupChunks.incrementAndGet();
        dedupBytes.addAndGet(len);
    }

    private void progress(int len) {
        listener.progress(done.addAndGet(len), total);
    }

    private void release(byte[] rawBuf, byte[] encodedBuf) {
        if (rawBuf != null) {
            raw.give(rawBuf);
        }
        if (encodedBuf != null) {
            encoded.give(encodedBuf);
        }
        permits.release();
    }

    private void countNew(ChunkCodec.Encoded enc) {
        newChunks.incrementAndGet();
        newBytes.addAndGet(enc.ref().rawLength());
        storedBytes.addAndGet(enc.length());
    }

    /** A stage failed: its buffers and permit come back, and the reader stops at its next chunk. */
    private void fail(CompletableFuture<ChunkRef> result, Throwable t, byte[] rawBuf, byte[] encodedBuf) {
        failed.compareAndSet(null, t);
        release(rawBuf, encodedBuf);
        if (result != null) {
            result.completeExceptionally(t);
        }
    }

    /**
     * A chunk object that already existed when this save tried to create it: written by an
     * earlier save that did not commit, another run, or our own retried request — perhaps
     * with another codec (byte-grouped or not, raw or compressed). The manifest must record
     * how the object is really stored, so it is read and identified; the chunk's name
     * guarantees its content, and decoding checks it.
     */
    private ChunkRef existing(ChunkCodec.Encoded enc) {
        String key = enc.ref().key();
        // into a buffer of the most any encoding of the chunk takes: a longer object is damage, and is not read
        // (helper-111: a 3 GiB object in a chunk's place ran every save of that data out of memory); stored stays null
        byte[] buffer = new byte[ChunkCodec.maxEncodedLength(enc.ref().rawLength())];
        byte[] stored;
        try {
            stored = store.getInto(key, buffer).map(b -> Arrays.copyOf(b.array(), b.length())).orElse(null);
        } catch (dev.ckpt.store.error.NotFoundException gone) {
            // deleted since (a GC of an unreferenced object): create it again
            if (store.putIfAbsent(key, enc.buffer(), 0, enc.length()) == PutResult.CREATED) {
                return enc.ref();
            }
            stored = store.getInto(key, buffer).map(b -> Arrays.copyOf(b.array(), b.length())).orElse(null);
        }
        if (stored != null && Arrays.equals(stored, 0, stored.length, enc.buffer(), 0, enc.length())) {
            suspects.repaired(enc.ref().hash());
            return enc.ref();
        }
        ChunkRef found = stored == null ? null : ChunkCodec.identify(enc.ref().hash(), enc.ref().rawLength(), stored);
        ChunkRef recorded = suspectLive.get(enc.ref().hash());
        if (found == null && recorded != null && (recorded.codec() != enc.ref().codec()
                || recorded.storedLength() != enc.length())) {
            // live checkpoints read this object as they recorded it: written another way, it would break them
            throw new dev.ckpt.store.error.CorruptObjectException(key, "chunk object " + key + " in " + store.describe()
                    + " does not hold the chunk its name promises, and this save encodes it otherwise than the checkpoints"
                    + " that reference it record (another compression setting), so it cannot write it over; nothing was"
                    + " committed. Save with the settings those checkpoints were saved with, or forget them (ckpt-tool"
                    + " verify --read-data " + dev.ckpt.store.util.ShellWords.word(store.describe()) + " lists them)");
        }
        if (found == null) {
            // The object does not hold what its name promises (bit rot, a truncated write): this save holds the bytes
            // that hash to the name, in the encoding any live checkpoint records for it, so it writes them over it. No
            // one can lose by that: every reader of the key wants exactly these bytes (helper-106: a corrupt chunk was
            // reused by deduplication).
            store.put(key, Arrays.copyOf(enc.buffer(), enc.length()));
            writtenOver.add(enc.ref().hash());
            suspects.repaired(enc.ref().hash());
            return enc.ref();
        }
        suspects.repaired(enc.ref().hash());
        return found;
    }
}

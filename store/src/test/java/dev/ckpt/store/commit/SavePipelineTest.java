package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.MemoryStores;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.util.TransferListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A save's reader runs at most {@code readAhead} chunks ahead of the CPU stage, however many
 * permits the uploads have (docs/benchmarks.md, "Read-ahead of a save"), and every way a
 * chunk leaves the pipeline gives its place back, so a save never hangs for want of one; an
 * error that escapes a stage (out of memory) ends the save's wait instead of hanging it, and
 * a hand-off that fails gives its buffer back once.
 */
class SavePipelineTest {
    private static final int CHUNK = 1024;
    private final ExecutorService io = Executors.newFixedThreadPool(2);
    /** The CPU stage: tasks wait in {@link #held} until a test runs them. */
    private final LinkedBlockingQueue<Runnable> held = new LinkedBlockingQueue<>();
    /** What the CPU stage's execute throws instead of taking the task, if set. */
    private volatile Error refuseWith;
    private final ExecutorService cpu = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>()) {
        @Override
        public void execute(Runnable task) {
            if (isShutdown()) {
                throw new java.util.concurrent.RejectedExecutionException("closed");
            }
            if (refuseWith != null) {
                throw refuseWith;
            }
            held.add(task);
        }
    };
    private final AtomicInteger taken = new AtomicInteger();

    @AfterEach
    void stop() {
        io.shutdownNow();
        cpu.shutdownNow();
    }

    private SavePipeline pipeline(int parallelism, int inFlight, Map<String, ChunkRef> live) {
        return pipeline(parallelism, inFlight, live, TransferListener.NONE);
    }

    private SavePipeline pipeline(int parallelism, int inFlight, Map<String, ChunkRef> live, TransferListener listener) {
        StoreConfig config = StoreConfig.builder().chunkSize(CHUNK).parallelism(parallelism).maxChunksInFlight(inFlight)
                .build();
        return new SavePipeline(MemoryStores.inMemory(new FakeClock()), new ChunkCodec(1), config, CHUNK, cpu, io, live,
                new ConcurrentHashMap<>(), listener, new AtomicLong(), 1 << 20);
    }

    /** A reader that takes buffers, fills each with its own bytes and submits it, until interrupted. */
    private Thread reader(SavePipeline p, List<CompletableFuture<ChunkRef>> refs) {
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    byte[] buf = p.take(CHUNK);
                    int n = taken.incrementAndGet();
                    java.util.Arrays.fill(buf, (byte) 0);
                    buf[0] = (byte) n;
                    buf[1] = (byte) (n >> 8);
                    refs.add(p.submit(buf, new Chunker.Piece(0, CHUNK), List.of()));
                }
            } catch (RuntimeException interrupted) {
                // StoreUnavailableException: the test stops the reader
            }
        }, "test-reader");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Waits until {@code t} has taken {@code n} buffers and is blocked, then checks that it
     * stays blocked at {@code n} (a reader that could go on would take more within 100 ms).
     */
    private void assertBlockedAt(Thread t, int n) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((taken.get() < n || t.getState() != Thread.State.WAITING) && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        Thread.sleep(100);
        assertEquals(Thread.State.WAITING, t.getState(), "the reader should wait");
        assertEquals(n, taken.get(), "buffers taken");
    }

    @Test
    void theReaderRunsAtMostReadAheadChunksAheadOfTheCpuStage() throws Exception {
        SavePipeline p = pipeline(2, 18, Map.of());
        assertEquals(6, p.readAhead); // 2 CPU threads: twice that, plus two
        List<CompletableFuture<ChunkRef>> refs = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread t = reader(p, refs);
        assertBlockedAt(t, 6); // with the CPU stage stopped: 6 chunks read, not the 18 permits
        held.take().run(); // the CPU stage is done with one chunk: the reader reads one more
        assertBlockedAt(t, 7);
        held.take().run();
        held.take().run();
        assertBlockedAt(t, 9);
        t.interrupt();
        t.join(10_000);
        while (!held.isEmpty()) {
            held.take().run();
        }
        for (CompletableFuture<ChunkRef> f : refs) {
            assertEquals(CHUNK, f.get(10, TimeUnit.SECONDS).rawLength());
        }
        assertEquals(9, p.newChunks.get());
    }

    /**
     * A chunk of known length far below the chunk size (a pack) is read into an array of its
     * length, not a chunk-size buffer (zeroing a fresh 8 MiB buffer per pack was a tenth of a
     * small push's main thread), and it still holds a permit until it is stored.
     */
    @Test
    void aSmallChunkTakesAnArrayOfItsLengthAndStillAPermit() throws Exception {
        SavePipeline p = pipeline(2, 3, Map.of());
        byte[] small = p.take(100);
        assertEquals(100, small.length);
        assertEquals(CHUNK, p.take(CHUNK).length);
        assertEquals(CHUNK, p.take(CHUNK / 2).length, "half the chunk size or more: a buffer of the chunk size");
        assertEquals(0, p.permits.availablePermits());
        java.util.Arrays.fill(small, (byte) 7);
        CompletableFuture<ChunkRef> ref = p.submit(small, new Chunker.Piece(0, 100), List.of());
        held.take().run();
        assertEquals(100, ref.get(10, TimeUnit.SECONDS).rawLength());
        assertEquals(dev.ckpt.store.chunk.Hashes.sha256Hex(small, 0, 100), ref.get().hash());
        assertEquals(1, p.permits.availablePermits(), "the stored chunk gave its permit back");
    }

    @Test
    void thePermitsStillBoundTheChunksInFlightWhenTheyAreFewer() throws Exception {
        SavePipeline p = pipeline(4, 3, Map.of()); // read-ahead 10, permits 3
        Thread t = reader(p, java.util.Collections.synchronizedList(new ArrayList<>()));
        assertBlockedAt(t, 3);
        t.interrupt();
        t.join(10_000);
    }

    /**
     * Every way a chunk leaves: known already, a second occurrence, uploaded, read and not
     * submitted ({@code unread}), failed before the CPU stage, rejected by a closed pool.
     * After each, the reader can again take all {@code readAhead} places; one lost place
     * per chunk would hang a save after a few chunks.
     */
    @Test
    void everyWayAChunkLeavesGivesItsPlaceBack() throws Exception {
        byte[] knownBytes = new byte[CHUNK];
        knownBytes[0] = 42;
        String knownHash = dev.ckpt.store.chunk.Hashes.sha256Hex(knownBytes);
        ChunkRef known = new ChunkCodec(1).encodeInto(knownHash, knownBytes, 0, CHUNK, 1,
                new byte[ChunkCodec.maxEncodedLength(CHUNK)]).ref();
        SavePipeline p = pipeline(1, 50, Map.of(knownHash, known)); // read-ahead 4
        for (int round = 0; round < 3; round++) {
            // known, a new chunk and its second occurrence
            List<CompletableFuture<ChunkRef>> refs = new ArrayList<>();
            for (byte[] content : List.of(knownBytes, content(round), content(round))) {
                byte[] buf = p.take(CHUNK);
                System.arraycopy(content, 0, buf, 0, CHUNK);
                refs.add(p.submit(buf, new Chunker.Piece(0, CHUNK), List.of()));
            }
            p.unread(p.take(CHUNK)); // read failed
            p.fail(new CompletableFuture<>(), new IllegalStateException("test: hashing failed"), p.take(CHUNK));
            while (!held.isEmpty()) {
                held.take().run();
            }
            for (CompletableFuture<ChunkRef> f : refs) {
                f.get(10, TimeUnit.SECONDS);
            }
            assertAllPlacesFree(p);
        }
        cpu.shutdown();
        CompletableFuture<ChunkRef> rejected = p.submit(p.take(CHUNK), new Chunker.Piece(0, CHUNK), List.of());
        assertTrue(rejected.isCompletedExceptionally());
        assertAllPlacesFree(p);
    }

    /**
     * helper-85: a pack's read that ran out of memory outside its own handling left its
     * members' futures incomplete, and the save waited for them forever. An error escaping
     * any task of the pipeline is now the save's failure, and its wait ends with it.
     */
    @Test
    void anErrorEscapingAStageEndsTheSavesWaitInsteadOfHangingIt() {
        SavePipeline p = pipeline(2, 18, Map.of());
        CompletableFuture<ChunkRef> neverCompleted = new CompletableFuture<>();
        io.execute(p.guarded(() -> {
            throw new OutOfMemoryError("test: Java heap space");
        }));
        OutOfMemoryError e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
                () -> assertThrows(OutOfMemoryError.class, () -> p.await(neverCompleted)));
        assertEquals("test: Java heap space", e.getMessage());
        assertTrue(p.aborted(), "the other stages skip what they have not started");
    }

    /**
     * helper-86: a chunk whose content an earlier chunk of the same save is uploading completes
     * in a callback of that chunk's future. An Error there (its progress report ran out of
     * memory) was caught by {@link CompletableFuture} and handed to a future nobody waits on: the
     * chunk's own future never completed, and the save waited forever. It is the save's failure.
     */
    @Test
    void anErrorInTheCallbackOfARepeatedChunkEndsTheSavesWait() throws Exception {
        AtomicInteger reports = new AtomicInteger();
        SavePipeline p = pipeline(1, 8, Map.of(), (done, total) -> {
            if (reports.incrementAndGet() == 2) { // the first: the upload of a; the second: b, the same content
                throw new OutOfMemoryError("test: Java heap space (in a progress report)");
            }
        });
        byte[] a = p.take(CHUNK);
        byte[] b = p.take(CHUNK);
        java.util.Arrays.fill(a, (byte) 9);
        java.util.Arrays.fill(b, (byte) 9);
        CompletableFuture<ChunkRef> first = p.submit(a, new Chunker.Piece(0, CHUNK), List.of());
        CompletableFuture<ChunkRef> again = p.submit(b, new Chunker.Piece(0, CHUNK), List.of());
        held.take().run(); // a: hashed, compressed, its upload queued
        held.take().run(); // b: the same hash, completes with a's future
        assertNotNull(p.await(first));
        OutOfMemoryError e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
                () -> assertThrows(OutOfMemoryError.class, () -> p.await(again)), "the save waits forever");
        assertEquals("test: Java heap space (in a progress report)", e.getMessage());
        assertTrue(p.aborted(), "the other stages skip what they have not started");
    }

    /**
     * A hand-off to the CPU stage that fails (no memory to queue the task) gives the chunk's
     * buffer and places back once: twice would hand a buffer the stage may still be hashing
     * to the next chunk, and raise the read-ahead bound.
     */
    @Test
    void aHandOffThatFailsGivesItsPlacesBackOnce() throws Exception {
        SavePipeline p = pipeline(1, 50, Map.of()); // read-ahead 4
        refuseWith = new OutOfMemoryError("test: unable to queue");
        CompletableFuture<ChunkRef> r = p.submit(p.take(CHUNK), new Chunker.Piece(0, CHUNK), List.of());
        assertTrue(r.isCompletedExceptionally());
        assertThrows(OutOfMemoryError.class, p::checkFailed);
        refuseWith = null;
        assertAllPlacesFree(p);
        Thread t = reader(p, java.util.Collections.synchronizedList(new ArrayList<>()));
        assertBlockedAt(t, 4); // not 5: the failed hand-off gave its place back once
        t.interrupt();
        t.join(10_000);
    }

    private static byte[] content(int round) {
        byte[] b = new byte[CHUNK];
        b[0] = 7;
        b[1] = (byte) round;
        return b;
    }

    /** Takes {@code readAhead} buffers without blocking, then gives them back. */
    private static void assertAllPlacesFree(SavePipeline p) throws Exception {
        CompletableFuture<List<byte[]>> all = CompletableFuture.supplyAsync(() -> {
            List<byte[]> bufs = new ArrayList<>();
            for (int i = 0; i < p.readAhead; i++) {
                bufs.add(p.take(CHUNK));
            }
            return bufs;
        });
        for (byte[] b : all.get(10, TimeUnit.SECONDS)) {
            p.unread(b);
        }
    }
}

package dev.ckpt.store.restore;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.StoredBytes;
import dev.ckpt.store.objectstore.StoredObject;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.Tamper;
import dev.ckpt.store.testing.TestDirs;
import dev.ckpt.store.util.TransferListener;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The restore data path: each distinct chunk is fetched once, the number of chunks (and
 * open temporaries) in flight stays bounded whatever the checkpoint's size, and the
 * whole-file check still catches a file whose chunks are right but whose manifest hash
 * is not.
 */
class PipelinedRestoreTest extends InMemoryFixture {
    private static final int CHUNK = 16 * 1024; // Stores.config

    /** Counts GETs per key; optionally holds the GETs of one key until released. */
    private static final class CountingStore extends ForwardingObjectStore {
        final Map<String, AtomicInteger> gets = new ConcurrentHashMap<>();
        final AtomicInteger chunkGets = new AtomicInteger();
        volatile String hold;
        final CountDownLatch release = new CountDownLatch(1);

        CountingStore(ObjectStore delegate) {
            super(delegate);
        }

        @Override
        public StoredObject get(String key) {
            gets.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            if (key.startsWith("chunks/")) {
                chunkGets.incrementAndGet();
            }
            if (key.equals(hold)) {
                try {
                    assertTrue(release.await(30, TimeUnit.SECONDS), "never released");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return super.get(key);
        }
    }

    /** A file of {@code chunks} chunks drawn from {@code distinct} seeded blocks (block 0 is all zeros). */
    private static byte[] repetitive(long seed, int chunks, int distinct) {
        Random rnd = new Random(seed);
        byte[][] blocks = new byte[distinct][CHUNK];
        for (int i = 1; i < distinct; i++) {
            rnd.nextBytes(blocks[i]);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < chunks; i++) {
            out.writeBytes(blocks[i < distinct ? i : rnd.nextInt(distinct)]);
        }
        out.writeBytes(new byte[] {1, 2, 3}); // an odd tail: its own chunk
        return out.toByteArray();
    }

    private CheckpointEntry save(Path src) {
        SaveResult r = store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1));
        return store.resolve(r.checkpointId());
    }

    @Test
    void aChunkRepeatedInACheckpointIsFetchedOnceAndRestoresByteIdentical() throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("sub"));
        byte[] sparse = repetitive(1, 300, 8);
        Files.write(src.resolve("sparse.bin"), sparse);
        Files.write(src.resolve("sub/same-again.bin"), sparse); // every chunk repeated in another file too
        Files.write(src.resolve("sub/zeros.bin"), new byte[20 * CHUNK]);
        CheckpointEntry e = save(src);
        Manifest m = store.manifest(e);
        int occurrences = m.files().stream().mapToInt(f -> f.chunks().size()).sum();
        assertEquals(9, m.chunks().size(), "8 blocks (zeros among them) and the tail");
        assertEquals(2 * 301 + 20, occurrences);

        CountingStore counting = new CountingStore(objects);
        try (CheckpointStore s = Stores.open(counting, clock)) {
            RestoreResult r = s.restore(e, tmp.resolve("out"), List.of());
            for (String chunk : m.chunks()) {
                String key = dev.ckpt.store.chunk.ChunkRef.keyOf(chunk);
                assertEquals(1, counting.gets.getOrDefault(key, new AtomicInteger()).get(), "GETs of " + key);
            }
            assertEquals(m.chunks().size(), counting.chunkGets.get(), "one GET per distinct chunk");
            assertEquals(m.chunks().size(), r.chunksDownloaded());
            assertEquals(occurrences - m.chunks().size(), r.chunksReused(), "the other occurrences are copied locally");
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    /**
     * A backend that reads into the caller's buffer ({@link ObjectStore#getInto}), recording the
     * buffers it is handed for chunks of half a chunk or more (a small one gets an array of its
     * own), and holding every third such read a moment, so later chunks overtake it.
     */
    private static final class IntoBufferStore extends ForwardingObjectStore {
        final java.util.Set<byte[]> handed = java.util.Collections.synchronizedSet(
                java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        final AtomicInteger reads = new AtomicInteger();

        IntoBufferStore(ObjectStore delegate) {
            super(delegate);
        }

        /** Many reads of large chunks went into at most {@code buffers} buffers. */
        void assertReused(int buffers) {
            assertTrue(reads.get() >= 80, reads + " reads of chunks of half a chunk or more");
            assertTrue(handed.size() <= buffers, handed.size() + " buffers handed to the store for " + reads
                    + " reads of large chunks, more than " + buffers + ": not reused");
        }

        @Override
        public java.util.Optional<StoredBytes> getInto(String key, byte[] buffer) {
            byte[] data = get(key).data();
            if (key.startsWith("chunks/") && data.length >= CHUNK / 2) {
                handed.add(buffer);
                if (reads.incrementAndGet() % 3 == 0) {
                    try {
                        Thread.sleep(3);
                    } catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            if (data.length > buffer.length) {
                return java.util.Optional.empty();
            }
            java.util.Arrays.fill(buffer, (byte) 0x5a); // what a previous chunk left is never read as this one's
            System.arraycopy(data, 0, buffer, 0, data.length);
            return java.util.Optional.of(new StoredBytes(buffer, data.length));
        }
    }

    /** Four files of 40 chunks, the first half of each compressible, the rest raw; and a file of repeats. */
    private Path rawAndCompressedChunks() throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Random rnd = new Random(11);
        for (int i = 0; i < 4; i++) {
            byte[] data = new byte[40 * CHUNK + i];
            rnd.nextBytes(data);
            java.util.Arrays.fill(data, 0, data.length / 2, (byte) 7);
            for (int k = 0; k < data.length / 2; k += 64) {
                data[k] = (byte) rnd.nextInt(); // not zeros: those are left as holes without a read
            }
            Files.write(src.resolve("f" + i + ".bin"), data);
        }
        Files.write(src.resolve("repeats.bin"), repetitive(5, 60, 6)); // later occurrences are read back
        return src;
    }

    /**
     * A restore reads its chunks into a few reused buffers, not a new array per GET: the buffers
     * it hands the store stay within twice the chunks in flight (a chunk that must wait for its
     * file's hash takes a second one for its copy) while the reads of large chunks are many, with
     * chunks overtaking each other, raw and compressed chunks, and repeats read back. Every file
     * restores byte-identical: a buffer reused while still in use would fail its file's hash.
     */
    @Test
    void aRestoreReadsItsChunksIntoAFewReusedBuffers() throws Exception {
        Path src = rawAndCompressedChunks();
        CheckpointEntry e = save(src);
        IntoBufferStore intoBuffer = new IntoBufferStore(objects);
        int bound = Stores.config(clock).maxChunksInFlight();
        try (CheckpointStore s = Stores.open(intoBuffer, clock)) {
            s.restore(e, tmp.resolve("out"), List.of());
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
        intoBuffer.assertReused(2 * bound);
    }

    /**
     * A deep verify reads its chunks into reused buffers too, at most one per chunk in flight, and
     * still proves every file (a raw chunk's bytes are copied out of the buffer before it is reused)
     * and finds a corrupt chunk.
     */
    @Test
    void aDeepVerifyReadsItsChunksIntoAFewReusedBuffers() throws Exception {
        Path src = rawAndCompressedChunks();
        CheckpointEntry e = save(src);
        IntoBufferStore intoBuffer = new IntoBufferStore(objects);
        int bound = Stores.config(clock).maxChunksInFlight();
        try (CheckpointStore s = Stores.open(intoBuffer, clock)) {
            dev.ckpt.store.restore.VerifyReport r = s.verify(dev.ckpt.store.VerifyRequest.deep());
            assertTrue(r.ok(), r.toString());
            assertTrue(r.chunksChecked() >= store.manifest(e).chunks().size(), r.toString()); // a repeat may be read again
        }
        intoBuffer.assertReused(bound + 1);

        Manifest m = store.manifest(e);
        String raw = m.files().get(0).chunks().get(30).key(); // in the random half: stored raw
        byte[] bytes = objects.get(raw).data();
        bytes[100] ^= 1;
        objects.put(raw, bytes);
        try (CheckpointStore s = Stores.open(new IntoBufferStore(objects), clock)) {
            dev.ckpt.store.restore.VerifyReport r = s.verify(dev.ckpt.store.VerifyRequest.deep());
            assertFalse(r.ok());
            assertTrue(r.problems().stream().anyMatch(p -> p.toString().contains(raw)), r.toString());
        }
    }

    @Test
    void chunksOfZerosAreLeftAsHolesAndEveryFileKeepsItsLengthAndBytes() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        byte[] data = new byte[CHUNK];
        new Random(5).nextBytes(data);
        int big = 256 * CHUNK; // 4 MiB
        byte[] endsInZeros = new byte[big];
        System.arraycopy(data, 0, endsInZeros, 0, CHUNK);
        byte[] startsWithZeros = new byte[big];
        System.arraycopy(data, 0, startsWithZeros, big - CHUNK, CHUNK);
        byte[] zerosInTheMiddle = startsWithZeros.clone();
        System.arraycopy(data, 0, zerosInTheMiddle, 0, CHUNK);
        Files.write(src.resolve("ends-in-zeros.bin"), endsInZeros);
        Files.write(src.resolve("starts-with-zeros.bin"), startsWithZeros);
        Files.write(src.resolve("zeros-in-the-middle.bin"), zerosInTheMiddle);
        Files.write(src.resolve("all-zeros.bin"), new byte[big]);
        Files.write(src.resolve("small-zeros.bin"), new byte[100]); // packed with the others below the pack size
        Files.write(src.resolve("small.bin"), new byte[] {0, 0, 7, 0});
        Path out = tmp.resolve("out");
        store.restore(save(src), out, List.of());
        TestDirs.assertSameTree(TestDirs.snapshot(src), out); // names, lengths and bytes
        for (String f : List.of("ends-in-zeros.bin", "starts-with-zeros.bin", "zeros-in-the-middle.bin", "all-zeros.bin")) {
            long allocated = allocatedBytes(out.resolve(f));
            assertTrue(allocated <= 4L * CHUNK, f + ": " + allocated + " bytes on disk for " + big
                    + " bytes of which at most 2 chunks are not zeros (the zeros were written, not left as holes)");
        }
    }

    /** Bytes the file takes on disk (st_blocks × 512), from stat(1). */
    private static long allocatedBytes(Path p) throws Exception {
        Process proc = new ProcessBuilder("stat", "-c", "%b %B", p.toString()).redirectErrorStream(true).start();
        String[] out = new String(proc.getInputStream().readAllBytes()).trim().split(" ");
        assertEquals(0, proc.waitFor(), String.join(" ", out));
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }

    @Test
    void aMissingChunkThatRepeatsFailsTheRestoreNamingItAndWritesNothing() throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Files.write(src.resolve("a.bin"), repetitive(2, 40, 3));
        Files.write(src.resolve("b.bin"), repetitive(2, 40, 3));
        CheckpointEntry e = save(src);
        Manifest m = store.manifest(e);
        String missing = m.files().get(0).chunks().get(1).key();
        objects.delete(missing);
        NotFoundException ex = assertThrows(NotFoundException.class, () -> store.restore(e, tmp.resolve("out"), List.of()));
        assertTrue(ex.getMessage().contains(missing) && ex.getMessage().contains(" of checkpoint " + e.id())
                && ex.getMessage().contains("is as it was"), ex.getMessage());
        assertTrue(TestDirs.snapshot(tmp.resolve("out")).isEmpty());
        assertFalse(Files.exists(tmp.resolve("out")), "the directory the restore created is gone");
    }

    /**
     * While the first chunk of the first file is held back, the chunks after it can only
     * be written, not hashed (the file's hash goes in order), so they wait holding their
     * permits: no more than maxChunksInFlight chunks are fetched, however many there are.
     * Released, the restore completes (nothing waits on a later chunk: no deadlock).
     */
    @Test
    void chunksInFlightStayBoundedWhileAnEarlierChunkIsSlowAndTheRestoreCompletes() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        byte[] data = new byte[60 * CHUNK];
        new Random(3).nextBytes(data);
        Files.write(src.resolve("big.bin"), data);
        Files.write(src.resolve("later.bin"), repetitive(4, 30, 30));
        CheckpointEntry e = save(src);
        Manifest m = store.manifest(e);
        CountingStore counting = new CountingStore(objects);
        counting.hold = m.files().get(0).chunks().get(0).key();
        int bound = Stores.config(clock).maxChunksInFlight();
        try (CheckpointStore s = Stores.open(counting, clock)) {
            Thread restore = new Thread(() -> s.restore(e, tmp.resolve("out"), List.of()));
            restore.start();
            Thread.sleep(500); // time enough for an unbounded restore to fetch far more
            assertTrue(counting.chunkGets.get() <= bound, counting.chunkGets.get() + " chunks fetched while the first"
                    + " is held, more than the " + bound + " allowed in flight");
            counting.release.countDown();
            restore.join(30_000);
            assertFalse(restore.isAlive(), "the restore finished");
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    /** A deep verify keeps chunks of later files in flight while an earlier file's chunk is slow. */
    @Test
    void deepVerifyOfManySmallFilesKeepsSeveralChunksInFlight() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Random rnd = new Random(8);
        for (int i = 0; i < 20; i++) {
            byte[] b = new byte[500];
            rnd.nextBytes(b);
            Files.write(src.resolve("f" + i), b);
        }
        CheckpointEntry e;
        // packing off: a chunk per file, so the window spans files (packs: PackedFilesTest)
        try (CheckpointStore unpacked = CheckpointStore.open(objects, Stores.config(clock).withPackBelow(0))) {
            e = unpacked.resolve(unpacked.save(unpacked.claimWriter("r"), SaveRequest.of(src, "r", 1)).checkpointId());
        }
        Manifest m = store.manifest(e);
        CountingStore counting = new CountingStore(objects);
        counting.hold = m.files().get(0).chunks().get(0).key();
        int bound = Stores.config(clock).maxChunksInFlight();
        try (CheckpointStore s = Stores.open(counting, clock)) {
            AtomicReference<VerifyReport> report = new AtomicReference<>();
            Thread verify = new Thread(() -> report.set(s.verify(dev.ckpt.store.VerifyRequest.deep())));
            verify.start();
            long until = System.nanoTime() + 10_000_000_000L;
            while (counting.chunkGets.get() < bound && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertEquals(bound, counting.chunkGets.get(), "chunks of the next files fetched while the first is held");
            counting.release.countDown();
            verify.join(30_000);
            assertFalse(verify.isAlive(), "the verify finished");
            assertTrue(report.get().ok(), report.get().problems().toString());
            assertEquals(20, report.get().chunksChecked());
        }
    }

    @Test
    void oneChunkInFlightStillRestoresRepeatsAcrossFiles() throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Files.write(src.resolve("a.bin"), repetitive(5, 50, 4));
        Files.write(src.resolve("b.bin"), repetitive(5, 50, 4));
        Files.write(src.resolve("empty"), new byte[0]);
        CheckpointEntry e = save(src);
        try (CheckpointStore s = CheckpointStore.open(objects, Stores.config(clock).withMaxChunksInFlight(1)
                .withParallelism(1).withIoConcurrency(1))) {
            s.restore(e, tmp.resolve("out"), List.of());
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    /**
     * A checkpoint of many small files keeps only about maxChunksInFlight temporaries open
     * at once (each is verified, flushed and closed as soon as its chunks are in), not one
     * per file until the end.
     */
    @Test
    void manySmallFilesKeepFewFilesOpen() throws IOException {
        Path fds = Path.of("/proc/self/fd");
        assumeTrue(Files.isDirectory(fds), "needs /proc/self/fd");
        Path src = tmp.resolve("src");
        Random rnd = new Random(6);
        for (int i = 0; i < 1500; i++) {
            byte[] b = new byte[100];
            rnd.nextBytes(b);
            Path p = src.resolve("d" + i % 7).resolve("f" + i);
            Files.createDirectories(p.getParent());
            Files.write(p, b);
        }
        CheckpointEntry e = save(src);
        long before = openFiles(fds);
        AtomicLong most = new AtomicLong();
        AtomicLong last = new AtomicLong();
        AtomicInteger calls = new AtomicInteger();
        TransferListener watch = (done, total) -> {
            if (calls.incrementAndGet() % 10 == 0) {
                most.accumulateAndGet(openFiles(fds), Math::max);
            }
            last.accumulateAndGet(done, Math::max);
        };
        store.restore(e, tmp.resolve("out"), List.of(), watch);
        assertEquals(150_000, last.get(), "progress reaches the total");
        assertTrue(most.get() - before < 100, "open files grew from " + before + " to " + most.get()
                + " during a restore of 1500 files");
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    private static long openFiles(Path fds) {
        try (Stream<Path> s = Files.list(fds)) {
            return s.count();
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * Chunks downloaded for a whole file are not hashed one by one: the file's SHA-256 covers
     * their bytes. A chunk object replaced by a valid zstd frame of other bytes of the same
     * length (so zstd's own checksum and the length check pass) must still fail the restore,
     * name that chunk (found by hashing the file's chunks once its hash failed), and write
     * nothing; a chunk that repeats is hash-checked when downloaded, so the error names it
     * as corrupt, not the disk that its later occurrence is read back from.
     */
    @Test
    void aChunkThatDecodesToOtherBytesFailsTheRestoreNamingItAndWritesNothing() throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        byte[] data = new byte[12 * CHUNK];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) ((i / 97) % 11 + i / CHUNK); // compressible, every chunk distinct
        }
        Files.write(src.resolve("a.bin"), data);
        // chunks 0-5 repeated: hash-checked when downloaded, then read back from a.bin's temporary
        Files.write(src.resolve("b.bin"), java.util.Arrays.copyOf(data, 6 * CHUNK));
        CheckpointEntry e = save(src);
        Manifest m = store.manifest(e);
        for (int k : new int[] {0, 5, 6, 11}) {
            dev.ckpt.store.chunk.ChunkRef c = m.files().get(0).chunks().get(k);
            assertEquals(dev.ckpt.store.chunk.Codec.ZSTD, c.codec(), "a compressed chunk: zstd's checksum passes");
            byte[] original = objects.get(c.key()).data();
            byte[] other = new byte[c.rawLength()];
            java.util.Arrays.fill(other, (byte) 7);
            objects.put(c.key(), com.github.luben.zstd.Zstd.compress(other, 1));
            CorruptObjectException ex = assertThrows(CorruptObjectException.class,
                    () -> store.restore(e, tmp.resolve("out"), List.of()), "chunk " + k);
            assertTrue(ex.getMessage().contains(c.key()) && ex.getMessage().contains("is corrupt")
                    && ex.getMessage().contains("file a.bin of checkpoint " + e.id())
                    && ex.getMessage().contains("is as it was") && ex.getMessage().contains("verify --read-data"), ex.getMessage());
            assertFalse(Files.exists(tmp.resolve("out")), "nothing written");
            objects.put(c.key(), original);
        }
        store.restore(e, tmp.resolve("out"), List.of());
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    @Test
    void aFileWhoseChunksAreRightButWhoseManifestHashIsNotIsRefused() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 7, 3, 40_000);
        CheckpointEntry e = save(src);
        String key = Manifest.keyOf(e.id());
        ObjectNode m = (ObjectNode) Json.MAPPER.readTree(objects.get(key).data());
        ObjectNode file = (ObjectNode) m.withArray("files").get(1);
        String wrong = "0".repeat(64);
        String path = file.get("path").asText();
        file.put("sha256", wrong);
        Tamper.replaceManifest(objects, e.id(), Json.MAPPER.writeValueAsBytes(m));
        try (CheckpointStore s = Stores.open(objects, clock)) {
            CorruptObjectException ex = assertThrows(CorruptObjectException.class,
                    () -> s.restore(e.id(), tmp.resolve("out")));
            assertTrue(ex.getMessage().contains(path) && ex.getMessage().contains(wrong)
                    && ex.getMessage().contains("every chunk of it matches its own hash"), ex.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("out")), "nothing written");
    }
}

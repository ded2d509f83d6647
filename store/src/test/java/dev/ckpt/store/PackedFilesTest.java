package dev.ckpt.store;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.StoredObject;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Small files are packed into shared chunks (docs/design.md, "Packs"): they round-trip byte
 * for byte, an unchanged set of small files deduplicates completely, one changed file
 * uploads one pack, a restore fetches each pack once, a corrupt pack fails the restore
 * naming it with nothing written, and GC keeps a packed checkpoint's packs and deletes a
 * dropped one's.
 */
class PackedFilesTest extends InMemoryFixture {
    private static final int THRESHOLD = StoreConfig.DEFAULT_PACK_BELOW;

    /** The test store with 1 MiB chunks (so packs reach their 1 MiB limit) and the default threshold. */
    private StoreConfig config() {
        return dev.ckpt.store.testing.Stores.config(clock).toBuilder().chunkSize(1 << 20).packBelow(THRESHOLD).build();
    }

    private CheckpointStore open(ObjectStore objects) {
        return CheckpointStore.open(objects, config());
    }

    /** Counts GETs per key. */
    private static class CountingStore extends ForwardingObjectStore {
        final Map<String, AtomicInteger> gets = new ConcurrentHashMap<>();
        final AtomicInteger chunkGets = new AtomicInteger();

        CountingStore(ObjectStore delegate) {
            super(delegate);
        }

        @Override
        public StoredObject get(String key) {
            gets.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            if (key.startsWith("chunks/")) {
                chunkGets.incrementAndGet();
            }
            return super.get(key);
        }
    }

    /** {@code n} files of 100 bytes in 10 directories, seeded. */
    private static void tinyFiles(Path dir, int n, long seed) throws IOException {
        tinyFiles(dir, n, seed, 100);
    }

    /** n files of {@code size} random bytes. Packs hold 256 KiB to 1 MiB: tests that need many packs use bigger files. */
    private static void tinyFiles(Path dir, int n, long seed, int size) throws IOException {
        Random rnd = new Random(seed);
        for (int i = 0; i < n; i++) {
            Path f = dir.resolve("d" + (i % 10)).resolve("f" + i + ".txt");
            Files.createDirectories(f.getParent());
            byte[] b = new byte[size];
            rnd.nextBytes(b);
            Files.write(f, b);
        }
    }

    private Set<String> chunkKeys() {
        Set<String> out = new HashSet<>();
        for (ObjectInfo o : objects.list("chunks/")) {
            out.add(o.key());
        }
        return out;
    }

    @Test
    void tenThousandTinyFilesEmptyFilesAFileAtTheThresholdAndBigFilesRestoreByteIdentical() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 10_000, 1);
        for (int i = 0; i < 5; i++) {
            Files.write(src.resolve("d" + i).resolve("empty" + i), new byte[0]);
        }
        Random rnd = new Random(2);
        byte[] at = new byte[THRESHOLD];
        rnd.nextBytes(at);
        Files.write(src.resolve("at-threshold.bin"), at);
        byte[] below = new byte[THRESHOLD - 1];
        rnd.nextBytes(below);
        Files.write(src.resolve("below-threshold.bin"), below);
        byte[] big = new byte[3 * (1 << 20) + 17];
        rnd.nextBytes(big);
        Files.write(src.resolve("d3/big.bin"), big);
        TestDirs.safetensors(src.resolve("small.safetensors"), 3, 10, 20);
        Map<String, byte[]> expected = TestDirs.snapshot(src);

        try (CheckpointStore s = open(objects)) {
            SaveResult r = s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1));
            assertEquals(10_000 + 5 + 4, r.files());
            Manifest m = s.manifest(s.resolve(r.checkpointId()));
            assertEquals(Manifest.FORMAT_SLICES, m.format(), "a manifest with packed files is format 3");
            Map<String, FileEntry> byPath = new HashMap<>();
            m.files().forEach(f -> byPath.put(f.path(), f));
            assertTrue(byPath.get("d0/f0.txt").packed());
            assertTrue(byPath.get("below-threshold.bin").packed() || byPath.get("below-threshold.bin").chunks().get(0)
                    .offset() == null, "below the threshold: packed (alone in its pack it is a whole chunk)");
            assertFalse(byPath.get("at-threshold.bin").packed(), "a file at the threshold is not packed");
            assertNull(byPath.get("at-threshold.bin").chunks().get(0).offset());
            assertFalse(byPath.get("small.safetensors").packed(), "safetensors files are never packed");
            assertTrue(byPath.get("d0/empty0").chunks().isEmpty(), "an empty file has no chunk");
            assertEquals(4, byPath.get("d3/big.bin").chunks().size());
            // 1 MB of tiny files: packs of 256 KiB to 1 MiB, a few objects instead of 10,000
            Set<String> packs = new HashSet<>();
            m.files().stream().filter(FileEntry::packed).forEach(f -> packs.add(f.chunks().get(0).hash()));
            assertTrue(packs.size() >= 1 && packs.size() <= 5, packs.size() + " packs for 1 MB of tiny files");
            assertEquals(m.chunks().size(), chunkKeys().size());

            RestoreResult back = s.restore(r.checkpointId(), tmp.resolve("out"));
            assertEquals(m.chunks().size(), back.chunksDownloaded(), "each pack downloaded once");
            TestDirs.assertSameTree(expected, tmp.resolve("out"));
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertTrue(v.ok(), v.problems().toString());
        }
    }

    @Test
    void unchangedSmallFilesDeduplicateCompletelyAndOneChangedFileUploadsOnePack() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 2_000, 3, 2048);
        try (CheckpointStore s = open(objects)) {
            WriterToken w = s.claimWriter("r");
            SaveResult first = s.save(w, SaveRequest.of(src, "r", 1));
            // 4 MB in packs of 256 KiB (then cut at a path hash) to 1 MiB
            assertTrue(first.newChunks() >= 4, "packs: " + first.newChunks());
            assertTrue(first.newChunks() <= 16, "packs, not one chunk per file: " + first.newChunks());

            SaveResult second = s.save(w, SaveRequest.of(src, "r", 2));
            assertEquals(0, second.newChunks(), "the same small files: the same packs");
            assertEquals(first.newChunks(), second.dedupChunks());

            Files.write(src.resolve("d7/f1007.txt"), new byte[2048]); // same size, other bytes
            SaveResult third = s.save(w, SaveRequest.of(src, "r", 3));
            assertEquals(1, third.newChunks(), "one changed file: one new pack");

            Files.write(src.resolve("d4/new.txt"), "added".getBytes(StandardCharsets.UTF_8));
            SaveResult fourth = s.save(w, SaveRequest.of(src, "r", 4));
            assertTrue(fourth.newChunks() >= 1 && fourth.newChunks() <= 2, "one added file: one or two new packs, got "
                    + fourth.newChunks());
            s.restore(fourth.checkpointId(), tmp.resolve("out"));
            TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
        }
    }

    @Test
    void aRestoreAndADeepVerifyFetchEachPackOnce() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 1_000, 4);
        Files.write(src.resolve("big.bin"), new byte[200_000]);
        CheckpointEntry e;
        Manifest m;
        try (CheckpointStore s = open(objects)) {
            SaveResult r = s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1));
            e = s.resolve(r.checkpointId());
            m = s.manifest(e);
        }
        CountingStore counting = new CountingStore(objects);
        try (CheckpointStore s = open(counting)) {
            RestoreResult r = s.restore(e, tmp.resolve("out"), List.of());
            for (String chunk : m.chunks()) {
                assertEquals(1, counting.gets.get(ChunkRef.keyOf(chunk)).get(), "GETs of pack " + chunk);
            }
            assertEquals(m.chunks().size(), counting.chunkGets.get(), "one GET per pack");
            assertEquals(m.chunks().size(), r.chunksDownloaded());
            TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));

            counting.chunkGets.set(0);
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertTrue(v.ok(), v.problems().toString());
            assertEquals(m.chunks().size(), counting.chunkGets.get(), "a deep verify reads each pack once too");
        }
    }

    @Test
    void aCorruptPackFailsTheRestoreNamingItAndWritesNothing() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 300, 5);
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        try (CheckpointStore s = open(objects)) {
            SaveResult r = s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1));
            Manifest m = s.manifest(s.resolve(r.checkpointId()));
            FileEntry packed = m.files().stream().filter(FileEntry::packed).skip(100).findFirst().orElseThrow();
            String key = packed.chunks().get(0).key();
            byte[] stored = objects.get(key).data();
            stored[stored.length / 2] ^= 0x40;
            objects.put(key, stored);

            Map<String, byte[]> before = TestDirs.snapshot(out);
            CorruptObjectException ex = assertThrows(CorruptObjectException.class, () -> s.restore(r.checkpointId(), out));
            assertTrue(ex.getMessage().contains(key) && ex.getMessage().contains("the pack of small files '")
                    && ex.getMessage().contains(" of checkpoint " + r.checkpointId())
                    && ex.getMessage().contains("is as it was"), ex.getMessage());
            TestDirs.assertSameTree(before, out);
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertFalse(v.ok());
            assertTrue(v.problems().stream().anyMatch(p -> p.key().equals(key)), v.problems().toString());
        }
    }

    @Test
    void gcKeepsTheLiveCheckpointsPacksAndDeletesTheDroppedOnes() throws IOException {
        Path a = tmp.resolve("a");
        tinyFiles(a, 500, 6);
        Path b = tmp.resolve("b");
        tinyFiles(b, 500, 7);
        try (CheckpointStore s = open(objects)) {
            WriterToken w = s.claimWriter("r");
            SaveResult ra = s.save(w, SaveRequest.of(a, "r", 1));
            Set<String> packsOfA = new HashSet<>();
            s.manifest(s.resolve(ra.checkpointId())).chunks().forEach(h -> packsOfA.add(ChunkRef.keyOf(h)));
            SaveResult rb = s.save(w, SaveRequest.of(b, "r", 2));
            Set<String> packsOfB = new HashSet<>();
            s.manifest(s.resolve(rb.checkpointId())).chunks().forEach(h -> packsOfB.add(ChunkRef.keyOf(h)));
            assertTrue(java.util.Collections.disjoint(packsOfA, packsOfB));

            s.forget(ForgetRequest.of(ra.checkpointId()));
            clock.advance(Duration.ofHours(2));
            s.gc(GcRequest.collect());
            Set<String> left = chunkKeys();
            assertTrue(left.containsAll(packsOfB), "the live checkpoint's packs stay");
            for (String k : packsOfA) {
                assertFalse(left.contains(k), "the dropped checkpoint's pack " + k + " is deleted");
            }
            s.restore(rb.checkpointId(), tmp.resolve("out"));
            TestDirs.assertSameTree(TestDirs.snapshot(b), tmp.resolve("out"));
        }
    }

    @Test
    void anUnchangedClaimOnAPackedFileReadsItAgainAndTheCheckpointRestores() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 100, 8);
        try (CheckpointStore s = open(objects)) {
            WriterToken w = s.claimWriter("r");
            SaveResult first = s.save(w, SaveRequest.of(src, "r", 1));
            Manifest m = s.manifest(s.resolve(first.checkpointId()));
            Map<String, FileEntry> unchanged = new HashMap<>();
            m.files().forEach(f -> unchanged.put(f.path(), f));
            SaveResult second = s.save(w, SaveRequest.of(src, "r", 2).withUnchanged(unchanged));
            assertEquals(0, second.newChunks());
            Manifest m2 = s.manifest(s.resolve(second.checkpointId()));
            assertEquals(m.files(), m2.files(), "the same packs and slices");
            s.restore(second.checkpointId(), tmp.resolve("out"));
            TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
        }
    }

    @Test
    void packingOffKeepsOneChunkPerFileAndFormat1() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 50, 9);
        try (CheckpointStore s = CheckpointStore.open(objects, config().withPackBelow(0))) {
            SaveResult r = s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1));
            Manifest m = s.manifest(s.resolve(r.checkpointId()));
            assertEquals(Manifest.FORMAT, m.format());
            assertEquals(50, m.chunks().size());
            assertFalse(m.files().stream().anyMatch(FileEntry::packed));
            assertNotNull(m);
        }
    }
    @Test
    void oneChunkInFlightStillRestoresPacksAmongBigAndEmptyFiles() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 400, 10);
        Files.write(src.resolve("d2/big.bin"), new byte[3 << 20]);
        Files.write(src.resolve("d5/empty"), new byte[0]);
        CheckpointEntry e;
        try (CheckpointStore s = open(objects)) {
            e = s.resolve(s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1)).checkpointId());
        }
        StoreConfig one = config().toBuilder().maxChunksInFlight(1).parallelism(1).ioConcurrency(1).build();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (CheckpointStore s = CheckpointStore.open(objects, one)) {
                s.restore(e, tmp.resolve("out"), List.of());
            }
        }, "a pack's run and its files need two permits: the restore keeps at least two, no deadlock");
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    /**
     * Packs are read on the I/O pool, several at once (docs/design.md, "Packs"): a file of a
     * later pack that changed after the scan fails the save naming it, with nothing committed,
     * and no read of the other packs hangs; with one I/O thread and one chunk in flight the
     * same files make the same packs as with many, and restore byte-identical.
     */
    @Test
    void aChangedFileInALaterPackIsRefusedByNameAndOneIoThreadMakesTheSamePacks() throws Exception {
        Path src = tmp.resolve("src");
        tinyFiles(src, 2_000, 12, 2048); // 4 MB: a dozen packs
        dev.ckpt.store.commit.SourceDir scan = CheckpointStore.scanSource(src);
        Path late = src.resolve("d9/f1999.txt");
        Files.write(late, new byte[2049]); // changed after the scan, in the last pack
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (CheckpointStore s = open(objects)) {
                WriterToken w = s.claimWriter("r");
                byte[] root = objects.get("ROOT").data();
                dev.ckpt.store.error.InvalidInputException e = assertThrows(
                        dev.ckpt.store.error.InvalidInputException.class,
                        () -> s.save(w, SaveRequest.of(src, "r", 1).withScan(scan)));
                assertTrue(e.getMessage().contains("file " + late + " changed") && e.getMessage().contains(
                        "nothing was committed"), e.getMessage());
                assertArrayEquals(root, objects.get("ROOT").data(), "nothing may be committed");
            }
        });

        Manifest many;
        try (CheckpointStore s = open(objects)) {
            many = s.manifest(s.resolve(s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 2)).checkpointId()));
        }
        StoreConfig one = config().toBuilder().maxChunksInFlight(1).parallelism(1).ioConcurrency(1).build();
        ObjectStore other = dev.ckpt.store.objectstore.ObjectStores.local(tmp.resolve("other"));
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (CheckpointStore s = CheckpointStore.open(other, one)) {
                SaveResult r = s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 2));
                Manifest m = s.manifest(s.resolve(r.checkpointId()));
                assertEquals(many.files(), m.files(), "the same packs, slices and file hashes");
                assertTrue(m.chunks().size() >= 8, m.chunks().size() + " packs");
                s.restore(r.checkpointId(), tmp.resolve("out"));
            }
        });
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    /**
     * A manifest whose pack members are interleaved (no writer does this, but the format
     * allows it) restores right: each of the two packs is fetched again for its second run.
     */
    @Test
    void interleavedMembersOfTwoPacksRestoreByteIdentical() throws IOException {
        Path src = tmp.resolve("src");
        tinyFiles(src, 400, 11, 4096);
        try (CheckpointStore s = open(objects)) {
            SaveResult r = s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1));
            String key = Manifest.keyOf(r.checkpointId());
            com.fasterxml.jackson.databind.node.ObjectNode m =
                    (com.fasterxml.jackson.databind.node.ObjectNode) dev.ckpt.store.manifest.Json.MAPPER.readTree(objects.get(key).data());
            com.fasterxml.jackson.databind.node.ArrayNode files = m.withArray("files");
            // move the first file of the second pack before the last file of the first pack
            String firstPack = files.get(0).get("chunks").get(0).get("hash").asText();
            int second = 0;
            while (files.get(second).get("chunks").get(0).get("hash").asText().equals(firstPack)) {
                second++;
            }
            assertTrue(second >= 2, "the first pack has at least two files");
            com.fasterxml.jackson.databind.JsonNode moved = files.remove(second);
            files.insert(second - 1, moved);
            dev.ckpt.store.testing.Tamper.replaceManifest(objects, r.checkpointId(),
                    dev.ckpt.store.manifest.Json.MAPPER.writeValueAsBytes(m));
        }
        CountingStore counting = new CountingStore(objects);
        try (CheckpointStore s = open(counting)) {
            CheckpointEntry e = s.resolve("r@1");
            Manifest m = s.manifest(e);
            s.restore(e, tmp.resolve("out"), List.of());
            String firstPack = m.files().get(0).chunks().get(0).key();
            assertEquals(2, counting.gets.get(firstPack).get(), "two runs of the first pack: two fetches");
            assertEquals(m.chunks().size() + 2, counting.chunkGets.get(), "and two of the second, whose first file"
                    + " came before the first pack's last one; every other pack once");
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }
    /** A pack that a GC deleted while the save was in flight is re-uploaded from all its files before the commit. */
    @Test
    void aCommitReuploadsAPackThatAGcDeletedFromItsFiles() throws IOException {
        Path shared = tmp.resolve("shared");
        tinyFiles(shared, 300, 12, 4096);
        try (CheckpointStore s = open(objects); CheckpointStore other = open(objects)) {
            WriterToken a = s.claimWriter("a");
            s.save(a, SaveRequest.of(shared, "a", 1).withRetention(dev.ckpt.store.commit.Retention.keepLast(1)));
            WriterToken b = other.claimWriter("b");
            java.util.concurrent.atomic.AtomicBoolean raced = new java.util.concurrent.atomic.AtomicBoolean();
            // when b writes its manifest (every pack deduplicated against a's checkpoint), a drops
            // that checkpoint and a GC deletes its packs
            objects.inject(dev.ckpt.store.objectstore.FaultInjectingObjectStore.Op.PUT_IF_ABSENT, k -> {
                if (k.startsWith("manifests/b-") && raced.compareAndSet(false, true)) {
                    Path small = tmp.resolve("small");
                    try {
                        tinyFiles(small, 1, 13);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    s.save(a, SaveRequest.of(small, "a", 2).withRetention(dev.ckpt.store.commit.Retention.keepLast(1)));
                    clock.advance(Duration.ofHours(2));
                    GcResult gc = s.gc(GcRequest.collect());
                    assertTrue(gc.deletedKeys().stream().filter(x -> x.startsWith("chunks/")).count() >= 2, gc.toString());
                }
                return false;
            }, dev.ckpt.store.objectstore.FaultInjectingObjectStore.Fault.ERROR_BEFORE, 0);
            SaveResult r = other.save(b, SaveRequest.of(shared, "b", 1));
            assertTrue(raced.get());
            assertEquals(0, r.newChunks(), "every pack was deduplicated at upload time");
            Manifest m = other.manifest(other.resolve(r.checkpointId()));
            assertEquals(m.chunks().size(), r.reuploadedChunks(), "the commit re-uploaded every pack the GC deleted");
            assertTrue(other.verify(VerifyRequest.deep().withCheckpoints(List.of(r.checkpointId()))).ok());
            other.restore(r.checkpointId(), tmp.resolve("out"));
            TestDirs.assertSameTree(TestDirs.snapshot(shared), tmp.resolve("out"));
        }
    }
    /**
     * While the first pack's GET is held, the restore goes on fetching the next packs (one
     * permit per pack, not per member file): with 4 permits and packs of about 16 files,
     * giving every member a permit kept one pack in flight.
     */
    @Test
    void packsAreFetchedSeveralAtOnceWhileAnEarlierOneIsSlow() throws Exception {
        Path src = tmp.resolve("src");
        tinyFiles(src, 2_000, 14, 4096);
        CheckpointEntry e;
        Manifest m;
        try (CheckpointStore s = open(objects)) {
            e = s.resolve(s.save(s.claimWriter("r"), SaveRequest.of(src, "r", 1)).checkpointId());
            m = s.manifest(e);
        }
        String first = m.files().get(0).chunks().get(0).key();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        CountingStore counting = new CountingStore(objects) {
            @Override
            public StoredObject get(String key) {
                StoredObject o = super.get(key);
                if (key.equals(first)) {
                    try {
                        release.await(30, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                }
                return o;
            }
        };
        int permits = config().maxChunksInFlight();
        try (CheckpointStore s = open(counting)) {
            Thread restore = new Thread(() -> s.restore(e, tmp.resolve("out"), List.of()));
            restore.start();
            long until = System.nanoTime() + 10_000_000_000L;
            while (counting.chunkGets.get() < permits && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            int inFlight = counting.chunkGets.get();
            release.countDown();
            restore.join(60_000);
            assertFalse(restore.isAlive());
            assertTrue(inFlight >= permits, inFlight + " packs fetched while the first is held; at least one per permit");
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }
}

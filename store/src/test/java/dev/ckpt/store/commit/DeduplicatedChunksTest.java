package dev.ckpt.store.commit;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * helper-108: a chunk object removed from the store by something other than ckpt's GC (an
 * operator, a bucket lifecycle rule) that every live checkpoint shared was deduplicated
 * against by every later save, which committed checkpoints that could not be restored. A save
 * now looks (HEAD) at each chunk it deduplicated against without writing or reading it, once
 * per process, and writes a missing or damaged one again before it commits.
 */
class DeduplicatedChunksTest {
    @TempDir
    Path tmp;

    /**
     * "deleted": the object is gone; "truncated": it is there, shorter than recorded. Both, from the reader and from
     * the unchanged-file path; with 2 files (a HEAD per chunk) and 12 (one listing of chunks/).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"deleted, 2", "truncated, 2", "deleted unchanged, 2", "truncated unchanged, 2",
            "deleted, 12", "truncated, 12", "deleted unchanged, 12", "truncated unchanged, 12",
            "empty, 2", "empty unchanged, 12", "appended, 12", "appended unchanged, 2", "oversized, 2", "oversized, 12"})
    void aMissingOrTruncatedChunkIsWrittenAgainByTheNextSaveThatReferencesIt(String how, int files) throws Exception {
        Path storeDir = tmp.resolve("store");
        Path data = TestDirs.checkpoint(tmp.resolve("data"), 1, files, 300_000);
        String damaged;
        Manifest first;
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults())) {
            s.init();
            s.save(s.claimWriter("r"), SaveRequest.of(data, "r", 1));
            first = s.manifest(s.resolve("r@1"));
            damaged = first.chunkRefs().keySet().iterator().next();
        }
        Path object = storeDir.resolve(ChunkRef.keyOf(damaged));
        if (how.startsWith("deleted")) {
            Files.delete(object);
        } else if (how.startsWith("oversized")) { // helper-110: a 3 GiB object ran the save out of memory (sparse here)
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(object.toFile(), "rw")) {
                f.setLength(3L << 30);
            }
        } else if (how.startsWith("empty")) { // helper-110: an empty object failed every save ("Array index out of range")
            Files.write(object, new byte[0]);
        } else if (how.startsWith("appended")) { // a zstd skippable frame after the chunk's: it decodes, at another size
            Files.write(object, new byte[] {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'A', 'B', 'C', 'D'},
                    java.nio.file.StandardOpenOption.APPEND);
        } else {
            byte[] b = Files.readAllBytes(object);
            Files.write(object, java.util.Arrays.copyOf(b, b.length / 2));
        }
        SaveResult r;
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults())) {
            SaveRequest req = SaveRequest.of(data, "r", 2);
            if (how.endsWith("unchanged")) { // the trainer's frozen block: files taken from the last checkpoint unread
                req = req.withUnchanged(first.files().stream().collect(Collectors.toMap(FileEntry::path, Function.identity())));
            }
            r = s.save(s.claimWriter("r"), req);
            assertEquals(1, r.newChunks(), "the chunk written again, and nothing else: " + r);
        }
        assertEquals(List.of(ChunkRef.keyOf(damaged)), r.repairedChunks());
        String note = r.repairNote("/data/my store");
        assertTrue(note.startsWith("warning: 1 chunk object that live checkpoints reference was missing or damaged in"
                + " /data/my store (" + ChunkRef.keyOf(damaged) + "); this save wrote it again as the checkpoints record it,"
                + " so checkpoint " + r.checkpointId() + " and the earlier ones that reference it are whole again.")
                && note.endsWith("ckpt-tool verify '/data/my store' checks that every checkpoint's objects are there"), note);
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults())) {
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertTrue(v.ok(), v.toString()); // step 1 is whole again too: the object was written as it records it
            for (String step : new String[] {"r@1", "r@2"}) {
                Path out = tmp.resolve("out-" + step.replace('@', '-'));
                s.restore(s.resolve(step), out, List.of());
                for (String f : List.of("sub/file0.bin", "file1.bin")) {
                    assertArrayEquals(Files.readAllBytes(data.resolve(f)), Files.readAllBytes(out.resolve(f)), step + " " + f);
                }
            }
        }
    }

    /**
     * The look costs one HEAD per deduplicated chunk (up to 8) or one listing of chunks/ (more), once per process: a
     * second save of the same data sends neither.
     */
    @ParameterizedTest(name = "{0} files")
    @ValueSource(ints = {2, 12})
    void theLookIsOneHeadPerDeduplicatedChunkOrOneListingOncePerProcess(int files) throws Exception {
        Path data = TestDirs.checkpoint(tmp.resolve("data"), 1, files, 300_000);
        FaultInjectingObjectStore objects = new FaultInjectingObjectStore(ObjectStores.local(tmp.resolve("store")));
        int chunks;
        try (CheckpointStore s = CheckpointStore.open(objects, StoreConfig.defaults())) {
            s.init();
            WriterToken w = s.claimWriter("r");
            s.save(w, SaveRequest.of(data, "r", 1));
            chunks = s.manifest(s.resolve("r@1")).chunkRefs().size();
        }
        try (CheckpointStore s = CheckpointStore.open(objects, StoreConfig.defaults())) {
            WriterToken w = s.claimWriter("r");
            objects.resetCounts();
            s.save(w, SaveRequest.of(data, "r", 2));
            long firstHeads = objects.count(FaultInjectingObjectStore.Op.HEAD);
            long firstLists = objects.count(FaultInjectingObjectStore.Op.LIST);
            objects.resetCounts();
            s.save(w, SaveRequest.of(data, "r", 3));
            long secondHeads = objects.count(FaultInjectingObjectStore.Op.HEAD);
            long secondLists = objects.count(FaultInjectingObjectStore.Op.LIST);
            assertTrue(files == 2 ? chunks > 1 && chunks <= 8 : chunks > 8, "chunks: " + chunks);
            assertEquals(Map.of("heads", files == 2 ? (long) chunks : 0L, "extra listings", files == 2 ? 0L : 1L),
                    Map.of("heads", firstHeads, "extra listings", firstLists - secondLists));
            assertEquals(0, secondHeads);
        }
    }

    /**
     * A missing chunk that a save would write again at another compression level is refused, and nothing is written:
     * at another length the object would disagree with the checkpoints that record it, and the next save, reading
     * their record, would write it back over (helper-111: the object flipped between two lengths with every save,
     * damaging the checkpoints recorded in between).
     */
    @Test
    void aChunkThatWouldBeWrittenAgainAtAnotherLevelIsRefused() throws Exception {
        Path storeDir = tmp.resolve("store");
        Path text = TestDirs.compressibleText(tmp.resolve("text"), 40_000);
        ChunkRef recorded;
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults().withCompressionLevel(1))) {
            s.init();
            s.save(s.claimWriter("r"), SaveRequest.of(text, "r", 1));
            recorded = s.manifest(s.resolve("r@1")).chunkRefs().values().iterator().next();
        }
        Files.delete(storeDir.resolve(recorded.key()));
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults().withCompressionLevel(19))) {
            dev.ckpt.store.error.CorruptObjectException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.ckpt.store.error.CorruptObjectException.class, () -> s.save(s.claimWriter("r"), SaveRequest.of(text, "r", 2)));
            assertTrue(e.getMessage().startsWith("chunk object " + recorded.key() + " in ") && e.getMessage().contains(
                    " is missing, and this save encodes it otherwise than the checkpoints that reference it record"
                    + " (another compression setting)") && e.getMessage().contains("nothing was committed"), e.getMessage());
            assertEquals(1, s.list("r").size(), "nothing committed");
        }
        assertTrue(!Files.exists(storeDir.resolve(recorded.key())), "nothing written");
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults().withCompressionLevel(1))) {
            SaveResult r = s.save(s.claimWriter("r"), SaveRequest.of(text, "r", 2)); // at the recorded level: repaired
            assertEquals(List.of(recorded.key()), r.repairedChunks());
            assertEquals(recorded.storedLength(), Files.size(storeDir.resolve(recorded.key())));
            assertTrue(s.verify(VerifyRequest.deep()).ok());
        }
    }

    /**
     * Objects in a chunk's place that no live checkpoint references (the save's own write finds them): one larger
     * than any encoding of the chunk is written over without being read (helper-111: a 3 GiB one ran every save out
     * of memory); a symbolic link to a file of the chunk's size is no object (helper-111: it was taken as the chunk).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"oversized, not live", "symlink"})
    void anOversizedObjectOrALinkInAChunksPlaceIsWrittenOver(String how) throws Exception {
        Path storeDir = tmp.resolve("store");
        Path data = TestDirs.checkpoint(tmp.resolve("data"), 1, 2, 300_000);
        ChunkRef ref;
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults())) {
            s.init();
            s.save(s.claimWriter("r"), SaveRequest.of(data, "r", 1));
            ref = s.manifest(s.resolve("r@1")).chunkRefs().values().iterator().next();
            if (how.endsWith("not live")) {
                s.forget(dev.ckpt.store.ForgetRequest.of(List.of("r@1")));
            }
        }
        Path object = storeDir.resolve(ref.key());
        if (how.startsWith("oversized")) {
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(object.toFile(), "rw")) {
                f.setLength(3L << 30);
            }
        } else {
            Path elsewhere = Files.write(tmp.resolve("same-size"), new byte[ref.storedLength()]);
            Files.delete(object);
            Files.createSymbolicLink(object, elsewhere);
        }
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults())) {
            s.save(s.claimWriter("r"), SaveRequest.of(data, "r", 2));
            assertTrue(Files.isRegularFile(object, java.nio.file.LinkOption.NOFOLLOW_LINKS), how);
            assertEquals(ref.storedLength(), Files.size(object));
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertTrue(v.ok(), v.toString());
            s.restore(s.resolve("r@2"), tmp.resolve("out"), List.of());
            assertArrayEquals(Files.readAllBytes(data.resolve("file1.bin")), Files.readAllBytes(tmp.resolve("out/file1.bin")));
        }
    }
}

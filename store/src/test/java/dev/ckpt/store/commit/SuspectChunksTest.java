package dev.ckpt.store.commit;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * helper-106: a trainer whose resume fell back past a corrupt chunk trained the same steps
 * again, bit-exact, and its save deduplicated against that chunk (a live checkpoint
 * references it), committing a checkpoint that could not be restored. A chunk a restore found
 * corrupt or missing is now written again by the next save of the same store, which repairs
 * the object: both checkpoints restore, and verify finds nothing.
 */
class SuspectChunksTest {
    @TempDir
    Path tmp;

    /** One bad chunk, and two: a restore stops at the first, so the second was reused (helper-108). */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0} bad chunk(s)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void aChunkARestoreFoundCorruptIsWrittenAgainByTheNextSave(int bad) throws Exception {
        ObjectStore objects = ObjectStores.local(tmp.resolve("store"));
        Path one = TestDirs.checkpoint(tmp.resolve("one"), 1, 2, 100_000);
        Path two = TestDirs.checkpoint(tmp.resolve("two"), 2, 2, 100_000);
        try (CheckpointStore s = CheckpointStore.open(objects, StoreConfig.defaults())) {
            s.init();
            WriterToken w = s.claimWriter("r");
            s.save(w, SaveRequest.of(one, "r", 1));
            SaveResult second = s.save(w, SaveRequest.of(two, "r", 2));
            // chunks only step 2 holds, damaged in place
            Set<String> ofOne = s.manifest(s.resolve("r@1")).chunkRefs().keySet();
            List<String> damaged = s.manifest(s.resolve(second.checkpointId())).chunkRefs().keySet().stream()
                    .filter(h -> !ofOne.contains(h)).limit(bad).toList();
            assertEquals(bad, damaged.size());
            for (String h : damaged) {
                Path object = tmp.resolve("store").resolve(dev.ckpt.store.chunk.ChunkRef.keyOf(h));
                byte[] bytes = Files.readAllBytes(object);
                bytes[bytes.length / 2] ^= 0x40;
                Files.write(object, bytes);
            }

            RestoreResult r = s.restoreLatestGood("r", tmp.resolve("resumed"), List.of());
            assertEquals(1, r.fallbacks().size(), r.fallbacks().toString());
            assertTrue(damaged.stream().anyMatch(h -> r.fallbacks().get(0).contains(h)), r.fallbacks().toString());
            // the same bytes saved again (a bit-exact retrain of step 2, as step 3 here)
            SaveResult again = s.save(w, SaveRequest.of(two, "r", 3));
            assertTrue(again.newChunks() >= bad, "the damaged chunks were uploaded again: " + again);
        }
        try (CheckpointStore s = CheckpointStore.open(objects, StoreConfig.defaults())) {
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertTrue(v.ok(), v.toString());
            for (String step : new String[] {"r@2", "r@3"}) {
                Path out = tmp.resolve("out-" + step.replace('@', '-'));
                s.restore(s.resolve(step), out, List.of());
                for (String f : List.of("sub/file0.bin", "file1.bin")) {
                    assertArrayEquals(Files.readAllBytes(two.resolve(f)), Files.readAllBytes(out.resolve(f)), step + " " + f);
                }
            }
            assertEquals(List.of(1L, 2L, 3L), s.list("r").stream().map(CheckpointEntry::step).toList());
        }
    }

    /**
     * A save that would write a suspect chunk in another encoding than the live checkpoints record for it (another
     * compression level) does not write it over: they would read it as recorded and fail. It refuses, saying why,
     * and the store is as it was.
     */
    @Test
    void aSuspectChunkIsNotWrittenOverInAnotherEncodingThanItsCheckpointsRecord() throws Exception {
        ObjectStore objects = ObjectStores.local(tmp.resolve("store"));
        Path text = TestDirs.compressibleText(tmp.resolve("text"), 20_000);
        String bad;
        try (CheckpointStore s = CheckpointStore.open(objects, StoreConfig.defaults().withCompressionLevel(1).withPackBelow(0))) {
            s.init();
            WriterToken w = s.claimWriter("r");
            s.save(w, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("one"), 1, 1, 10_000), "r", 1));
            SaveResult two = s.save(w, SaveRequest.of(text, "r", 2));
            bad = s.manifest(s.resolve(two.checkpointId())).chunkRefs().keySet().iterator().next();
        }
        Path object = tmp.resolve("store").resolve(dev.ckpt.store.chunk.ChunkRef.keyOf(bad));
        byte[] bytes = Files.readAllBytes(object);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(object, bytes);
        try (CheckpointStore s = CheckpointStore.open(objects, StoreConfig.defaults().withCompressionLevel(19).withPackBelow(0))) {
            WriterToken w = s.claimWriter("r");
            assertEquals(1, s.restoreLatestGood("r", tmp.resolve("resumed"), List.of()).fallbacks().size());
            dev.ckpt.store.error.CorruptObjectException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.ckpt.store.error.CorruptObjectException.class, () -> s.save(w, SaveRequest.of(text, "r", 3)));
            assertTrue(e.getMessage().contains("this save encodes it otherwise than the checkpoints that reference it"
                    + " record"), e.getMessage());
        }
        assertArrayEquals(bytes, Files.readAllBytes(object), "not written over");
    }
}

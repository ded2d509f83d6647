package dev.ckpt.store;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.ReadOnlyStoreException;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A local store opened read-only (the seam; CkptToolReadOnlyMountTest uses a real read-only
 * mount): everything that only reads works, every write is refused naming the store, and
 * nothing in the directory changes.
 */
class ReadOnlyStoreTest {
    @TempDir
    Path tmp;
    final FakeClock clock = new FakeClock();

    private String populate(Path dir) {
        try (CheckpointStore s = Stores.open(ObjectStores.local(dir), clock)) {
            WriterToken w = s.claimWriter("r");
            s.save(w, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("src1"), 1, 3, 40_000), "r", 1));
            SaveResult r = s.save(w, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("src2"), 2, 3, 40_000), "r", 2));
            return r.checkpointId();
        }
    }

    @Test
    void everyReadWorksAndEveryWriteIsRefusedNamingTheStore() {
        Path dir = tmp.resolve("store");
        String id = populate(dir);
        Map<String, byte[]> before = TestDirs.snapshot(dir);
        ObjectStore objects = ObjectStores.localReadOnly(dir);
        assertEquals("opened read-only", ObjectStores.readOnlyReason(objects).orElseThrow());
        try (CheckpointStore s = Stores.open(objects, clock)) {
            assertEquals(2, s.list("r").size());
            assertEquals(id, s.resolve("r:latest").id());
            s.manifest(s.resolve(id));
            s.init(); // idempotent: ROOT exists, nothing to write
            s.restore(id, tmp.resolve("out"));
            TestDirs.assertSameTree(TestDirs.snapshot(tmp.resolve("src2")), tmp.resolve("out"));
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertTrue(v.ok(), v.toString());
            GcResult dry = s.gc(GcRequest.preview());
            assertEquals(List.of(), dry.deletedKeys(), dry.toString());

            byte[] b = "x".getBytes(StandardCharsets.UTF_8);
            String where = objects.describe();
            for (Executable write : List.<Executable>of(
                    () -> s.claimWriter("r"),
                    () -> s.pin(id, true),
                    () -> s.forget(ForgetRequest.of(List.of(id))),
                    () -> s.recordVerified(List.of(id)),
                    () -> s.gc(GcRequest.collect()),
                    () -> objects.put("scratch", b),
                    () -> objects.putIfAbsent("scratch", b, 0, b.length),
                    () -> objects.putIfMatch("ROOT", b, objects.head("ROOT").orElseThrow().etag()),
                    () -> objects.delete("ROOT"))) {
                ReadOnlyStoreException e = assertThrows(ReadOnlyStoreException.class, write);
                assertTrue(e.getMessage().startsWith("store " + where + " is read-only (opened read-only): cannot "),
                        e.getMessage());
            }
        }
        TestDirs.assertSameTree(before, dir);
    }

    @Test
    void aReadOnlyStoreThatDoesNotExistIsNotCreated() {
        Path dir = tmp.resolve("missing");
        var e = assertThrows(dev.ckpt.store.error.BadConfigurationException.class, () -> ObjectStores.localReadOnly(dir));
        assertTrue(e.getMessage().contains("no store at " + dir) && e.getMessage().contains("does not exist"), e.getMessage());
        assertTrue(!java.nio.file.Files.exists(dir));
    }

    /**
     * A store whose path is longer than the system takes is said to be so, not "does not exist"
     * (helper-127: an existing one was "no store at ...").
     */
    @Test
    void aStoreWhosePathIsTooLongIsSaidToBe() throws Exception {
        try (dev.ckpt.store.testing.TestDirs.LongPath deep = dev.ckpt.store.testing.TestDirs.longPath(tmp,
                lower -> ObjectStores.local(lower.resolve("store")).close())) {
            Path store = deep.deepest().resolve("store");
            var e = assertThrows(dev.ckpt.store.error.BadConfigurationException.class, () -> ObjectStores.localReadOnly(store));
            assertTrue(e.getMessage().contains("bytes long, and the system takes at most 4095: use a shorter path")
                    && !e.getMessage().contains("does not exist"), e.getMessage());
        }
    }
}

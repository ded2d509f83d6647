package dev.ckpt.store;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.gc.GarbageCollector;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.objectstore.Leftovers;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GC removes the temporary files that writers killed mid-write left in a local store (which
 * no listing shows, so no mark ever finds): only those older than the longer of its grace age
 * and {@link GarbageCollector#LEFTOVER_AGE}, reported apart from objects; a dry run finds the
 * same and removes nothing.
 */
class GcLeftoversTest {
    @TempDir
    Path tmp;

    private static java.util.Set<Path> temporaries(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).collect(java.util.stream.Collectors.toSet());
        }
    }

    /** Two temporaries beside chunk keys, as a writer killed between writing and renaming leaves them. */
    private static java.util.Set<Path> plantLeftovers(Path dir) throws Exception {
        java.util.Set<Path> planted = new java.util.HashSet<>();
        for (String fanOut : new String[]{"00", "ff"}) {
            Path p = dir.resolve("chunks").resolve(fanOut).resolve(".tmp-" + java.util.UUID.randomUUID());
            Files.createDirectories(p.getParent());
            Files.write(p, new byte[1000]);
            planted.add(p);
        }
        return planted;
    }

    @Test
    void gcRemovesLeftoversOlderThanAnHourEvenWithGraceZeroAndSaysSo() throws Exception {
        Path dir = tmp.resolve("store");
        FakeClock clock = new FakeClock(Instant.now());
        ObjectStore objects = ObjectStores.local(dir);
        CheckpointStore store = CheckpointStore.open(objects, Stores.config(clock).withGcGrace(Duration.ZERO));
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 3, 40_000);
        SaveResult saved = store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1));
        java.util.Set<Path> planted = plantLeftovers(dir);

        GcResult young = store.gc(GcRequest.collect());
        assertEquals(Leftovers.NONE, young.leftovers(), "grace 0, but a temporary under an hour old may be a write in progress");
        assertEquals(planted, temporaries(dir));

        clock.advance(GarbageCollector.LEFTOVER_AGE.plusMinutes(1));
        GcResult dry = store.gc(GcRequest.preview());
        assertEquals(new Leftovers(2, 2000), dry.leftovers());
        assertEquals(planted, temporaries(dir), "a dry run removes nothing");
        List<String> progress = new ArrayList<>();
        GcResult real = store.gc(GcRequest.collect().withProgress(progress::add));
        assertEquals(new Leftovers(2, 2000), real.leftovers());
        assertTrue(real.deletedKeys().isEmpty(), "leftovers are no objects: " + real.deletedKeys());
        assertTrue(progress.contains("removed 2 temporary files of writes interrupted over 1h ago"), progress.toString());
        assertEquals(java.util.Set.of(), temporaries(dir));
        assertTrue(store.verify(VerifyRequest.deep()).ok());
        store.restore(saved.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    @Test
    void aGraceLongerThanAnHourSparesLeftoversYoungerThanIt() throws Exception {
        Path dir = tmp.resolve("store");
        FakeClock clock = new FakeClock(Instant.now());
        CheckpointStore store = CheckpointStore.open(ObjectStores.local(dir),
                Stores.config(clock).withGcGrace(Duration.ofHours(3)));
        store.save(store.claimWriter("r"), SaveRequest.of(TestDirs.checkpoint(tmp.resolve("src"), 3, 1, 1000), "r", 1));
        java.util.Set<Path> planted = plantLeftovers(dir);
        clock.advance(Duration.ofHours(2));
        assertEquals(Leftovers.NONE, store.gc(GcRequest.collect()).leftovers());
        assertEquals(planted, temporaries(dir));
        clock.advance(Duration.ofHours(2));
        assertEquals(new Leftovers(2, 2000), store.gc(GcRequest.collect()).leftovers());
        assertEquals(java.util.Set.of(), temporaries(dir));
    }

    /**
     * The conditional-write probe's scratch objects, left by a probe interrupted before it
     * deleted them (a push or doctor stopped at its first write), are removed once over an hour
     * old and counted with the leftovers; a young one may be a probe at work and stays.
     */
    @Test
    void gcRemovesTheScratchObjectsOfAnInterruptedProbeOnceAnHourOld() throws Exception {
        Path dir = tmp.resolve("store");
        FakeClock clock = new FakeClock(Instant.now());
        ObjectStore objects = ObjectStores.local(dir);
        CheckpointStore store = CheckpointStore.open(objects, Stores.config(clock).withGcGrace(Duration.ZERO));
        SaveResult saved = store.save(store.claimWriter("r"), SaveRequest.of(
                TestDirs.checkpoint(tmp.resolve("src"), 2, 2, 10_000), "r", 1));
        String probe = dev.ckpt.store.objectstore.ConditionalWriteProbe.PREFIX + "0123456789abcdef";
        objects.put(probe, new byte[]{1, 2, 3});
        List<String> notTheProbes = List.of("probe/nested/userkey", "probe/notes.txt", "probe/0123456789ABCDEF");
        for (String k : notTheProbes) {
            objects.put(k, new byte[]{9});
        }

        assertEquals(Leftovers.NONE, store.gc(GcRequest.collect()).leftovers(), "under an hour old: a probe at work");
        assertTrue(objects.head(probe).isPresent());
        clock.advance(GarbageCollector.LEFTOVER_AGE.plusMinutes(1));
        assertEquals(new Leftovers(1, 3), store.gc(GcRequest.preview()).leftovers());
        assertTrue(objects.head(probe).isPresent(), "a dry run removes nothing");
        GcResult real = store.gc(GcRequest.collect());
        assertEquals(new Leftovers(1, 3), real.leftovers());
        assertTrue(objects.head(probe).isEmpty());
        for (String k : notTheProbes) {
            assertTrue(objects.head(k).isPresent(), "not a key the probe writes: " + k);
        }
        assertTrue(store.verify(VerifyRequest.deep()).ok());
        store.restore(saved.checkpointId(), tmp.resolve("out"));
    }
}

package dev.ckpt.store;

import dev.ckpt.store.objectstore.MemoryStores;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.SimulatedCrash;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A crash before and after every object write of a save (claim, chunks, manifest,
 * commit) and of a GC (lease, record, seal, deletes, renewals, finish) leaves every
 * committed checkpoint restorable byte for byte and no checkpoint half-visible; the next
 * save and GC then succeed.
 */
class CrashTest {
    @TempDir
    Path tmp;

    /** A world: the shared store, its clock, and the source of every checkpoint ever saved (by step). */
    private final class World {
        final FakeClock clock = new FakeClock();
        final ObjectStore base = MemoryStores.inMemory(clock);
        final Map<Long, Path> sources = new HashMap<>();
        final Path dir;

        World(String name) {
            dir = tmp.resolve(name);
        }

        Path source(long step) {
            return sources.computeIfAbsent(step, s -> TestDirs.checkpoint(dir.resolve("src" + s), 1000 + s, 3, 20_000));
        }

        SaveResult save(CheckpointStore store, WriterToken w, long step) {
            return store.save(w, SaveRequest.of(source(step), "r", step).withRetention(Retention.keepLast(2)));
        }

        /** Every checkpoint in ROOT restores to exactly the files it was saved from. */
        void assertAllCommittedRestorable(String when) {
            try (CheckpointStore s = Stores.open(base, clock)) {
                for (CheckpointEntry e : s.list(null)) {
                    Path out = dir.resolve("restore-" + e.id() + "-" + System.nanoTime());
                    try {
                        s.restore(e, out, java.util.List.of());
                    } catch (RuntimeException ex) {
                        fail(when + ": committed checkpoint " + e.id() + " cannot be restored: " + ex.getMessage(), ex);
                    }
                    TestDirs.assertSameTree(TestDirs.snapshot(sources.get(e.step())), out);
                }
                assertTrue(s.verify(VerifyRequest.deep()).ok(), when + ": deep verify");
            }
        }

        /** A fresh process: new writer epoch, one more save, then a GC once leases and grace have passed. */
        void recoverAndContinue(String when, long nextStep) {
            clock.advance(Duration.ofMinutes(10)); // any lease of the crashed process has expired
            try (CheckpointStore s = Stores.open(base, clock)) {
                WriterToken w = s.claimWriter("r");
                save(s, w, nextStep);
                clock.advance(Duration.ofHours(2));
                s.gc(GcRequest.collect());
                assertEquals(GcState.Phase.IDLE, s.root().gc().phase(), when);
                assertEquals(0, s.gc(GcRequest.preview()).deletedKeys().size(), when + ": a finished GC leaves no old garbage");
            }
            assertAllCommittedRestorable(when + ", after recovery");
        }
    }

    private void crashEverywhere(String what, Function<World, Runnable> prepare) {
        // Count the writes of a clean run first.
        World clean = new World(what + "-clean");
        Runnable cleanOp = prepare.apply(clean);
        FaultInjectingObjectStore counter = new FaultInjectingObjectStore(clean.base);
        Holder.faults = counter;
        cleanOp.run();
        long writes = counter.writes();
        assertTrue(writes >= 5, what + " makes several writes: " + writes);
        int scenarios = 0;
        for (long i = 0; i < writes; i++) {
            for (boolean after : new boolean[]{false, true}) {
                String when = what + ": crash " + (after ? "after" : "before") + " write #" + i + " of " + writes;
                World w = new World(what + "-" + i + "-" + after);
                Runnable op = prepare.apply(w);
                FaultInjectingObjectStore faults = new FaultInjectingObjectStore(w.base).crashAtWrite(i, after);
                Holder.faults = faults;
                assertThrows(SimulatedCrash.class, op::run, when);
                w.assertAllCommittedRestorable(when);
                w.recoverAndContinue(when, 100);
                scenarios++;
            }
        }
        assertEquals(2 * writes, scenarios);
    }

    /** The faulty view of the store that the operation under test uses. */
    private static final class Holder {
        static FaultInjectingObjectStore faults;
    }

    @Test
    void crashAtEveryWriteOfSaveAndCommit() {
        crashEverywhere("save", w -> {
            try (CheckpointStore s = Stores.open(w.base, w.clock)) {
                WriterToken t = s.claimWriter("r");
                w.save(s, t, 1);
            }
            // The crashed process: claims the run (a ROOT write) and saves step 2.
            return () -> {
                try (CheckpointStore s = Stores.open(Holder.faults, w.clock)) {
                    WriterToken t = s.claimWriter("r");
                    w.save(s, t, 2);
                }
            };
        });
    }

    @Test
    void crashAtEveryWriteOfGc() {
        crashEverywhere("gc", w -> {
            try (CheckpointStore s = Stores.open(w.base, w.clock)) {
                WriterToken t = s.claimWriter("r");
                for (long step = 1; step <= 4; step++) {
                    w.save(s, t, step); // keep-last 2: steps 1 and 2 become garbage
                }
            }
            w.clock.advance(Duration.ofHours(2));
            return () -> {
                try (CheckpointStore s = Stores.open(Holder.faults, w.clock)) {
                    s.gc(GcRequest.collect());
                }
            };
        });
    }
}

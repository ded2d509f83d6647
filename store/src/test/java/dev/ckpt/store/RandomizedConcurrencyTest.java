package dev.ckpt.store;

import dev.ckpt.store.objectstore.MemoryStores;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Four writers (two of which are turned into zombies by a successor re-claiming their
 * run) and a GC, all as separate store instances ("processes") on one store with random
 * latency and a fake clock that the GC moves forward so that grace ages pass mid-save.
 * Afterwards: nothing missing or corrupt, every successful commit is in ROOT or was
 * dropped by retention, every zombie commit was refused.
 */
class RandomizedConcurrencyTest {
    private static final int ROUNDS = 60; // per writer: 240 saves in all, plus zombie attempts
    private static final int KEEP = 2;

    @TempDir
    Path tmp;

    record Success(String run, long step, String id, int source) {
    }

    @Test
    void writersZombiesAndGcKeepEveryCommittedCheckpointIntact() throws Exception {
        long seed = Long.getLong("ckpt.test.seed", System.nanoTime());
        System.out.println("RandomizedConcurrencyTest seed=" + seed + " (rerun with -Dckpt.test.seed=" + seed + ")");
        Random master = new Random(seed);
        FakeClock clock = new FakeClock();
        FaultInjectingObjectStore objects = new FaultInjectingObjectStore(MemoryStores.inMemory(clock))
                .randomFaults(master.nextLong(), 0.0, 2);
        List<Path> sources = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            sources.add(TestDirs.checkpoint(tmp.resolve("src" + i), 10 + (i % 4), 3, 20_000 + 5_000 * i));
            if (i >= 4) {
                TestDirs.touch(sources.get(i).resolve("file1.bin"), i); // near-duplicates of sources 0 and 1
            }
        }
        List<Success> successes = new CopyOnWriteArrayList<>();
        AtomicInteger zombieAttempts = new AtomicInteger();
        AtomicInteger zombieRefused = new AtomicInteger();
        AtomicInteger conflicts = new AtomicInteger();
        List<Throwable> unexpected = new CopyOnWriteArrayList<>();
        Map<String, Boolean> zombieIds = new ConcurrentHashMap<>();
        AtomicBoolean writersDone = new AtomicBoolean();
        AtomicInteger gcRuns = new AtomicInteger();
        AtomicInteger gcDeleted = new AtomicInteger();
        AtomicInteger reuploaded = new AtomicInteger();

        ExecutorService pool = Executors.newFixedThreadPool(5);
        List<Future<?>> writers = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            int id = k;
            long wseed = master.nextLong();
            writers.add(pool.submit(() -> {
                Random rnd = new Random(wseed);
                String run = "w" + id;
                try (CheckpointStore me = Stores.open(objects, clock)) {
                    WriterToken token = me.claimWriter(run);
                    WriterToken zombie = null;
                    int refenceAt = id >= 2 ? 10 + rnd.nextInt(ROUNDS - 20) : -1;
                    long step = 0;
                    for (int round = 0; round < ROUNDS; round++) {
                        if (round == refenceAt) {
                            // a successor (another process) claims the run: this writer's token is now a zombie's
                            try (CheckpointStore successor = Stores.open(objects, clock)) {
                                zombie = token;
                                token = successor.claimWriter(run);
                            }
                            step += 1000;
                        }
                        if (zombie != null && rnd.nextBoolean()) {
                            zombieAttempts.incrementAndGet();
                            int src = rnd.nextInt(sources.size());
                            try {
                                SaveResult r = me.save(zombie, SaveRequest.of(sources.get(src), run, step + 500)
                                        .withRetention(Retention.keepLast(KEEP)));
                                zombieIds.put(r.checkpointId(), true);
                            } catch (FencedException e) {
                                zombieRefused.incrementAndGet();
                            }
                        }
                        step++;
                        int src = rnd.nextInt(sources.size());
                        try {
                            SaveResult r = me.save(token, SaveRequest.of(sources.get(src), run, step)
                                    .withRetention(Retention.keepLast(KEEP)));
                            successes.add(new Success(run, step, r.checkpointId(), src));
                            reuploaded.addAndGet(r.reuploadedChunks());
                        } catch (CommitConflictException e) {
                            conflicts.incrementAndGet();
                        }
                    }
                } catch (Throwable t) {
                    unexpected.add(t);
                }
                return null;
            }));
        }
        long gseed = master.nextLong();
        Future<?> gc = pool.submit(() -> {
            Random rnd = new Random(gseed);
            try (CheckpointStore collector = Stores.open(objects, clock)) {
                while (!writersDone.get()) {
                    clock.advance(Duration.ofMinutes(rnd.nextInt(45)));
                    try {
                        GcResult r = collector.gc(GcRequest.collect());
                        gcRuns.incrementAndGet();
                        gcDeleted.addAndGet(r.deletedKeys().size());
                    } catch (CommitConflictException e) {
                        conflicts.incrementAndGet();
                    }
                    Thread.sleep(rnd.nextInt(3));
                }
            } catch (Throwable t) {
                unexpected.add(t);
            }
            return null;
        });
        for (Future<?> w : writers) {
            w.get(300, TimeUnit.SECONDS);
        }
        writersDone.set(true);
        gc.get(60, TimeUnit.SECONDS);
        pool.shutdown();

        assertTrue(unexpected.isEmpty(), () -> "unexpected failures: " + unexpected);
        System.out.printf("saves ok=%d conflicts=%d zombieAttempts=%d refused=%d gcRuns=%d gcDeleted=%d reuploaded=%d%n",
                successes.size(), conflicts.get(), zombieAttempts.get(), zombieRefused.get(), gcRuns.get(), gcDeleted.get(),
                reuploaded.get());
        assertTrue(successes.size() + conflicts.get() >= 4 * ROUNDS, "≥ 200 rounds ran");
        assertTrue(successes.size() >= 4 * ROUNDS * 9 / 10, "conflicts stay rare: " + conflicts.get());
        assertTrue(gcRuns.get() > 0 && gcDeleted.get() > 0, "the GC ran and deleted garbage while writers ran");
        assertTrue(zombieAttempts.get() > 0);
        assertEquals(zombieAttempts.get(), zombieRefused.get(), "every zombie commit was refused");
        assertTrue(zombieIds.isEmpty());

        objects.heal();
        try (CheckpointStore check = Stores.open(objects, clock)) {
            // one more GC with everything old: must not touch anything live
            clock.advance(Duration.ofHours(3));
            check.gc(GcRequest.collect());
            RootState root = check.root();
            VerifyReport deep = check.verify(VerifyRequest.deep());
            assertTrue(deep.ok(), () -> "deep verify: " + deep.problems());
            for (Success s : successes) {
                if (root.checkpoints().containsKey(s.id())) {
                    continue;
                }
                long newer = root.checkpointsOf(s.run()).stream().filter(e -> e.step() > s.step()).count();
                assertTrue(newer >= KEEP, "commit " + s + " is gone from ROOT but only " + newer + " newer ones are kept");
            }
            for (CheckpointEntry e : root.checkpoints().values()) {
                Success s = successes.stream().filter(x -> x.id().equals(e.id())).findFirst().orElseThrow(
                        () -> new AssertionError("checkpoint " + e.id() + " in ROOT was never reported committed"));
                Path out = tmp.resolve("restore-" + e.id());
                check.restore(e, out, List.of());
                TestDirs.assertSameTree(TestDirs.snapshot(sources.get(s.source())), out);
            }
            assertEquals(4 * KEEP, root.checkpoints().size());
            assertFalse(root.checkpoints().isEmpty());
        }
    }
}

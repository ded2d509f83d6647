package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.TestDirs;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.AlreadyExistsException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.DeadlineExceededException;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.error.RanksIncompleteException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectListing;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.StoredObject;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.util.TransferListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ExecutionException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint saved by several ranks (threads here, each with its own {@link CheckpointStore}
 * as a separate process would have; {@code MultiRankProcessTest} uses separate JVMs): one
 * commit once every part is there, none when a rank is missing, one epoch per job, restore of
 * all parts or one.
 */
class MultiRankSaveTest {
    private static final StoreConfig CONFIG = StoreConfig.defaults().withChunkSize(16 * 1024);
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    Path tmp;

    /** Rank R's files: a shard of its own under rank-R/, and a replicated file every rank holds. */
    static Path rankDir(Path base, int rank, long step) throws IOException {
        Path d = base.resolve("step" + step + "-rank" + rank);
        Files.createDirectories(d.resolve("rank-" + rank));
        Random rnd = new Random(step * 1000 + rank);
        byte[] own = new byte[40_000 + rank * 1000];
        rnd.nextBytes(own);
        Files.write(d.resolve("rank-" + rank).resolve("shard.bin"), own);
        byte[] replicated = new byte[50_000];
        new Random(step).nextBytes(replicated);
        Files.write(d.resolve("rank-" + rank).resolve("replicated.bin"), replicated);
        return d;
    }

    private CheckpointStore open(Path storeDir) {
        return CheckpointStore.open(ObjectStores.local(storeDir), CONFIG);
    }

    /** Runs every rank's save at once; each result is the SaveResult or the exception it threw. */
    private List<Object> saveAll(Path storeDir, String job, long step, List<Integer> ranks, int worldSize,
                                 Duration timeout) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(ranks.size());
        try {
            List<Future<Object>> futures = new ArrayList<>();
            for (int rank : ranks) {
                futures.add(startRank(pool, storeDir, job, step, rank, worldSize, timeout));
            }
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Starts rank {@code rank}'s save of {@code step} in {@code pool}, with a store of its own: its result, or what it threw. */
    private Future<Object> startRank(ExecutorService pool, Path storeDir, String job, long step, int rank, int worldSize,
                                     Duration timeout) throws IOException {
        return startRank(pool, storeDir, job, step, rank, worldSize, timeout, rankDir(tmp.resolve("src"), rank, step));
    }

    private Future<Object> startRank(ExecutorService pool, Path storeDir, String job, long step, int rank, int worldSize,
                                     Duration timeout, Path src) {
        return pool.submit((Callable<Object>) () -> {
            try (CheckpointStore s = open(storeDir)) {
                WriterToken w = s.joinRun("r", job);
                return s.save(w, SaveRequest.of(src, "r", step).withShard(new SaveRequest.Shard(rank, worldSize, timeout)));
            } catch (RuntimeException e) {
                return e;
            }
        });
    }

    /** Waits (at most 60 s) until the parts of {@code ranks} of checkpoint {@code id} are in the store. */
    private static void awaitParts(Path storeDir, String id, int... ranks) throws InterruptedException {
        Instant waitFrom = Instant.now();
        for (int rank : ranks) {
            while (!Files.exists(storeDir.resolve(Manifest.keyOfPart(id, rank)))) {
                assertTrue(Duration.between(waitFrom, Instant.now()).toSeconds() < 60, "rank " + rank + " wrote its part");
                Thread.sleep(20);
            }
        }
    }

    private void init(Path storeDir) {
        try (CheckpointStore s = open(storeDir)) {
            s.init();
        }
    }

    /** The steps of run r's committed checkpoints, oldest first, are {@code steps}. */
    private void assertCommittedSteps(Path storeDir, Long... steps) {
        try (CheckpointStore s = open(storeDir)) {
            assertEquals(List.of(steps), s.list("r").stream().map(CheckpointEntry::step).toList());
        }
    }

    private static long chunkFiles(Path storeDir) throws IOException {
        if (!Files.isDirectory(storeDir.resolve("chunks"))) {
            return 0;
        }
        try (Stream<Path> chunks = Files.walk(storeDir.resolve("chunks"))) {
            return chunks.filter(Files::isRegularFile).count();
        }
    }

    /**
     * Rank 0 of a world of 1 (a job launched with one rank) saves a part like any rank, but
     * ROOT records no world size for one writer: GC took the part for garbage and deleted
     * it, and the live checkpoint could no longer be restored. The part keys now come from
     * the top manifest.
     */
    @Test
    void gcKeepsThePartOfACheckpointSavedByAWorldOfOne() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        Object r = saveAll(storeDir, "job-1", 1, List.of(0), 1, TIMEOUT).get(0);
        assertInstanceOf(SaveResult.class, r, () -> String.valueOf(r));
        assertTrue(Files.exists(storeDir.resolve(Manifest.keyOfPart("r-s1-e1", 0))), "rank 0 of 1 saved a part");
        try (CheckpointStore g = CheckpointStore.open(ObjectStores.local(storeDir), CONFIG.withGcGrace(Duration.ZERO))) {
            g.gc(GcRequest.collect());
            assertTrue(Files.exists(storeDir.resolve(Manifest.keyOfPart("r-s1-e1", 0))), "GC kept the live part");
            assertEquals(List.of(Manifest.keyOfPart("r-s1-e1", 0)), g.partKeys(g.list("r").get(0)));
            assertTrue(g.verify(VerifyRequest.deep()).ok(), () -> g.verify(VerifyRequest.deep()).problems().toString());
            g.restore("r:latest", tmp.resolve("out"));
        }
        TestDirs.assertSameTree(TestDirs.snapshot(rankDir(tmp.resolve("src"), 0, 1)), tmp.resolve("out"));

        // a world of 1 has nobody to tell: a failed save records nothing, and the same step may be saved again
        try (CheckpointStore s = open(storeDir)) {
            WriterToken w = s.joinRun("r", "job-1");
            RuntimeException e = assertThrows(RuntimeException.class, () -> s.save(w, SaveRequest.of(
                    tmp.resolve("no-such-source"), "r", 3).withShard(new SaveRequest.Shard(0, 1, TIMEOUT))));
            assertFalse(e.getMessage().contains("recorded this"), e.getMessage());
        }
        assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfRefusal("r-s3-e1"))), "no record in a world of 1");
        assertInstanceOf(SaveResult.class, saveAll(storeDir, "job-1", 3, List.of(0), 1, TIMEOUT).get(0));
    }

    @Test
    void fourRanksCommitOneCheckpointThatRestoresWholeOrByRank() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        List<Object> results = saveAll(storeDir, "job-1", 10, List.of(0, 1, 2, 3), 4, TIMEOUT);
        Set<String> ids = new TreeSet<>();
        int newChunks = 0;
        for (Object o : results) {
            SaveResult r = assertInstanceOf(SaveResult.class, o, () -> String.valueOf(o));
            ids.add(r.checkpointId());
            newChunks += r.newChunks();
        }
        assertEquals(Set.of("r-s10-e1"), ids, "every rank names the same checkpoint");
        try (CheckpointStore s = open(storeDir)) {
            List<CheckpointEntry> cps = s.list("r");
            assertEquals(1, cps.size());
            CheckpointEntry e = cps.get(0);
            assertEquals(4, e.ranks());
            assertEquals(8, e.files());
            // the replicated file's chunks were uploaded once, not once per rank
            long chunkObjects;
            try (Stream<Path> st = Files.walk(storeDir.resolve("chunks"))) {
                chunkObjects = st.filter(Files::isRegularFile).count();
            }
            assertEquals(s.manifest(e).chunks().size(), chunkObjects);
            assertEquals(chunkObjects, newChunks, "each distinct chunk created by exactly one rank");

            Path all = tmp.resolve("restore-all");
            s.restore("r@10", all);
            for (int rank = 0; rank < 4; rank++) {
                Path src = rankDir(tmp.resolve("again"), rank, 10);
                for (String f : List.of("shard.bin", "replicated.bin")) {
                    assertArrayEquals(Files.readAllBytes(src.resolve("rank-" + rank).resolve(f)),
                            Files.readAllBytes(all.resolve("rank-" + rank).resolve(f)), "rank " + rank + " " + f);
                }
            }
            Path two = tmp.resolve("restore-2");
            RestoreResult r2 = s.restorePart(e, 2, two, List.of(), TransferListener.NONE);
            assertEquals(2, r2.files());
            try (Stream<Path> st = Files.walk(two)) {
                assertEquals(List.of("rank-2/replicated.bin", "rank-2/shard.bin"), st.filter(Files::isRegularFile)
                        .map(p -> two.relativize(p).toString()).sorted().toList());
            }
            RuntimeException noRank = assertThrows(RuntimeException.class,
                    () -> s.restorePart(e, 4, tmp.resolve("x"), List.of(), TransferListener.NONE));
            assertTrue(noRank.getMessage().contains("saved by 4 ranks (0 to 3); it has no rank 4"), noRank.getMessage());
            assertTrue(s.verify(VerifyRequest.deep()).ok(), () -> s.verify(VerifyRequest.deep()).problems().toString());
        }
        // ROOT's count of ranks edited by hand, or taken out, is found (helper-140: ls showed it, verify said ok)
        Path rootFile = storeDir.resolve("ROOT");
        byte[] good = Files.readAllBytes(rootFile);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (Integer edited : new Integer[]{3, null}) {
            var root = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(good);
            var entry = (com.fasterxml.jackson.databind.node.ObjectNode) root.get("checkpoints").get("r-s10-e1");
            if (edited == null) {
                entry.remove("worldSize");
            } else {
                entry.put("worldSize", edited);
            }
            Files.write(rootFile, json.writeValueAsBytes(root));
            try (CheckpointStore s = open(storeDir)) {
                List<dev.ckpt.store.restore.VerifyReport.Problem> problems = s.verify(VerifyRequest.structural()).problems();
                assertEquals(1, problems.size(), problems.toString());
                assertEquals(dev.ckpt.store.restore.VerifyReport.Kind.ROOT_MISMATCH, problems.get(0).kind());
                assertTrue(problems.get(0).message().contains("says it was saved by " + (edited == null ? "1 rank" : "3 ranks")
                        + ", but its manifest manifests/r-s10-e1.json has 4 ranks"), problems.get(0).message());
            }
        }
        Files.write(rootFile, good);
    }

    @Test
    void aMissingRankMeansNoCommitEveryRankFailsClearlyTheNextStepCommitsAndGcReclaimsTheParts() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        // rank 3 "died" before saving step 5. Ranks 1 and 2 write their parts first (rank 0's verdict is then
        // always "rank 3", however slow this machine), and wait up to 20 s; rank 0 waits 2 s for rank 3.
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Object> failed = new ArrayList<>();
        try {
            List<Future<Object>> others = new ArrayList<>();
            for (int rank : List.of(1, 2)) {
                others.add(startRank(pool, storeDir, "job-1", 5, rank, 4, TIMEOUT));
            }
            awaitParts(storeDir, "r-s5-e1", 1, 2);
            Instant t0 = Instant.now();
            try (CheckpointStore s = open(storeDir)) {
                failed.add(assertThrows(RuntimeException.class, () -> s.save(s.joinRun("r", "job-1"),
                        SaveRequest.of(rankDir(tmp.resolve("src"), 0, 5), "r", 5)
                                .withShard(new SaveRequest.Shard(0, 4, Duration.ofSeconds(2))))));
            }
            for (Future<Object> f : others) {
                failed.add(f.get(60, TimeUnit.SECONDS));
            }
            assertTrue(Duration.between(t0, Instant.now()).toSeconds() < 15, "failed after the timeout, not hung");
        } finally {
            pool.shutdownNow();
        }
        RanksIncompleteException r0 = assertInstanceOf(RanksIncompleteException.class, failed.get(0));
        assertEquals(List.of(3), r0.missingRanks());
        assertTrue(r0.getMessage().contains("rank 3 did not write its part"), r0.getMessage());
        assertTrue(r0.getMessage().contains("manifests/r-s5-e1/part-00003.json") && r0.getMessage().contains("A rank may have"
                + " died, be slower than the timeout, or have been given another rank's number"), r0.getMessage());
        for (int i = 1; i < 3; i++) {
            // they would wait 20 s: rank 0's refusal tells them why at once
            RanksIncompleteException ri = assertInstanceOf(RanksIncompleteException.class, failed.get(i));
            assertTrue(ri.getMessage().contains("rank 0 gave up on it at ")
                    && ri.getMessage().contains("(manifests/r-s5-e1/refused.json): ")
                    && ri.getMessage().contains("rank 3 did not write its part"), ri.getMessage());
            assertEquals(ExitCode.ERROR, ExitCode.of(ri), "the step is closed for good: 1, not 4's retry later");
        }
        assertTrue(Files.exists(storeDir.resolve(Manifest.keyOfRefusal("r-s5-e1"))), "rank 0 recorded why it gave up");
        try (CheckpointStore s = open(storeDir)) {
            assertTrue(s.list("r").isEmpty(), "nothing visible without every part");
        }
        // rank 3 comes back late: its part alone commits nothing
        Object late = saveAll(storeDir, "job-1", 5, List.of(3), 4, Duration.ofMillis(300)).get(0);
        assertInstanceOf(RanksIncompleteException.class, late);

        // the next step's save commits
        for (Object o : saveAll(storeDir, "job-1", 6, List.of(0, 1, 2, 3), 4, TIMEOUT)) {
            assertInstanceOf(SaveResult.class, o, () -> String.valueOf(o));
        }
        try (CheckpointStore s = open(storeDir)) {
            assertEquals(List.of(6L), s.list("r").stream().map(CheckpointEntry::step).toList());
            assertTrue(Files.exists(storeDir.resolve("manifests/r-s5-e1/part-00000.json")));
            // GC with grace 0 reclaims the orphaned parts of step 5, and keeps step 6's
            try (CheckpointStore g = CheckpointStore.open(ObjectStores.local(storeDir), CONFIG.withGcGrace(Duration.ZERO))) {
                g.gc(GcRequest.collect());
            }
            for (int rank = 0; rank < 4; rank++) {
                assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfPart("r-s5-e1", rank))), "orphaned part " + rank);
                assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfRefusal("r-s5-e1"))), "rank 0's refusal record");
                assertTrue(Files.exists(storeDir.resolve(Manifest.keyOfPart("r-s6-e1", rank))), "live part " + rank);
            }
            assertFalse(Files.exists(storeDir.resolve("manifests/r-s5-e1")), "GC leaves no empty directory behind");
            assertTrue(s.verify(VerifyRequest.deep()).ok(), () -> s.verify(VerifyRequest.deep()).problems().toString());
            s.restore("r:latest", tmp.resolve("after-gc"));
        }
    }

    /**
     * A rank that fails before its part is written (here: its source directory is gone)
     * records why; rank 0 stops gathering and every other rank stops waiting, each naming
     * that rank and its reason, long before their 10-minute timeouts.
     */
    @Test
    void aRankThatFailsBeforeItsPartTellsRankZeroAndTheOthers() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        Duration patient = Duration.ofMinutes(10);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<Object>> runs = new ArrayList<>();
            for (int rank = 0; rank < 3; rank++) {
                Path src = rank == 1 ? tmp.resolve("no-such-source") : rankDir(tmp.resolve("src"), rank, 1);
                runs.add(startRank(pool, storeDir, "job-1", 1, rank, 3, patient, src));
            }
            Object rank1 = runs.get(1).get(60, TimeUnit.SECONDS);
            assertInstanceOf(RuntimeException.class, rank1);
            String why = ((RuntimeException) rank1).getMessage();
            assertTrue(why.contains("no-such-source"), why);
            for (int rank : List.of(0, 2)) {
                RanksIncompleteException e = assertInstanceOf(RanksIncompleteException.class,
                        runs.get(rank).get(60, TimeUnit.SECONDS));
                assertTrue(why.endsWith("; rank 1 recorded this in manifests/r-s1-e1/refused.json, so the other ranks"
                        + " stop waiting, and this job cannot save step 1 again: save a later step"), why);
                String reason = why.substring(0, why.indexOf("; rank 1 recorded this"));
                assertTrue(e.getMessage().contains("rank 1 gave up on it at ")
                        && e.getMessage().contains("(manifests/r-s1-e1/refused.json): " + reason)
                        && !e.getMessage().contains("rank 0 gave up"), "rank " + rank + ": " + e.getMessage());
                // a rank that started before rank 1's record heard of it while it saved; one that started after (a
                // busy machine: rank 1 fails at once) found the record first and uploaded nothing. Both are right.
                String m = e.getMessage();
                assertTrue(m.endsWith("; nothing was committed for this step, and this job cannot save step 1 again: save"
                        + " a later step") || m.endsWith(". This rank uploaded nothing. Whether that was in this attempt"
                        + " or in an earlier one, this job cannot save step 1 again: save a later step"), "rank " + rank + ": " + m);
                assertTrue(e.relayed());
            }
        } finally {
            pool.shutdownNow();
        }
        try (CheckpointStore s = open(storeDir)) {
            assertTrue(s.list("r").isEmpty());
        }
    }

    /**
     * helper-86: a rank whose save fails with an Error (it ran out of memory) tells the others as
     * a rank whose save fails with an exception does; the Error passed the catch, and rank 0
     * waited its whole --ranks-timeout for the part. The Error itself reaches the caller.
     */
    @Test
    void aRankThatRunsOutOfMemoryBeforeItsPartTellsTheOthers() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        Duration patient = Duration.ofMinutes(10);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Object> rank0 = startRank(pool, storeDir, "job-1", 1, 0, 2, patient);
            Path src1 = rankDir(tmp.resolve("src"), 1, 1);
            Future<Object> rank1 = pool.submit((Callable<Object>) () -> {
                ObjectStore noMemory = new dev.ckpt.store.objectstore.ForwardingObjectStore(ObjectStores.local(storeDir)) {
                    @Override
                    public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                        if (key.startsWith("chunks/")) {
                            throw new OutOfMemoryError("test: Java heap space");
                        }
                        return super.putIfAbsent(key, data, offset, length);
                    }
                };
                try (CheckpointStore s = CheckpointStore.open(noMemory, CONFIG)) {
                    WriterToken w = s.joinRun("r", "job-1");
                    return s.save(w, SaveRequest.of(src1, "r", 1).withShard(new SaveRequest.Shard(1, 2, patient)));
                } catch (Throwable e) {
                    return e;
                }
            });
            OutOfMemoryError oom = assertInstanceOf(OutOfMemoryError.class, rank1.get(60, TimeUnit.SECONDS));
            assertEquals("test: Java heap space", oom.getMessage());
            RanksIncompleteException e = assertInstanceOf(RanksIncompleteException.class, rank0.get(60, TimeUnit.SECONDS));
            assertTrue(e.getMessage().contains("rank 1 gave up on it at ")
                    && e.getMessage().contains("(manifests/r-s1-e1/refused.json): ")
                    && e.getMessage().contains("out of memory (test: Java heap space)"), e.getMessage());
        } finally {
            pool.shutdownNow();
        }
        try (CheckpointStore s = open(storeDir)) {
            assertTrue(s.list("r").isEmpty());
        }
    }

    /**
     * Two ranks give up at about the same time (both had looked for a record before either
     * wrote one). The record was written with an overwriting PUT, so it held the second
     * rank's reason while both ranks said "recorded this"; it is now created only if absent:
     * the first reason stays, and the second rank says another rank had already recorded why.
     */
    @Test
    void whenTwoRanksGiveUpTheFirstRecordStaysAndTheSecondRankSaysSo() throws Exception {
        // conflict: the second create-only write fails outright, as S3 may answer two at once (409)
        for (boolean conflict : List.of(false, true)) {
            Path storeDir = tmp.resolve("store-" + conflict);
            init(storeDir);
            String id = "r-s1-e1";
            List<Object> rankOne = new ArrayList<>();
            ObjectStore racing = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
                @Override
                public StoredObject get(String key) {
                    try {
                        return super.get(key);
                    } catch (dev.ckpt.store.error.NotFoundException e) {
                        if (key.equals(Manifest.keyOfRefusal(id)) && rankOne.isEmpty()) {
                            // rank 2 found no record before its save; rank 1 gives up now, before rank 2 does
                            ExecutorService pool = Executors.newSingleThreadExecutor();
                            try {
                                rankOne.add(startRank(pool, storeDir, "job-1", 1, 1, 3, TIMEOUT,
                                        tmp.resolve("rank-1-source-gone")).get(60, TimeUnit.SECONDS));
                            } catch (Exception x) {
                                throw new IllegalStateException(x);
                            } finally {
                                pool.shutdownNow();
                            }
                        }
                        throw e;
                    }
                }

                @Override
                public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                    if (conflict && key.equals(Manifest.keyOfRefusal(id))) {
                        throw new IllegalStateException("409 ConditionalRequestConflict");
                    }
                    return super.putIfAbsent(key, data, offset, length);
                }
            };
            Path noSource = tmp.resolve("rank-2-source-gone");
            try (CheckpointStore s = CheckpointStore.open(racing, CONFIG)) {
                RuntimeException two = assertThrows(RuntimeException.class, () -> s.save(s.joinRun("r", "job-1"),
                        SaveRequest.of(noSource, "r", 1).withShard(new SaveRequest.Shard(2, 3, TIMEOUT))));
                assertTrue(two.getMessage().contains("rank-2-source-gone") && two.getMessage().endsWith("; another rank"
                        + " had already recorded in manifests/r-s1-e1/refused.json why it gave up, so the other ranks stop"
                        + " waiting and name that rank's reason, not this one; this job cannot save step 1 again: save a"
                        + " later step"), two.getMessage());
            }
            String one = ((RuntimeException) rankOne.get(0)).getMessage();
            assertTrue(one.contains("; rank 1 recorded this in manifests/r-s1-e1/refused.json"), one);
            String record = Files.readString(storeDir.resolve(Manifest.keyOfRefusal(id)));
            assertTrue(record.contains("rank-1-source-gone") && !record.contains("rank-2-source-gone"), record);
        }
    }

    /**
     * A rank that gives up before the others have even started (ranks start seconds apart
     * on a real cluster; here it has finished before they begin): each of them finds the
     * record before it saves, fails at once naming that rank, and uploads nothing. In CI the
     * concurrent version of this case hung: the ranks took a record written before they
     * started for one an earlier attempt left, and waited out their 10-minute timeout.
     */
    @Test
    void aRankThatGaveUpBeforeTheOthersStartedStopsThemBeforeTheyUpload() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        Duration patient = Duration.ofMinutes(10);
        RuntimeException first;
        try (CheckpointStore s = open(storeDir)) {
            WriterToken w = s.joinRun("r", "job-1");
            first = assertThrows(RuntimeException.class, () -> s.save(w, SaveRequest.of(tmp.resolve("no-such-source"),
                    "r", 1).withShard(new SaveRequest.Shard(1, 3, patient))));
        }
        assertTrue(Files.exists(storeDir.resolve(Manifest.keyOfRefusal("r-s1-e1"))), "rank 1 recorded why");
        assertTrue(first.getMessage().endsWith("; rank 1 recorded this in manifests/r-s1-e1/refused.json, so the other"
                + " ranks stop waiting, and this job cannot save step 1 again: save a later step"), first.getMessage());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Object>> runs = new ArrayList<>();
            for (int rank : List.of(0, 2)) {
                runs.add(startRank(pool, storeDir, "job-1", 1, rank, 3, patient));
            }
            for (int i = 0; i < 2; i++) {
                int rank = i == 0 ? 0 : 2;
                RanksIncompleteException e = assertInstanceOf(RanksIncompleteException.class,
                        runs.get(i).get(60, TimeUnit.SECONDS));
                assertTrue(e.getMessage().contains("was not saved by rank " + rank + ": rank 1 gave up on it at ")
                        && e.getMessage().contains("(manifests/r-s1-e1/refused.json): " + first.getMessage()
                        .substring(0, first.getMessage().indexOf("; rank 1 recorded this")))
                        && e.getMessage().contains("This rank uploaded nothing. Whether")
                        && e.getMessage().endsWith("this job cannot save step 1 again: save a later step"), e.getMessage());
                assertTrue(e.relayed(), "a rank that only stopped because another gave up records nothing");
            }
        } finally {
            pool.shutdownNow();
        }
        // a rank whose own source is bad too hears of both at once, not of its own in the next run
        Path dangling = Files.createDirectories(tmp.resolve("rank-2-bad"));
        Files.createSymbolicLink(dangling.resolve("weights.bin"), tmp.resolve("nowhere"));
        try (CheckpointStore s = open(storeDir)) {
            WriterToken w = s.joinRun("r", "job-1");
            RanksIncompleteException e = assertThrows(RanksIncompleteException.class, () -> s.save(w,
                    SaveRequest.of(dangling, "r", 1).withShard(new SaveRequest.Shard(2, 3, patient))));
            assertTrue(e.getMessage().contains("rank 1 gave up on it at ") && e.getMessage().contains("This rank uploaded"
                    + " nothing; this rank's own source cannot be saved either: " + dangling.resolve("weights.bin"))
                    && e.getMessage().endsWith("this job cannot save step 1 again: where this message says to push or save"
                    + " again, save a later step"), e.getMessage());
        }
        assertEquals(0, chunkFiles(storeDir), "no rank uploaded a chunk");
        assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfPart("r-s1-e1", 2))));
        String record = Files.readString(storeDir.resolve(Manifest.keyOfRefusal("r-s1-e1")));
        assertTrue(record.matches("(?s).*\"rank\"\\s*:\\s*1\\b.*"), "the record is still rank 1's: " + record);
    }

    /**
     * The same job saving a step it already gave up on (a retry): the record under the id is
     * that earlier attempt's, and no rank can tell it from this attempt's, so the retry fails
     * at once, before any upload, saying so; the job's next step commits.
     */
    @Test
    void aRetryOfAStepTheSameJobGaveUpOnFailsAtOnceAndTheNextStepCommits() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        ObjectStores.local(storeDir).put(Manifest.keyOfRefusal("r-s1-e1"), ("{\"checkpoint\":\"r-s1-e1\",\"rank\":2,"
                + "\"reason\":\"an earlier attempt\\n\\u001b[31m\",\"at\":\"2026-12-01T10:00:00Z\"}")
                .getBytes(StandardCharsets.UTF_8));
        for (Object o : saveAll(storeDir, "job-1", 1, List.of(0, 1, 2), 3, TIMEOUT)) {
            RanksIncompleteException e = assertInstanceOf(RanksIncompleteException.class, o, () -> String.valueOf(o));
            // the record is anyone's text: its newline and terminal escape are shown, not sent to the terminal
            assertTrue(e.getMessage().contains("rank 2 gave up on it at 2026-12-01T10:00:00Z (manifests/r-s1-e1/"
                    + "refused.json): an earlier attempt\\u000A\\u001B[31m") && e.getMessage().contains(
                    "this job cannot save step 1 again: save a later step"), e.getMessage());
            assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\u001b"), e.getMessage());
        }
        Files.writeString(storeDir.resolve(Manifest.keyOfRefusal("r-s1-e1")), "{\"rank\":2,\"reason\":\""
                + "x".repeat(2_000_000) + "\"}");
        Object huge = saveAll(storeDir, "job-1", 1, List.of(1), 3, TIMEOUT).get(0);
        assertTrue(String.valueOf(huge).contains("… (1998000 more characters in the record)")
                && String.valueOf(huge).length() < 5000, "a 2 MB reason is cut to a line");
        Files.write(storeDir.resolve(Manifest.keyOfRefusal("r-s1-e1")), new byte[0]);
        Object empty = saveAll(storeDir, "job-1", 1, List.of(1), 3, TIMEOUT).get(0);
        assertTrue(String.valueOf(empty).contains("a rank gave up on it (manifests/r-s1-e1/refused.json): its record is"
                + " empty"), String.valueOf(empty));
        assertEquals(0, chunkFiles(storeDir), "the retry uploaded nothing");
        for (Object o : saveAll(storeDir, "job-1", 2, List.of(0, 1, 2), 3, TIMEOUT)) {
            assertInstanceOf(SaveResult.class, o, () -> String.valueOf(o));
        }
        assertCommittedSteps(storeDir, 2L);
    }

    @Test
    void withoutRankZeroTheOtherRanksFailAfterTheirTimeout() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        List<Object> out = saveAll(storeDir, "job-1", 1, List.of(1, 2, 3), 4, Duration.ofSeconds(1));
        for (Object o : out) {
            RanksIncompleteException e = assertInstanceOf(RanksIncompleteException.class, o);
            assertTrue(e.getMessage().contains("rank 0 commits once every part is there"), e.getMessage());
        }
        try (CheckpointStore s = open(storeDir)) {
            assertTrue(s.list("r").isEmpty());
        }
    }

    /**
     * Rank 0 of a job that a newer job replaced while it waited for the other parts hears
     * FENCED within a round or two, as its other ranks do, and records no refusal; before,
     * it waited out its whole timeout and then blamed the missing rank.
     */
    @Test
    void rankZeroWaitingForPartsIsFencedWhenANewerJobTakesTheRun() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (CheckpointStore old = open(storeDir); CheckpointStore requeued = open(storeDir)) {
            WriterToken j1 = old.joinRun("r", "job-1");
            Future<Object> rank0 = pool.submit((Callable<Object>) () -> {
                try {
                    return old.save(j1, SaveRequest.of(rankDir(tmp.resolve("src"), 0, 1), "r", 1)
                            .withShard(new SaveRequest.Shard(0, 2, Duration.ofMinutes(10))));
                } catch (RuntimeException e) {
                    return e;
                }
            });
            awaitParts(storeDir, "r-s1-e1", 0);
            requeued.joinRun("r", "job-2");
            Object o = rank0.get(60, TimeUnit.SECONDS);
            FencedException e = assertInstanceOf(FencedException.class, o, () -> String.valueOf(o));
            assertTrue(e.getMessage().contains("fenced"), e.getMessage());
        } finally {
            pool.shutdownNow();
        }
        assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfRefusal("r-s1-e1"))), "a fenced rank records nothing");
    }

    /**
     * Rank 0 fenced at its commit, every part present and its top manifest written: the top
     * manifest is withdrawn, so recover cannot bring the job's step back as committed
     * (helper-121: it came back above the newer job's checkpoints, as the run's latest).
     */
    @Test
    void rankZeroFencedAtItsCommitWithdrawsTheTopManifest() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (CheckpointStore old = open(storeDir); CheckpointStore requeued = open(storeDir)) {
            Future<Object> rank1 = startRank(pool, storeDir, "job-1", 1, 1, 2, Duration.ofMinutes(2));
            awaitParts(storeDir, "r-s1-e1", 1);
            WriterToken j1 = old.joinRun("r", "job-1");
            boolean[] claimed = new boolean[1];
            FencedException e = assertThrows(FencedException.class, () -> old.save(j1, SaveRequest.of(rankDir(
                    tmp.resolve("src"), 0, 1), "r", 1).withShard(new SaveRequest.Shard(0, 2, Duration.ofMinutes(2))),
                    new dev.ckpt.store.util.TransferListener() {
                        @Override
                        public void progress(long doneBytes, long totalBytes) {
                        }

                        @Override
                        public void committing(String checkpointId) {
                            if (!claimed[0]) { // the requeued job takes the run as rank 0 commits
                                claimed[0] = true;
                                requeued.joinRun("r", "job-2");
                            }
                        }
                    }));
            assertTrue(claimed[0] && e.getMessage().contains("fenced"), e.getMessage());
            assertFalse(Files.exists(storeDir.resolve("manifests/r-s1-e1.json")), "the top manifest is withdrawn");
            assertTrue(Files.exists(storeDir.resolve("manifests/r-s1-e1/part-00001.json")), "the parts stay for GC");
            assertInstanceOf(FencedException.class, rank1.get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        Files.write(storeDir.resolve("ROOT"), new byte[0]);
        try (CheckpointStore s = open(storeDir)) {
            dev.ckpt.store.commit.RecoveryReport r = s.recover(true, Duration.ZERO, true);
            assertTrue(r.rebuilt().checkpoints().isEmpty(), "nothing of job-1's step 1 comes back: " + r.message());
        }
    }

    /**
     * Two processes given the same rank (a launcher's RANK read wrong): the part's create-only write
     * lets one in, and the other is told that two processes may hold the same rank, not only that
     * "this job already tried to save this step"; rank 0 names the rank never started and says a rank
     * may have been given another's number. Nothing is committed.
     */
    @Test
    void twoProcessesGivenTheSameRankAreToldSoAndNothingIsCommitted() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        Path other = rankDir(tmp.resolve("other"), 1, 5);
        Files.write(other.resolve("rank-1/shard.bin"), new byte[1234]); // the second process's own data
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Object> results = new ArrayList<>();
        try {
            List<Future<Object>> fs = List.of(startRank(pool, storeDir, "job-1", 5, 0, 3, Duration.ofSeconds(3)),
                    startRank(pool, storeDir, "job-1", 5, 1, 3, Duration.ofSeconds(3)),
                    startRank(pool, storeDir, "job-1", 5, 1, 3, Duration.ofSeconds(3), other));
            for (Future<Object> f : fs) {
                results.add(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        List<AlreadyExistsException> twice = results.stream().filter(AlreadyExistsException.class::isInstance)
                .map(AlreadyExistsException.class::cast).toList();
        assertEquals(1, twice.size(), results.toString());
        String m = twice.get(0).getMessage();
        assertTrue(m.contains(Manifest.keyOfPart("r-s5-e1", 1)) && m.contains("two processes of this job were given the"
                + " same rank") && m.contains("the part of process " + ProcessHandle.current().pid()) && m.contains(" was not"
                + " written"), m);
        RanksIncompleteException zero = assertInstanceOf(RanksIncompleteException.class, results.get(0),
                () -> String.valueOf(results.get(0)));
        // the losing process gave up on the step, and rank 0 relays why: one of two parts is never committed as the rank's
        assertTrue(zero.getMessage().contains("rank 1 gave up on it") && zero.getMessage().contains("two processes of this"
                + " job were given the same rank"), zero.getMessage());
        assertCommittedSteps(storeDir);
    }

    /**
     * Two processes given rank 0 (helper-117): whichever order the race takes, the one whose part-0 was not
     * written says two processes may hold rank 0, and never "nothing was committed" when the other's commit landed.
     */
    @Test
    void twoProcessesGivenRankZeroSayWhatHappenedWhicheverWinsTheRace() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        for (long step = 1; step <= 4; step++) {
            Path other = rankDir(tmp.resolve("other"), 0, step);
            Files.write(other.resolve("rank-0/shard.bin"), new byte[(int) (1000 * step)]); // the second process's own data
            ExecutorService pool = Executors.newFixedThreadPool(3);
            List<Object> results = new ArrayList<>();
            try {
                Future<Object> first = startRank(pool, storeDir, "job-1", step, 0, 2, Duration.ofSeconds(5));
                Future<Object> one = startRank(pool, storeDir, "job-1", step, 1, 2, Duration.ofSeconds(5));
                if (step == 4) { // the second process starts after the first committed: the other order of the race
                    assertInstanceOf(SaveResult.class, first.get(), () -> "the first rank 0 alone commits");
                }
                Future<Object> second = startRank(pool, storeDir, "job-1", step, 0, 2, Duration.ofSeconds(5), other);
                for (Future<Object> f : List.of(first, second, one)) {
                    results.add(f.get());
                }
            } finally {
                pool.shutdownNow();
            }
            List<AlreadyExistsException> lost = results.subList(0, 2).stream().filter(AlreadyExistsException.class::isInstance)
                    .map(AlreadyExistsException.class::cast).toList();
            assertEquals(1, lost.size(), "step " + step + ": " + results);
            String m = lost.get(0).getMessage();
            assertTrue(m.contains("given rank 0 too") || m.contains("two processes of this job were given the same rank"), m);
            boolean committed;
            try (CheckpointStore s = open(storeDir)) {
                committed = s.root().checkpoints().containsKey("r-s" + step + "-e1");
            }
            assertTrue(committed || step < 4, "step 4 was committed by the first rank 0 and rank 1");
            if (committed) {
                assertTrue(!m.contains("nothing was committed") && (m.contains("already committed by this job")
                        || m.contains("committed meanwhile with the other process's part")
                        || m.contains("unless the process that wrote this rank's part commits the step first")),
                        "step " + step + ": " + m);
            }
        }
    }

    /**
     * A rank of a job saving a step the job already committed is told so, and records no
     * refusal under the live checkpoint's id (it said "nothing was committed" and left a
     * record next to the committed checkpoint).
     */
    @Test
    void aRankSavingAStepItsJobAlreadyCommittedIsToldSoAndRecordsNothing() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        for (Object o : saveAll(storeDir, "job-1", 1, List.of(0, 1), 2, TIMEOUT)) {
            assertInstanceOf(SaveResult.class, o, () -> String.valueOf(o));
        }
        for (int rank : List.of(1, 0)) {
            Object again = saveAll(storeDir, "job-1", 1, List.of(rank), 2, Duration.ofSeconds(2)).get(0);
            AlreadyExistsException e = assertInstanceOf(AlreadyExistsException.class, again, () -> String.valueOf(again));
            assertTrue(e.getMessage().contains("checkpoint r-s1-e1 (run 'r', step 1) is already committed by this job")
                    && e.getMessage().contains("save a later step") && !e.getMessage().contains("nothing was committed"),
                    e.getMessage());
        }
        assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfRefusal("r-s1-e1"))), "no record under a live id");
        assertCommittedSteps(storeDir, 1L);
    }

    /**
     * A deadline that passes while a rank waits for the others is a passed deadline (as --deadline
     * documents), not a missing rank (exit 4, "did not write its part"): exit 7, or 1 for rank 0,
     * whose giving up closes the step.
     */
    @Test
    void aDeadlineThatPassesWhileARankWaitsForTheOthersSaysSo() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        for (int rank : List.of(0, 1)) {
            try (CheckpointStore s = open(storeDir)) {
                WriterToken w = s.joinRun("r", "job-" + rank);
                DeadlineExceededException e = assertThrows(DeadlineExceededException.class, () -> s.save(w,
                        SaveRequest.of(rankDir(tmp.resolve("src"), rank, 1), "r", 1)
                                .withShard(new SaveRequest.Shard(rank, 2, Duration.ofMinutes(10)))
                                .withDeadline(Instant.now().plusSeconds(3))));
                // rank 0 records its giving up, which closes the step for good: exit 1 "save a later step", as a
                // retry of that step cannot succeed (helper-76); rank 1 waited with its part stored: 7
                assertEquals(rank == 0 ? ExitCode.ERROR : ExitCode.UNAVAILABLE, ExitCode.of(e), e.getMessage());
                assertEquals(rank == 0, e.getMessage().contains("save a later step"), e.getMessage());
                assertTrue(e.getMessage().contains("was not committed: its deadline passed") && e.getMessage().contains(
                        rank == 0 ? "for rank 1 to write its part" : "while it waited for rank 0's commit"), e.getMessage());
            }
        }
    }

    /** Applies a write of ROOT {@code lateMs} late, interrupted or not: a server that answers too late. */
    private static final class LateRoot extends ForwardingObjectStore {
        volatile long lateMs;

        LateRoot(ObjectStore delegate) {
            super(delegate);
        }

        @Override
        public String putIfMatch(String key, byte[] data, String expectedEtag) {
            long until = System.nanoTime() + lateMs * 1_000_000;
            while (key.equals("ROOT") && System.nanoTime() < until) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    // the caller gave up on it; the server applies it all the same
                }
            }
            return super.putIfMatch(key, data, expectedEtag);
        }
    }

    /**
     * helper-82: rank 0 whose commit's write of ROOT is in doubt at its deadline (exit 6) recorded a refusal, so
     * rank 1 failed with "was not committed" while the write landed and ls showed the checkpoint. Now rank 0 records
     * nothing and says so, and rank 1, still waiting, sees the commit when it lands.
     */
    @Test
    void aCommitInDoubtAtRankZerosDeadlineDoesNotTellTheOthersToStopWaiting() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        LateRoot late = new LateRoot(ObjectStores.local(storeDir));
        ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (CheckpointStore s1 = open(storeDir); CheckpointStore s0 = CheckpointStore.open(late, CONFIG)) {
            WriterToken w0 = s0.joinRun("r", "job");
            WriterToken w1 = s1.joinRun("r", "job");
            java.util.concurrent.Future<SaveResult> rank1 = saveStep1(pool, s1, w1, 1, null);
            late.lateMs = 4000;
            RuntimeException e = assertThrows(RuntimeException.class, () -> s0.save(w0,
                    SaveRequest.of(rankDir(tmp.resolve("src"), 0, 1), "r", 1)
                            .withShard(new SaveRequest.Shard(0, 2, Duration.ofSeconds(60)))
                            .withDeadline(Instant.now().plusSeconds(3))));
            assertEquals(ExitCode.COMMIT_STATE_UNKNOWN, ExitCode.of(e), e.getMessage());
            assertTrue(e.getMessage().contains("the conditional write of ROOT") && e.getMessage().contains("may or may"
                    + " not be applied") && e.getMessage().contains("the other ranks were not told to stop waiting"),
                    e.getMessage());
            String id = dev.ckpt.store.manifest.Ids.shardedCheckpointId("r", 1, w0.epoch());
            assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfRefusal(id))), "no refusal recorded");
            SaveResult r1 = rank1.get(30, TimeUnit.SECONDS); // the write landed: rank 1 saw the commit
            assertEquals(id, r1.checkpointId());
            assertEquals(List.of(1L), s1.list("r").stream().map(CheckpointEntry::step).toList());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * helper-83: rank 1's part write was under way at its deadline, so it recorded that it gave up (the step is
     * closed: "save a later step"); its part landed after that, and rank 0, finding every part, committed the step
     * all the same. Rank 0 now looks for a record before it commits, and the step stays closed as rank 1 said.
     */
    @Test
    void aPartThatLandsAfterItsRankGaveUpDoesNotReopenTheStep() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        java.util.concurrent.CountDownLatch land = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean landed = new java.util.concurrent.atomic.AtomicBoolean();
        // rank 1's write of its part hangs until the test lets it land, whatever its caller does meanwhile
        ObjectStore latePart = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
            @Override
            public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (key.endsWith("part-00001.json")) {
                    while (true) {
                        try {
                            if (land.await(60, TimeUnit.SECONDS)) {
                                break;
                            }
                        } catch (InterruptedException e) {
                            // the caller gave up on it; the server applies it all the same
                        }
                    }
                    dev.ckpt.store.objectstore.PutResult r = super.putIfAbsent(key, data, offset, length);
                    landed.set(true);
                    return r;
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        };
        // rank 0 polled for a record before rank 1 wrote it: it sees none until the part has landed
        ObjectStore earlyLook = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
            @Override
            public StoredObject get(String key) {
                if (key.endsWith("refused.json") && !landed.get()) {
                    throw new dev.ckpt.store.error.NotFoundException(key, key + " not found");
                }
                return super.get(key);
            }
        };
        ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (CheckpointStore s1 = CheckpointStore.open(latePart, CONFIG);
             CheckpointStore s0 = CheckpointStore.open(earlyLook, CONFIG)) {
            WriterToken w1 = s1.joinRun("r", "job");
            WriterToken w0 = s0.joinRun("r", "job");
            java.util.concurrent.Future<SaveResult> rank0 = saveStep1(pool, s0, w0, 0, null);
            java.util.concurrent.Future<SaveResult> rank1 = saveStep1(pool, s1, w1, 1, Instant.now().plusSeconds(2));
            ExecutionException x1 = assertThrows(ExecutionException.class, () -> rank1.get(30, TimeUnit.SECONDS));
            assertTrue(x1.getCause().getMessage().contains("part-00001.json may have been written")
                    && x1.getCause().getMessage().contains("save a later step"), x1.getCause().getMessage());
            land.countDown(); // now the part lands, after rank 1 recorded that it gave up

            ExecutionException x0 = assertThrows(ExecutionException.class, () -> rank0.get(30, TimeUnit.SECONDS));
            RanksIncompleteException e0 = org.junit.jupiter.api.Assertions.assertInstanceOf(
                    RanksIncompleteException.class, x0.getCause());
            assertTrue(landed.get(), "rank 1's part landed");
            assertTrue(e0.getMessage().contains("rank 1 gave up"), e0.getMessage());
            assertEquals(ExitCode.ERROR, ExitCode.of(e0), "the step is closed: " + e0.getMessage());
            assertTrue(s0.list("r").isEmpty(), "nothing committed");
        } finally {
            land.countDown();
            pool.shutdownNow();
        }
    }

    /** Rank {@code rank} of 2 saves step 1 of run r on {@code pool} (60 s for the others; {@code deadline} null = none). */
    private java.util.concurrent.Future<SaveResult> saveStep1(ExecutorService pool, CheckpointStore s, WriterToken w,
                                                              int rank, Instant deadline) {
        return pool.submit(() -> {
            SaveRequest req = SaveRequest.of(rankDir(tmp.resolve("src"), rank, 1), "r", 1)
                    .withShard(new SaveRequest.Shard(rank, 2, Duration.ofSeconds(60)));
            return s.save(w, deadline == null ? req : req.withDeadline(deadline));
        });
    }

    private static void await(java.util.concurrent.CountDownLatch latch) {
        try {
            assertTrue(latch.await(30, TimeUnit.SECONDS), "test guard: waited 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * helper-84: rank 0 looked for a refusal once it had every part, found none, and committed; rank 1, whose
     * part's write had been answered after its deadline, recorded between that look and the commit, and said the
     * step was closed while ls showed it committed. Rank 1 now looks at ROOT once more after its record. The stores
     * here order the race: rank 0's look, rank 1's record, rank 0's commit, rank 1's last look.
     */
    @Test
    void aRankWhoseRecordComesAsRankZeroCommitsSaysTheStepIsCommitted() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        java.util.concurrent.CountDownLatch recorded = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch committed = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean partRead = new java.util.concurrent.atomic.AtomicBoolean();
        // rank 1: its part lands at once, its answer after the deadline; after its record, its read of ROOT waits
        ObjectStore rank1Store = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
            @Override
            public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                dev.ckpt.store.objectstore.PutResult r = super.putIfAbsent(key, data, offset, length);
                if (key.endsWith("part-00001.json")) {
                    long until = System.nanoTime() + 3_000_000_000L;
                    while (System.nanoTime() < until) {
                        try {
                            Thread.sleep(20);
                        } catch (InterruptedException e) {
                            // the caller gave up on the answer; the write is there
                        }
                    }
                } else if (key.endsWith("refused.json")) {
                    recorded.countDown();
                }
                return r;
            }

            @Override
            public StoredObject get(String key) {
                if (key.equals("ROOT") && recorded.getCount() == 0) {
                    await(committed);
                }
                return super.get(key);
            }
        };
        // rank 0: its look for a record after every part is found answers before rank 1's record, and it commits after
        ObjectStore rank0Store = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
            @Override
            public StoredObject get(String key) {
                if (key.endsWith("refused.json") && partRead.get()) {
                    RuntimeException answer;
                    try {
                        return super.get(key);
                    } catch (RuntimeException e) {
                        answer = e; // the 404, as it was before rank 1's record
                    }
                    await(recorded);
                    throw answer;
                }
                StoredObject o = super.get(key);
                if (key.endsWith("part-00001.json")) {
                    partRead.set(true);
                }
                return o;
            }

            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                String etag = super.putIfMatch(key, data, expectedEtag);
                if (key.equals("ROOT") && recorded.getCount() == 0) {
                    committed.countDown();
                }
                return etag;
            }
        };
        ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (CheckpointStore s1 = CheckpointStore.open(rank1Store, CONFIG);
             CheckpointStore s0 = CheckpointStore.open(rank0Store, CONFIG)) {
            WriterToken w1 = s1.joinRun("r", "job");
            WriterToken w0 = s0.joinRun("r", "job");
            java.util.concurrent.Future<SaveResult> rank1 = saveStep1(pool, s1, w1, 1, Instant.now().plusSeconds(2));
            java.util.concurrent.Future<SaveResult> rank0 = saveStep1(pool, s0, w0, 0, null);
            SaveResult r0 = rank0.get(40, TimeUnit.SECONDS);
            ExecutionException x1 = assertThrows(ExecutionException.class, () -> rank1.get(40, TimeUnit.SECONDS));
            String m = x1.getCause().getMessage();
            assertTrue(m.contains("but rank 0 had already committed the step with every part") && m.contains(
                    r0.checkpointId() + " is in the store") && !m.contains("cannot save step 1 again"), m);
            assertEquals(ExitCode.UNAVAILABLE, ExitCode.of(x1.getCause()), "the step is not closed: " + m);
            assertEquals(List.of(1L), s0.list("r").stream().map(CheckpointEntry::step).toList());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Rank 0's commit can land just as a waiting rank's wait ends: after that rank's last read
     * of ROOT, before it checks its deadline or timeout. The rank said "was not committed"
     * (exit 7, or 4 at the timeout) although ls showed the checkpoint; it now reads ROOT once
     * more before it fails. Here rank 0 commits, and the wait's end passes, inside rank 1's
     * poll for a refusal record, which comes between those two points.
     */
    @Test
    void aCommitThatLandsJustAsAWaitingRanksWaitEndsIsReportedAsCommitted() throws Exception {
        Duration wait = Duration.ofSeconds(3);
        for (boolean byDeadline : List.of(true, false)) {
            Path storeDir = tmp.resolve("store-" + byDeadline);
            init(storeDir);
            String id = "r-s1-e1";
            AtomicBoolean raced = new AtomicBoolean();
            List<Object> rankZero = new ArrayList<>();
            // rank 1's time stands still until the race: however slow this machine, its wait ends only there
            FakeClock clock = new FakeClock(Instant.now());
            ObjectStore racing = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
                @Override
                public StoredObject get(String key) {
                    if (key.equals(Manifest.keyOfRefusal(id)) && Files.exists(storeDir.resolve(Manifest.keyOfPart(id, 1)))
                            && raced.compareAndSet(false, true)) {
                        try {
                            rankZero.add(saveAll(storeDir, "job-1", 1, List.of(0), 2, TIMEOUT).get(0));
                            clock.advance(wait.plusSeconds(1));
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    return super.get(key);
                }
            };
            try (CheckpointStore s = CheckpointStore.open(racing, CONFIG.withClock(clock))) {
                WriterToken w = s.joinRun("r", "job-1");
                SaveRequest req = SaveRequest.of(rankDir(tmp.resolve("src"), 1, 1), "r", 1)
                        .withShard(new SaveRequest.Shard(1, 2, byDeadline ? Duration.ofMinutes(10) : wait));
                SaveResult saved = s.save(w, byDeadline ? req.withDeadline(clock.instant().plus(wait)) : req);
                assertEquals(id, saved.checkpointId());
            }
            assertTrue(raced.get(), "rank 0 committed while rank 1 waited");
            assertInstanceOf(SaveResult.class, rankZero.get(0), () -> String.valueOf(rankZero.get(0)));
            assertCommittedSteps(storeDir, 1L);
        }
    }

    /**
     * The last part can arrive just as rank 0's wait ends: after that round's GETs, before
     * the timeout check. Rank 0 said "rank 1 did not write its part within 3 s" and committed
     * nothing although every part was there; it now looks once more before it gives up.
     */
    @Test
    void aPartThatArrivesJustAsRankZerosWaitEndsIsCommitted() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        String id = "r-s1-e1";
        Duration wait = Duration.ofSeconds(3);
        AtomicBoolean lookedForPart = new AtomicBoolean();
        AtomicBoolean raced = new AtomicBoolean();
        FakeClock clock = new FakeClock(Instant.now()); // rank 0's wait ends only when the race below says so
        ExecutorService pool = Executors.newSingleThreadExecutor();
        List<Future<Object>> rankOne = new ArrayList<>();
        ObjectStore racing = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
            @Override
            public StoredObject get(String key) {
                if (key.equals(Manifest.keyOfPart(id, 1))) {
                    lookedForPart.set(true);
                } else if (key.equals(Manifest.keyOfRefusal(id)) && lookedForPart.get() && raced.compareAndSet(false, true)) {
                    // rank 0's round found no part 1; it arrives now, and rank 0's wait ends
                    try {
                        rankOne.add(startRank(pool, storeDir, "job-1", 1, 1, 2, TIMEOUT));
                        awaitParts(storeDir, id, 1);
                        clock.advance(wait.plusSeconds(1));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                return super.get(key);
            }
        };
        try (CheckpointStore s = CheckpointStore.open(racing, CONFIG.withClock(clock))) {
            SaveResult saved = s.save(s.joinRun("r", "job-1"), SaveRequest.of(rankDir(tmp.resolve("src"), 0, 1), "r", 1)
                    .withShard(new SaveRequest.Shard(0, 2, wait)));
            assertEquals(id, saved.checkpointId());
            assertTrue(raced.get(), "rank 1's part arrived while rank 0 waited");
            Object one = rankOne.get(0).get(60, TimeUnit.SECONDS);
            assertInstanceOf(SaveResult.class, one, () -> String.valueOf(one));
        } finally {
            pool.shutdownNow();
        }
        assertCommittedSteps(storeDir, 1L);
    }

    /**
     * A GC whose grace is shorter than the ranks' wait deletes a waiting rank's part (it is
     * unreferenced until the commit). Rank 0 then said "rank 1 did not write its part" and
     * rank 1 that its part "stays unreferenced until a GC removes it"; both now name the GC
     * generation that deleted it and say to give gc a longer grace.
     */
    @Test
    void aPartAGcDeletedWhileTheRanksWaitedIsNamedAsSuch() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Object> rank1 = startRank(pool, storeDir, "job-1", 1, 1, 2, TIMEOUT);
            awaitParts(storeDir, "r-s1-e1", 1);
            try (CheckpointStore g = CheckpointStore.open(ObjectStores.local(storeDir), CONFIG.withGcGrace(Duration.ZERO))) {
                g.gc(GcRequest.collect());
            }
            assertFalse(Files.exists(storeDir.resolve(Manifest.keyOfPart("r-s1-e1", 1))), "the GC took the waiting part");
            RanksIncompleteException r0;
            long t0 = System.nanoTime();
            try (CheckpointStore s = open(storeDir)) {
                // a 10-minute wait: a part a GC deleted never comes back, and rank 0 says so at its first round
                r0 = assertThrows(RanksIncompleteException.class, () -> s.save(s.joinRun("r", "job-1"),
                        SaveRequest.of(rankDir(tmp.resolve("src"), 0, 1), "r", 1)
                                .withShard(new SaveRequest.Shard(0, 2, Duration.ofMinutes(10)))));
            }
            assertTrue((System.nanoTime() - t0) / 1_000_000_000L < 60, "at once, not after the timeout");
            assertTrue(r0.getMessage().matches("(?s).*was not committed: GC generation \\d+ deleted manifests/r-s1-e1/"
                    + "part-00001.json .*while rank 0 gathered the parts.*Give gc a --grace longer than --ranks-timeout.*"),
                    r0.getMessage());
            RanksIncompleteException r1 = assertInstanceOf(RanksIncompleteException.class, rank1.get(60, TimeUnit.SECONDS));
            assertTrue(r1.getMessage().contains("GC generation ") && r1.getMessage().contains("deleted manifests/r-s1-e1/"
                    + "part-00001.json") && !r1.getMessage().contains("stays unreferenced"), r1.getMessage());
            assertEquals(1, r1.getMessage().split("Give gc a --grace", -1).length - 1
                    + r1.getMessage().split("give gc a --grace", -1).length - 1, "said once: " + r1.getMessage());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRequeuedJobFencesEveryRankOfThePreviousOneZombiesAndLateStartersIncluded() throws Exception {
        Path storeDir = tmp.resolve("store");
        try (CheckpointStore a0 = open(storeDir); CheckpointStore a1 = open(storeDir); CheckpointStore b = open(storeDir)) {
            a0.init();
            WriterToken jobA0 = a0.joinRun("r", "slurm-77-0");
            WriterToken jobA1 = a1.joinRun("r", "slurm-77-0");
            assertEquals(jobA0.epoch(), jobA1.epoch(), "ranks of one job share the epoch");
            assertEquals(1, jobA0.epoch());
            // the job is requeued: its successor's ranks join, the old ranks are zombies now
            WriterToken jobB = b.joinRun("r", "slurm-77-1");
            assertEquals(2, jobB.epoch());
            assertEquals(2, b.joinRun("r", "slurm-77-1").epoch());
            Path src0 = rankDir(tmp.resolve("src"), 0, 3);
            Path src1 = rankDir(tmp.resolve("src"), 1, 3);
            SaveRequest.Shard s1 = new SaveRequest.Shard(1, 2, TIMEOUT);
            assertThrows(FencedException.class, () -> a1.save(jobA1, SaveRequest.of(src1, "r", 3).withShard(s1)));
            SaveRequest.Shard s0 = new SaveRequest.Shard(0, 2, Duration.ofSeconds(1));
            RuntimeException zombie0 = assertThrows(RuntimeException.class,
                    () -> a0.save(jobA0, SaveRequest.of(src0, "r", 3).withShard(s0)));
            assertInstanceOf(FencedException.class, zombie0, zombie0.toString());
            // a rank of the old job that starts only now is refused, and does not take the run back
            FencedException late = assertThrows(FencedException.class, () -> a1.joinRun("r", "slurm-77-0"));
            assertTrue(late.getMessage().contains("replaced by job:slurm-77-1"), late.getMessage());
            assertEquals(2, b.root().runs().get("r").writerEpoch());
            assertTrue(b.list("r").isEmpty());
        }
    }

    @Test
    void aZombieRankWaitingForTheCommitIsToldItIsFenced() throws Exception {
        Path storeDir = tmp.resolve("store");
        try (CheckpointStore a = open(storeDir); CheckpointStore b = open(storeDir)) {
            a.init();
            WriterToken jobA = a.joinRun("r", "job-a");
            Path src1 = rankDir(tmp.resolve("src"), 1, 3);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<?> waiting = pool.submit(() -> a.save(jobA, SaveRequest.of(src1, "r", 3)
                        .withShard(new SaveRequest.Shard(1, 2, TIMEOUT))));
                awaitParts(storeDir, "r-s3-e1", 1);
                b.joinRun("r", "job-b");
                Exception e = assertThrows(Exception.class, waiting::get);
                assertInstanceOf(FencedException.class, e.getCause(), String.valueOf(e.getCause()));
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void twoRanksSavingTheSameFileOrDisagreeingOnTheWorldSizeCommitNothingAndSayWhy() throws Exception {
        Path storeDir = tmp.resolve("store");
        try (CheckpointStore s = open(storeDir); CheckpointStore t = open(storeDir)) {
            s.init();
            Path same0 = rankDir(tmp.resolve("a"), 0, 1);
            Path same1 = tmp.resolve("b");
            Files.createDirectories(same1.resolve("rank-0"));
            Files.writeString(same1.resolve("rank-0/shard.bin"), "another rank's bytes under rank 0's name");
            WriterToken w0 = s.joinRun("r", "job");
            WriterToken w1 = t.joinRun("r", "job");
            ExecutorService pool = Executors.newSingleThreadExecutor();
            // rank 1 would wait 10 minutes for a commit; rank 0's refusal tells it within a poll or two
            Duration patient = Duration.ofMinutes(10);
            try {
                Future<?> r1 = pool.submit(() -> t.save(w1, SaveRequest.of(same1, "r", 1)
                        .withShard(new SaveRequest.Shard(1, 2, patient))));
                RanksIncompleteException e = assertThrows(RanksIncompleteException.class, () -> s.save(w0,
                        SaveRequest.of(same0, "r", 1).withShard(new SaveRequest.Shard(0, 2, TIMEOUT))));
                assertTrue(e.getMessage().contains("several ranks saved the same file rank-0/shard.bin (ranks 0 and 1)"),
                        e.getMessage());
                ExecutionException told = assertThrows(ExecutionException.class, () -> r1.get(60, TimeUnit.SECONDS));
                assertInstanceOf(RanksIncompleteException.class, told.getCause());
                // relayed without what rank 0's message says first and without what it was told to do
                String reason = e.getMessage().substring("checkpoint r-s1-e1 was not committed: ".length(),
                        e.getMessage().indexOf("; rank 0 recorded this in manifests/r-s1-e1/refused.json"));
                assertTrue(told.getCause().getMessage().contains("rank 0 gave up on it at ") && told.getCause().getMessage()
                        .contains("(manifests/r-s1-e1/refused.json): " + reason + ". Rank 1's part"),
                        told.getCause().getMessage());
                assertFalse(told.getCause().getMessage().contains("was not committed: checkpoint"), "said once");
                assertEquals(ExitCode.ERROR, ExitCode.of((RanksIncompleteException) told.getCause()), "step closed");

                Future<?> r2 = pool.submit(() -> t.save(w1, SaveRequest.of(rankDir(tmp.resolve("c"), 1, 2), "r", 2)
                        .withShard(new SaveRequest.Shard(1, 3, patient))));
                CorruptObjectException ws = assertThrows(CorruptObjectException.class, () -> s.save(w0,
                        SaveRequest.of(rankDir(tmp.resolve("c"), 0, 2), "r", 2).withShard(new SaveRequest.Shard(0, 2, TIMEOUT))));
                assertTrue(ws.getMessage().contains("rank 1 saved it as one of 3 ranks, rank 0 as one of 2"), ws.getMessage());
                ExecutionException told2 = assertThrows(ExecutionException.class, () -> r2.get(60, TimeUnit.SECONDS));
                assertTrue(told2.getCause().getMessage().contains("rank 1 saved it as one of 3 ranks"),
                        told2.getCause().getMessage());
            } finally {
                pool.shutdownNow();
            }
            assertTrue(s.list("r").isEmpty());
        }
    }

    @Test
    void findingAndRestoringTheLatestCheckpointOfSeveralRanksListsNothing() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        saveAll(storeDir, "job-1", 7, List.of(0, 1, 2), 3, TIMEOUT);
        AtomicInteger lists = new AtomicInteger();
        ObjectStore counting = new ForwardingObjectStore(ObjectStores.local(storeDir)) {
            @Override
            public ObjectListing list(String prefix) {
                lists.incrementAndGet();
                return super.list(prefix);
            }
        };
        try (CheckpointStore s = CheckpointStore.open(counting, CONFIG)) {
            CheckpointEntry e = s.resolve("r:latest");
            assertEquals(3, e.ranks());
            s.restore(e, tmp.resolve("all"), List.of());
            s.restorePart(e, 1, tmp.resolve("one"), List.of(), TransferListener.NONE);
            s.restoreLatestGood("r", tmp.resolve("auto"), List.of());
        }
        assertEquals(0, lists.get(), "no LIST to find or restore the latest checkpoint");
    }

    @Test
    void recoveryRebuildsACheckpointOfSeveralRanksOnlyWhenEveryPartIsThere() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        saveAll(storeDir, "job-1", 1, List.of(0, 1), 2, TIMEOUT);
        saveAll(storeDir, "job-1", 2, List.of(0, 1), 2, TIMEOUT);
        Files.delete(storeDir.resolve(Manifest.keyOfPart("r-s1-e1", 1)));
        Files.delete(storeDir.resolve("ROOT"));
        try (CheckpointStore s = open(storeDir)) {
            assertEquals(dev.ckpt.store.commit.RecoveryReport.Decision.REWRITTEN,
                    s.recover(true, Duration.ZERO, true).decision());
            List<CheckpointEntry> cps = s.list("r");
            assertEquals(List.of("r-s2-e1"), cps.stream().map(CheckpointEntry::id).toList());
            assertEquals(2, cps.get(0).ranks());
            s.restore("r:latest", tmp.resolve("back"));
            assertTrue(s.verify(VerifyRequest.deep()).ok());
            assertTrue(s.root().runs().get("r").writerEpoch() > 1000, "every earlier rank is fenced");
        }
    }

    @Test
    void retentionDropsCheckpointsOfSeveralRanksLikeAnyOther() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        for (long step = 1; step <= 3; step++) {
            long st = step;
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<SaveResult>> fs = new ArrayList<>();
                for (int rank = 0; rank < 2; rank++) {
                    int rk = rank;
                    Path src = rankDir(tmp.resolve("src"), rk, st);
                    fs.add(pool.submit(() -> {
                        try (CheckpointStore s = open(storeDir)) {
                            return s.save(s.joinRun("r", "j"), SaveRequest.of(src, "r", st)
                                    .withRetention(Retention.keepLast(2)).withShard(new SaveRequest.Shard(rk, 2, TIMEOUT)));
                        }
                    }));
                }
                for (Future<SaveResult> f : fs) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
        }
        assertCommittedSteps(storeDir, 2L, 3L);
    }

    static List<String> keys(ObjectStore store, String prefix) {
        List<String> out = new ArrayList<>();
        for (ObjectInfo o : store.list(prefix)) {
            out.add(o.key());
        }
        return out;
    }

    /**
     * A sweep abandoned by its GC (killed; here its lease has expired) lists chunks of rank 1 that
     * a step of several ranks needs again. Rank 0 commits, and the commit asks for everything on
     * that list to be there; rank 0 cannot upload rank 1's chunks, and gave up the step though
     * they were in the store ("a GC deleted … of another rank's part", from a helper's tryout).
     * It now looks: what is there needs no upload, and the commit cancels the sweep.
     */
    @Test
    void aSweepAbandonedWithAnotherRanksChunksOnItsListDoesNotStopTheStep() throws Exception {
        Path storeDir = tmp.resolve("store");
        init(storeDir);
        List<Object> first = saveAll(storeDir, "job-1", 1, List.of(0, 1), 2, TIMEOUT);
        first.forEach(r -> assertInstanceOf(SaveResult.class, r, () -> String.valueOf(r)));
        try (CheckpointStore s = open(storeDir)) {
            s.forget(ForgetRequest.of("r-s1-e1"));
        }
        Thread.sleep(20); // older than the grace age of 0
        var faulty = new dev.ckpt.store.objectstore.FaultInjectingObjectStore(ObjectStores.local(storeDir));
        faulty.crashAtWrite(3, false); // acquire, gc/ record, seal: dies at its first delete
        try (CheckpointStore g = CheckpointStore.open(faulty, CONFIG.withGcGrace(Duration.ZERO))) {
            g.gc(GcRequest.collect());
            throw new AssertionError("the GC should have died");
        } catch (Error expected) {
            // the simulated kill
        }
        var root = new dev.ckpt.store.commit.RootStore(ObjectStores.local(storeDir));
        var gc = root.read().state().gc();
        assertEquals(dev.ckpt.store.manifest.GcState.Phase.SWEEP, gc.phase());
        root.change(r -> r.withGc(new dev.ckpt.store.manifest.GcState(gc.phase(), gc.generation(), gc.owner(),
                Instant.now().minusSeconds(1), gc.dead(), gc.finished()))); // abandoned: its lease ran out
        // step 2 saves the same bytes as step 1: every chunk of both ranks is on the abandoned list
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Object> r0 = startRank(pool, storeDir, "job-1", 2, 0, 2, TIMEOUT, rankDir(tmp.resolve("again"), 0, 1));
            Future<Object> r1 = startRank(pool, storeDir, "job-1", 2, 1, 2, TIMEOUT, rankDir(tmp.resolve("again"), 1, 1));
            assertInstanceOf(SaveResult.class, r0.get(), () -> String.valueOf(uncheckedGet(r0)));
            assertInstanceOf(SaveResult.class, r1.get(), () -> String.valueOf(uncheckedGet(r1)));
        } finally {
            pool.shutdownNow();
        }
        assertCommittedSteps(storeDir, 2L);
        try (CheckpointStore s = open(storeDir)) {
            assertTrue(s.root().gc().finished().get(s.root().gc().finished().size() - 1).cancelled(), "sweep cancelled");
            assertTrue(s.verify(VerifyRequest.deep()).ok(), () -> s.verify(VerifyRequest.deep()).problems().toString());
        }
    }

    private static Object uncheckedGet(Future<Object> f) {
        try {
            return f.get();
        } catch (Exception e) {
            return e;
        }
    }
}

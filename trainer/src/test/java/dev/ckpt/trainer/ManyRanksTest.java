package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.StopPoint;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ranks of one job as threads of this JVM, each with a store of its own as a process would
 * have ({@link ManyRanksProcessTest} runs them as processes): each rank saves its partition
 * under rank-R/, rank 0 commits one checkpoint of N parts, and a checkpoint written by 4 ranks
 * resumes on 1, 2, 3, 4 and 8 ranks to the same bytes as one process that never stopped.
 */
@org.junit.jupiter.api.Timeout(600)
class ManyRanksTest {
    /** A small model with a frozen block, so the partition covers 7 tensors of 3 kinds. */
    private static final List<String> MODEL = List.of("--run", "t", "--save-every", "10", "--log-every", "5",
            "--frozen-mb", "1", "--keep-last", "10",
            // a rank waiting for another's part or commit fails in 2 minutes, saying which, not at the test's timeout
            "--ranks-timeout", "120s");

    @TempDir
    Path tmp;

    private static String[] args(Path dir, List<String> more) {
        List<String> a = new ArrayList<>(List.of("--store", dir.resolve("store").toString(), "--staging",
                dir.resolve("staging").toString()));
        a.addAll(MODEL);
        a.addAll(more);
        return a.toArray(new String[0]);
    }

    /** Runs ranks 0..m-1 of job {@code job} at once; returns their results by rank. */
    static List<Result> ranks(Path dir, int m, String job, String... more) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(m);
        try {
            List<Future<Result>> fs = new ArrayList<>();
            for (int r = 0; r < m; r++) {
                List<String> a = new ArrayList<>(List.of("--world-size", Integer.toString(m), "--rank", Integer.toString(r),
                        "--job-id", job));
                a.addAll(List.of(more));
                String[] all = args(dir, a);
                fs.add(pool.submit((Callable<Result>) () -> TrainerRuns.inProcess(all)));
            }
            List<Result> out = new ArrayList<>();
            for (Future<Result> f : fs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Job job-a of 2 ranks commits step 10; then a rank of job-b proposes {@code stop}, as a signalled rank would. */
    private static void jobACommitsStep10ThenJobBStopsAt(Path dir, StopPoint stop) throws Exception {
        assertEquals(0, ranks(dir, 2, "job-a", "--steps", "10").get(0).code());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            s.proposeStop(s.joinRun("t", "job-b"), stop);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    @Test
    void aCheckpointOfFourRanksResumesOnOneToEightRanksBitIdenticalToOneUninterruptedProcess() throws Exception {
        Path single = tmp.resolve("single");
        Result base = TrainerRuns.inProcess(args(single, List.of("--steps", "30")));
        assertEquals(0, base.code(), base.all());
        Map<String, byte[]> expected = TrainerRuns.latestTensorsByName(single.resolve("store"), "t", tmp);
        assertEquals(20, expected.size(), expected.keySet().toString()); // 7 tensors + 12 moments + state.json

        Path four = tmp.resolve("four");
        List<Result> first = ranks(four, 4, "job-a", "--steps", "20");
        for (int r = 0; r < 4; r++) {
            assertEquals(0, first.get(r).code(), "rank " + r + "\n" + first.get(r).all());
        }
        assertTrue(first.get(2).out().contains("rank 2 of 4, job job-a: this rank saves adapter_llama.weight, frozen.weight"
                + " and their Adam moments"), first.get(2).out());
        try (CheckpointStore s = CheckpointStore.open(four.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("t");
            assertEquals(List.of(10L, 20L), cps.stream().map(CheckpointEntry::step).toList(), "one commit per save step");
            CheckpointEntry e = cps.get(1);
            assertEquals(4, e.ranks());
            for (int r = 0; r < 4; r++) {
                for (FileEntry f : s.manifestPart(e, r).files()) {
                    boolean top = r == 0 && List.of("state.json", "config.json", "training_stats.json").contains(f.path());
                    assertTrue(top || f.path().startsWith("rank-" + r + "/"), "rank " + r + " saved " + f.path());
                }
            }
        }

        for (int m : new int[]{1, 2, 3, 4, 8}) {
            Path dir = tmp.resolve("m" + m);
            copyTree(four.resolve("store"), dir.resolve("store"));
            List<Result> rs = ranks(dir, m, "job-m" + m, "--steps", "30", "--auto-resume");
            for (int r = 0; r < m; r++) {
                Result res = rs.get(r);
                assertEquals(0, res.code(), "M=" + m + " rank " + r + "\n" + res.all());
                assertTrue(res.out().contains("auto-resume: restored checkpoint t-s20-e"), res.out());
            }
            try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
                List<CheckpointEntry> cps = s.list("t");
                CheckpointEntry last = cps.get(cps.size() - 1);
                assertEquals(30, last.step());
                assertEquals(m, last.ranks(), "saved by " + m + " rank(s)");
            }
            Map<String, byte[]> actual = TrainerRuns.latestTensorsByName(dir.resolve("store"), "t", tmp);
            assertEquals(expected.keySet(), actual.keySet(), "M=" + m);
            expected.forEach((k, v) -> org.junit.jupiter.api.Assertions.assertArrayEquals(v, actual.get(k),
                    "M=" + m + ": " + k + " differs from the uninterrupted run"));
        }
    }

    @Test
    void aReplacedJobIsFencedAndExits4() throws Exception {
        Path dir = tmp.resolve("fence");
        assertEquals(0, ranks(dir, 2, "job-1", "--steps", "10").get(0).code());
        assertEquals(0, ranks(dir, 2, "job-2", "--steps", "20", "--auto-resume").get(0).code());
        // a zombie rank of job-1 coming back
        Result zombie = TrainerRuns.inProcess(args(dir, List.of("--world-size", "2", "--rank", "1", "--job-id", "job-1",
                "--steps", "30", "--auto-resume")));
        assertEquals(4, zombie.code(), zombie.all());
        assertTrue(zombie.err().contains("it was replaced by job:job-2"), zombie.err());
    }

    @Test
    void ranksAlreadyPastTheAgreedStepSaveNothingAndExit75WithThePreviousCheckpointTheLatest() throws Exception {
        Path dir = tmp.resolve("past");
        // a rank of job-b was told to stop at step 11; the others learn it at their first poll, 5 s in, long past it
        jobACommitsStep10ThenJobBStopsAt(dir, new StopPoint(11, 1, "SIGTERM", Instant.now().plusSeconds(30)));
        // 5 s: a rank's training thread starved that long after the poller starts would still be at step 11
        List<Result> rs = ranks(dir, 2, "job-b", "--steps", "1000000", "--save-every", "1000000", "--auto-resume",
                "--stop-poll-interval", "5s");
        for (Result r : rs) {
            assertEquals(75, r.code(), r.all());
            assertTrue(r.out().matches("(?s).*preempted: SIGTERM on rank 1; the ranks agreed to stop at step 11 but this rank"
                    + " was already at step \\d+, so it cannot save that step and no checkpoint is committed for it; the latest"
                    + " checkpoint stays t-s10-e1; exiting 75.*"), r.out());
        }
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(List.of(10L), s.list("t").stream().map(CheckpointEntry::step).toList(), "no torn or later checkpoint");
        }
    }

    /**
     * A rank ahead of the others waits at a save step for the previous save's commit, which
     * comes only after the stop point was written; it must not train past the agreed step
     * before its poller reads it. Here the pollers never read in time (1 h), as a starved
     * poller thread would: each rank reads the stop point at the save step itself, saves
     * there and exits 75. Without that read both ranks trained on to step 40 and exited 0.
     */
    @Test
    void aRankLearnsTheAgreedStopStepAtASaveStepEvenWhenItsPollerIsLate() throws Exception {
        Path dir = tmp.resolve("late-poller");
        jobACommitsStep10ThenJobBStopsAt(dir, new StopPoint(20, 1, "SIGTERM", Instant.now().plusSeconds(120)));
        List<Result> rs = ranks(dir, 2, "job-b", "--steps", "40", "--auto-resume", "--stop-poll-interval", "1h");
        for (Result r : rs) {
            assertEquals(75, r.code(), r.all());
            assertTrue(r.out().contains("committed checkpoint t-s20-e2"), r.out());
        }
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(List.of(10L, 20L), s.list("t").stream().map(CheckpointEntry::step).toList());
        }
    }

    /**
     * A rank told to stop whose peer is gone: the saves on its way to the stop step used to
     * wait --ranks-timeout each (a tryout saw 3 min 21 s against an 8 s deadline; SLURM kills
     * the job first and it is never requeued). They now wait no longer than the stop's
     * deadline, and once it has passed the rank stops and exits 75 with the latest checkpoint.
     */
    @Test
    void aRankOnItsWayToTheStopStepWhosePeerIsGoneExitsByTheStopsDeadline() throws Exception {
        Path dir = tmp.resolve("gone");
        jobACommitsStep10ThenJobBStopsAt(dir, new StopPoint(100, 0, "SIGTERM", Instant.now().plusSeconds(4)));
        long t0 = System.nanoTime();
        // rank 0 of job-b is gone; rank 1 saves every 5 steps and would wait 120 s for it each time
        Result r = TrainerRuns.inProcess(args(dir, List.of("--world-size", "2", "--rank", "1", "--job-id", "job-b",
                "--steps", "1000000", "--save-every", "5", "--auto-resume", "--stop-poll-interval", "100ms")));
        long took = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(75, r.code(), r.all());
        assertTrue(took < 60_000, "exited by the stop's deadline, not after --ranks-timeout: " + took + " ms\n" + r.all());
        assertTrue(r.out().matches("(?s).*preempted: SIGTERM on rank 0 at step \\d+; .* passed while the save of step"
                + " \\d+ (had not committed|failed).*; it was abandoned and the latest checkpoint stays t-s10-e1.*"), r.out());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(List.of(10L), s.list("t").stream().map(CheckpointEntry::step).toList());
        }
    }

    /**
     * A rank that fails before it trains (here its staging directory is a file) records
     * nothing for the others, which train on and wait for its part: its message says so, with
     * how long they wait. A rank that trained and then failed does not say it.
     */
    @Test
    void aRankThatFailsToStartSaysTheOthersWaitForIt() throws Exception {
        Path dir = tmp.resolve("nostart");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("staging"), "not a directory");
        Result r = TrainerRuns.inProcess(args(dir, List.of("--world-size", "2", "--rank", "1", "--job-id", "job-s",
                "--steps", "10", "--save-every", "5", "--ranks-timeout", "90s")));
        assertNotEquals(0, r.code(), r.all());
        assertTrue(r.err().contains("ckpt-train: cannot create the staging directory " + dir.resolve("staging/t/rank-1")
                + ": " + dir.resolve("staging") + " is not a directory; give --staging a directory this process can"
                + " write (nothing was trained or saved)"), r.err());
        assertTrue(r.err().contains("ckpt-train: rank 1 did not start, and the other ranks were not told: they wait for"
                + " its part of each checkpoint until their --ranks-timeout (90s)"), r.err());

        Path alone = tmp.resolve("alone");
        Files.createDirectories(alone);
        Files.writeString(alone.resolve("staging"), "not a directory");
        Result single = TrainerRuns.inProcess(args(alone, List.of("--steps", "10", "--save-every", "5")));
        assertNotEquals(0, single.code(), single.all());
        assertFalse(single.err().contains("other ranks"), single.err());
    }

    /**
     * helper-104: a rank that trained and then failed (here its staging disk is full from its save of step 20 on)
     * told the other ranks nothing. Rank 0 waited --ranks-timeout for its part at every save and trained on with
     * nothing committed. Now the failing rank proposes a stop point that says it failed: the other rank stops at
     * once with step 10 the latest, and exits 1 as the failing rank does (not 75: a requeue would meet the full disk
     * again). Rank 1 failing, then rank 0 (the rank that commits).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "rank {0} fails")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 0})
    void aRankThatFailsAfterItTrainedStopsTheOthersAtOnceWithExit1(int failing) throws Exception {
        Path dir = tmp.resolve("rank-fails-" + failing);
        int other = 1 - failing;
        java.io.PrintStream quiet = new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true);
        Preemption po = new Preemption(quiet);
        java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
        Staging.FreeSpace fullFromStep20 = d -> checks.incrementAndGet() >= 3 ? 0 : Staging.FILE_STORE.usable(d);
        List<String> common = List.of("--world-size", "2", "--job-id", "job-f", "--steps", "1000000", "--save-every",
                "10", "--stop-poll-interval", "100ms");
        ExecutorService pool = Executors.newFixedThreadPool(1);
        try {
            long t0 = System.nanoTime();
            Future<Result> otherRank = pool.submit(() -> TrainerRuns.inProcess(st -> st, po, null, args(dir,
                    concat(common, "--rank", Integer.toString(other)))));
            Result rf = TrainerRuns.inProcess(Map.of(), st -> st, fullFromStep20, null, null, args(dir,
                    concat(common, "--rank", Integer.toString(failing))));
            assertEquals(1, rf.code(), rf.all());
            assertTrue(rf.err().contains("the checkpoint of step 20 needs"), rf.all());
            assertTrue(rf.err().contains("ckpt-train: rank " + failing + ": told the other ranks to stop (stop point"
                    + " runs/t/stop-e"), rf.all());
            Result ro;
            try {
                ro = otherRank.get(60, java.util.concurrent.TimeUnit.SECONDS); // --ranks-timeout is 120 s
            } catch (java.util.concurrent.TimeoutException e) {
                po.request("SIGTERM");
                throw new AssertionError("rank " + other + " still trained 60 s after rank " + failing + " failed", e);
            }
            assertEquals(1, ro.code(), ro.all());
            // what failed, not the failing rank's advice about its own disk
            assertTrue(ro.out().matches("(?s).*\nckpt-train: rank " + failing + " failed at step 20: staging directory "
                    + java.util.regex.Pattern.quote(dir.resolve("staging/t/rank-" + failing).toString()) + " has 0\\.0 MiB"
                    + " free; the checkpoint of step 20 needs [\\d.]+ MiB\\. It saves no more parts, so no checkpoint of"
                    + " this job can be completed: this rank stops now, then exits 1\n.*"), ro.all());
            assertTrue(ro.out().matches("(?s).*\nstopped: rank " + failing + " failed at step 20: [^\n]* needs [\\d.]+"
                    + " MiB\\. No checkpoint of this job can be completed without that rank, so this rank stopped at step"
                    + " \\d+.*; the latest checkpoint stays t-s10-e1\\. Once rank " + failing + "'s problem is fixed, start"
                    + " the job again, every rank with --auto-resume and a new --job-id; exiting 1\n.*"), ro.all());
            assertFalse(ro.all().contains("exiting 75"), ro.all());
            assertTrue(System.nanoTime() - t0 < 100_000_000_000L, "both ranks ended before --ranks-timeout");
        } finally {
            pool.shutdownNow();
        }
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(List.of(10L), s.list("t").stream().map(CheckpointEntry::step).toList());
            String point = Files.readString(dir.resolve("store/runs/t").resolve(Files.list(dir.resolve("store/runs/t"))
                    .map(f -> f.getFileName().toString()).filter(n -> n.startsWith("stop-e")).findFirst().orElseThrow()))
                    .replaceAll("\\s", "");
            assertTrue(point.contains("\"proposerFailed\":true") && point.contains("\"proposerSavesNoPart\":true"), point);
        }
    }

    /**
     * A rank signalled itself that finds the job already stopping because another rank failed keeps its own
     * promise (75), and says that there is nothing to save, not "saving there".
     */
    @Test
    void aSignalledRankThatFindsAnotherRanksFailureStopsAt75WithNothingToSave() throws Exception {
        Path dir = tmp.resolve("signal-after-failure");
        jobACommitsStep10ThenJobBStopsAt(dir, StopPoint.failed(15, 1, "rank 1 failed at step 15: disk full",
                Instant.now()));
        Preemption p = new Preemption(new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true));
        Result r = TrainerRuns.inProcess(st -> st, p, line -> {
            if (line.startsWith("step 12 ")) {
                p.request("SIGTERM");
            }
        }, args(dir, List.of("--world-size", "2", "--rank", "0", "--job-id", "job-b", "--steps", "1000000",
                "--save-every", "1000000", "--log-every", "1", "--auto-resume", "--stop-poll-interval", "1h")));
        assertEquals(75, r.code(), r.all());
        assertTrue(r.out().contains("ckpt-train: SIGTERM: the ranks were already stopping, and rank 1 saves no part (rank"
                + " 1 failed at step 15: disk full), so no checkpoint of this job can be completed: this rank stops now,"
                + " then exits 75"), r.all());
        assertFalse(r.out().contains("saving there"), r.all());
        assertTrue(r.out().contains("the latest checkpoint stays t-s10-e1"), r.all());
    }

    /**
     * helper-107: a job run again with the job id of one whose rank failed (a second srun in one allocation) found
     * that failure's stop point and stopped at it, every time, naming a directory it did not use. It still stops
     * (a rank that starts late must hear of a failure before it), but says the failure came before it started and
     * that the job needs a job id of its own.
     */
    @Test
    void aFailedRanksStopPointFromBeforeThisJobStartedIsNamedAsPossiblyAnEarlierJobs() throws Exception {
        Path dir = tmp.resolve("earlier-failure");
        jobACommitsStep10ThenJobBStopsAt(dir, StopPoint.failed(15, 1, "rank 1 failed at step 15: disk full",
                Instant.now().minusSeconds(600)));
        Result r = TrainerRuns.inProcess(args(dir, List.of("--world-size", "2", "--rank", "0", "--job-id", "job-b",
                "--steps", "1000000", "--auto-resume", "--stop-poll-interval", "100ms")));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*\nstopped: rank 1 failed at step 15: disk full\\. .*start the job again, every"
                + " rank with --auto-resume and a new --job-id \\(rank 1 failed at \\S+, before this rank started: if"
                + " that was an earlier job given the same --job-id job-b, this job stopped because of it, and needs a job"
                + " id of its own\\); exiting 1\n.*"), r.all());
    }

    /**
     * helper-107: ranks given different options (here another learning rate on rank 1) committed checkpoints that
     * held rank 0's weights and rank 1's biases, trained apart, and a resume went on from them without a word.
     * Rank 0 now commits only parts saved with the same options, and stops, naming both; rank 1 hears of it and
     * stops too. Nothing is committed.
     */
    @Test
    void ranksGivenDifferentOptionsCommitNothingAndStopNamingThem() throws Exception {
        Path dir = tmp.resolve("disagree");
        java.io.PrintStream quiet = new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true);
        Preemption p1 = new Preemption(quiet);
        List<String> common = List.of("--world-size", "2", "--job-id", "job-d", "--steps", "1000000", "--save-every",
                "10", "--stop-poll-interval", "100ms");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Result> rank1 = pool.submit(() -> TrainerRuns.inProcess(st -> st, p1, null, args(dir,
                    concat(common, "--rank", "1", "--lr", "0.05"))));
            Preemption p0 = new Preemption(quiet);
            Future<Result> rank0 = pool.submit(() -> TrainerRuns.inProcess(st -> st, p0,
                    null, args(dir, concat(common, "--rank", "0"))));
            Result r0;
            Result r1;
            try {
                r0 = rank0.get(90, java.util.concurrent.TimeUnit.SECONDS);
                r1 = rank1.get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                p0.request("SIGTERM");
                p1.request("SIGTERM");
                throw new AssertionError("the ranks trained on", e);
            }
            assertEquals(1, r0.code(), r0.all());
            assertTrue(r0.err().contains("was not committed: rank 1 was started with other settings than rank 0 (options:"
                    + " rank 0 has '--seed 42 --input"), r0.all());
            assertTrue(r0.err().contains("--lr 0.01 --frozen-mb 1 --steps 1000000 --save-every 10', rank 1 '--seed 42"
                    + " --input") && r0.err().contains("--lr 0.05 --frozen-mb 1 --steps 1000000 --save-every 10'); every"
                    + " rank of a job must be given the same ones"), r0.all());
            assertEquals(1, r1.code(), r1.all());
            assertTrue(r1.out().matches("(?s).*\nstopped: rank 0 failed at step \\d+: checkpoint t-s10-e1 was not committed: rank 1"
                    + " was started with other settings than rank 0 .*; every rank of a job must be given the same ones, and"
                    + " no checkpoint of this job can be committed until they are; rank 0 recorded this in"
                    + " manifests/t-s10-e1/refused.json, so the other ranks stop waiting\\. No checkpoint .*"), r1.all());
        } finally {
            pool.shutdownNow();
        }
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(List.of(), s.list("t"), "nothing committed");
        }
    }

    private static List<String> concat(List<String> a, String... more) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(more));
        return all;
    }

    /**
     * The signal arrives while the rank is blocked waiting for its previous save, which
     * waits for a rank that is gone: the wait looks again for a stop every 0.25 s, so the
     * rank proposes the stop at once (the others hear of it) and exits 75 by its
     * --preempt-deadline. A break test saw such a rank wait out --ranks-timeout (10 minutes by
     * default) without even writing the stop point.
     */
    @Test
    void aSignalWhileTheRankWaitsForASaveThatWaitsForAGoneRankExitsByTheDeadline() throws Exception {
        Path dir = tmp.resolve("blocked");
        assertEquals(0, ranks(dir, 2, "job-a", "--steps", "10").get(0).code());
        Preemption p = new Preemption(new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true));
        long[] signalledAt = {0}; // written by the signalling thread before request(), read after the run
        // rank 0 of job-b is gone; rank 1's save of step 15 waits up to 120 s for it, and step 20's save waits for that
        Result r = TrainerRuns.inProcess(st -> st, p, line -> {
            if (line.startsWith("save at step 20 waits")) {
                Thread later = new Thread(() -> { // once the rank is inside the wait
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                    signalledAt[0] = System.nanoTime();
                    p.request("SIGTERM");
                });
                later.setDaemon(true);
                later.start();
            }
        }, args(dir, List.of("--world-size", "2", "--rank", "1", "--job-id", "job-b", "--steps", "1000000",
                "--save-every", "5", "--auto-resume", "--preempt-deadline", "4s", "--stop-poll-interval", "100ms")));
        long after = (System.nanoTime() - signalledAt[0]) / 1_000_000;
        assertEquals(75, r.code(), r.all());
        assertTrue(signalledAt[0] > 0 && after < 30_000, "exited " + after + " ms after the signal\n" + r.all());
        assertTrue(r.out().contains("the ranks stop at step"), "proposed the stop while it waited\n" + r.all());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertTrue(s.readStop(s.joinRun("t", "job-b")).isPresent(), "the stop point is in the store for the others");
        }
    }

    /** Rank 0's run (still going), rank 1's result, and rank 0's preemption (to end it if a test fails). */
    private record StartUpStop(Future<Result> rank0, Result rank1, Preemption p0) {
    }

    /**
     * Job job-b of two ranks after job-a committed step 10: rank 0 trains on {@code pool}; rank 1 is signalled
     * (SIGTERM) as its start-up begins, with --preempt-deadline {@code preemptDeadline}, and each read its
     * start-up makes once it has joined the run goes to {@code onStartUpRead} first (which blocks or throws).
     */
    private StartUpStop rank1StopsDuringItsStartUp(Path dir, ExecutorService pool, String preemptDeadline,
                                                   java.util.function.Consumer<String> onStartUpRead) throws Exception {
        java.io.PrintStream quiet = new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true);
        Preemption p0 = new Preemption(quiet);
        Preemption p1 = new Preemption(quiet);
        Thread[] startUp = new Thread[1];
        Future<Result> rank0 = pool.submit(() -> TrainerRuns.inProcess(st -> st, p0, null, args(dir, List.of(
                "--world-size", "2", "--rank", "0", "--job-id", "job-b", "--steps", "1000000", "--save-every", "5",
                "--auto-resume", "--stop-poll-interval", "100ms"))));
        Result r1 = TrainerRuns.inProcess(st -> new dev.ckpt.store.objectstore.ForwardingObjectStore(st) {
            @Override
            public dev.ckpt.store.objectstore.StoredObject get(String key) {
                if (Thread.currentThread() == startUp[0] && !key.startsWith("runs/")) {
                    onStartUpRead.accept(key);
                }
                return super.get(key);
            }
        }, p1, line -> {
            if (line.startsWith("ckpt-train: rank 1 of 2")) {
                startUp[0] = Thread.currentThread();
                p1.request("SIGTERM");
            }
        }, args(dir, List.of("--world-size", "2", "--rank", "1", "--job-id", "job-b", "--steps", "1000000",
                "--save-every", "5", "--auto-resume", "--preempt-deadline", preemptDeadline, "--stop-poll-interval",
                "100ms")));
        return new StartUpStop(rank0, r1, p0);
    }

    /**
     * Only rank 1 is signalled (a spot notice on its machine), while its start-up waits on the
     * store (here: its read of ROOT for --auto-resume never answers): the start-up is abandoned at
     * --preempt-deadline and the rank exits 75 as before, and now it first proposes the stop, so
     * rank 0 stops by that deadline. It had trained on, and its saves waited --ranks-timeout for
     * rank 1's part (10 minutes by default; helper-77). The step is chosen from the run's newest
     * checkpoint, read on another thread, so rank 0 does not take it for an earlier job's stop.
     */
    @Test
    void aRankWhoseStartUpAStopAbandonsTellsTheOtherRanksWhoStopByItsDeadline() throws Exception {
        Path dir = tmp.resolve("start-up");
        assertEquals(0, ranks(dir, 2, "job-a", "--steps", "10").get(0).code());
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            StartUpStop run = rank1StopsDuringItsStartUp(dir, pool, "2s", key -> {
                try {
                    release.await(120, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new dev.ckpt.store.error.StoreUnavailableException("interrupted");
                }
            });
            Future<Result> rank0 = run.rank0();
            Preemption p0 = run.p0();
            Result r1 = run.rank1();
            assertEquals(75, r1.code(), r1.all());
            assertTrue(r1.out().contains("ckpt-train: rank 1: told the other ranks to stop (stop point ")
                    && r1.out().contains("this rank saves no part, so no checkpoint of this job can be completed"), r1.all());
            assertTrue(r1.out().contains("preempted: SIGTERM during start-up; --preempt-deadline 2s passed while resuming"),
                    r1.all());
            Result r0;
            try {
                r0 = rank0.get(60, java.util.concurrent.TimeUnit.SECONDS); // --ranks-timeout is 120 s
            } catch (java.util.concurrent.TimeoutException e) {
                p0.request("SIGTERM");
                throw new AssertionError("rank 0 still trained 60 s after rank 1 abandoned its start-up", e);
            }
            assertEquals(75, r0.code(), r0.all());
            assertTrue(r0.out().matches("(?s).*preempted: SIGTERM on rank 1 at step \\d+; rank 1 saves no part \\(the stop"
                    + " came during its start-up\\), so no checkpoint of this job can be completed: this rank stops now.*"),
                    r0.all());
            assertTrue(r0.out().contains("the latest checkpoint stays t-s10-e1"), r0.all());
            assertHeardBeforeActed(r0.out());
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(List.of(10L), s.list("t").stream().map(CheckpointEntry::step).toList());
        }
    }

    /** A rank says what it heard of another rank's stop once, before anything it does about it (helper-79). */
    private static void assertHeardBeforeActed(String out) {
        int heard = out.indexOf("ckpt-train: rank 1 received SIGTERM during its start-up and saves no part");
        assertTrue(heard >= 0, out);
        assertEquals(heard, out.lastIndexOf("ckpt-train: rank 1 received SIGTERM"), out);
        int skipped = out.indexOf(" skipped: ");
        assertTrue(skipped < 0 || heard < skipped, out);
        assertTrue(heard < out.indexOf("preempted: "), out);
    }

    /**
     * helper-79: a rank whose start-up fails soon after its stop (here its reads of the store fail once it has
     * joined) proposes the stop with a deadline still far off (--preempt-deadline 90s). The stop point could not
     * say that its proposer saves no part, so rank 0 trained on to the stop step and waited out those 90 s for
     * rank 1's part. Now the stop point says so, and rank 0 stops as soon as it reads it.
     */
    @Test
    void aRankWhoseStartUpFailsAfterItsStopLetsTheOthersStopAtOnce() throws Exception {
        Path dir = tmp.resolve("start-up-fails");
        assertEquals(0, ranks(dir, 2, "job-a", "--steps", "10").get(0).code());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            long t0 = System.nanoTime();
            StartUpStop run = rank1StopsDuringItsStartUp(dir, pool, "90s", key -> {
                throw new dev.ckpt.store.error.StoreUnavailableException("cannot read " + key + ": test fault");
            });
            Future<Result> rank0 = run.rank0();
            Preemption p0 = run.p0();
            Result r1 = run.rank1();
            assertEquals(75, r1.code(), r1.all());
            assertTrue(r1.out().contains("ckpt-train: rank 1: told the other ranks to stop (stop point "), r1.all());
            Result r0;
            try {
                r0 = rank0.get(45, java.util.concurrent.TimeUnit.SECONDS); // the stop's deadline is 90 s after the signal
            } catch (java.util.concurrent.TimeoutException e) {
                p0.request("SIGTERM");
                throw new AssertionError("rank 0 still trained 45 s after rank 1's start-up failed", e);
            }
            assertEquals(75, r0.code(), r0.all());
            assertTrue(r0.out().contains("rank 1 saves no part (the stop came during its start-up)")
                    && r0.out().contains("the latest checkpoint stays t-s10-e1"), r0.all());
            assertHeardBeforeActed(r0.out());
            assertTrue(System.nanoTime() - t0 < 80_000_000_000L, "both ranks ended before the stop's deadline");
        } finally {
            pool.shutdownNow();
        }
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(List.of(10L), s.list("t").stream().map(CheckpointEntry::step).toList());
        }
    }

    /**
     * A long --stop-poll-interval (1 h here; any whose two polls outlast half the deadline):
     * the stop step used to be the later of the second save step and two polls' worth of
     * steps, which lay past the deadline, so nothing was saved and both ranks exited 75 with
     * the older checkpoint. Every rank reads the stop point at its next save step, so the
     * stop is the second save step: both ranks save it, it is committed, both exit 75.
     */
    @Test
    void withALongPollIntervalTheRanksStillStopAtTheSecondSaveStepAndCommitIt() throws Exception {
        Path dir = tmp.resolve("long-poll");
        Preemption p = new Preemption(new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true));
        List<String> common = List.of("--world-size", "2", "--job-id", "job-l", "--steps", "1000000", "--save-every", "5",
                "--preempt-deadline", "30s", "--stop-poll-interval", "1h");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Result> rs = new ArrayList<>();
        try {
            List<String> zero = new ArrayList<>(common);
            zero.addAll(List.of("--rank", "0"));
            List<String> one = new ArrayList<>(common);
            one.addAll(List.of("--rank", "1"));
            Future<Result> r0 = pool.submit(() -> TrainerRuns.inProcess(args(dir, zero)));
            Future<Result> r1 = pool.submit(() -> TrainerRuns.inProcess(st -> st, p, line -> {
                if (line.startsWith("step 15 ")) {
                    p.request("SIGTERM");
                }
            }, args(dir, one)));
            rs.add(r0.get(300, java.util.concurrent.TimeUnit.SECONDS));
            rs.add(r1.get(300, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?s).*SIGTERM: the ranks stop at step (\\d+) .*")
                .matcher(rs.get(1).out());
        assertTrue(m.matches(), rs.get(1).all());
        long stop = Long.parseLong(m.group(1));
        assertTrue(stop % 5 == 0 && stop <= 30, "the second save step from about step 15: " + stop);
        for (Result r : rs) {
            assertEquals(75, r.code(), r.all());
            assertTrue(r.out().contains("committed checkpoint t-s" + stop + "-e1"), r.all());
        }
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("t");
            assertEquals(stop, cps.get(cps.size() - 1).step(), "the stop step is the latest checkpoint");
        }
    }

    @Test
    void aStopPointOfAnEarlierJobWithTheSameJobIdIsNamedAndNothingIsSaved() throws Exception {
        Path dir = tmp.resolve("stale");
        assertEquals(0, ranks(dir, 2, "job-a", "--steps", "10").get(0).code());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            s.proposeStop(s.joinRun("t", "job-a"), new StopPoint(5, 0, "SIGUSR1", null));
        }
        List<Result> rs = ranks(dir, 2, "job-a", "--steps", "1000000", "--save-every", "1000000", "--auto-resume",
                "--stop-poll-interval", "100ms");
        for (Result r : rs) {
            assertEquals(75, r.code(), r.all());
            assertTrue(r.out().contains("stop point runs/t/stop-e1.json says step 5, at or before step 10 where this job"
                    + " started: an earlier job used the same job id job-a (a job id must be new for each job)"), r.out());
        }
    }
}

package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * trainer/slurm/train-ranks.sbatch on a real single-node SLURM cluster that the test starts
 * itself (trainer/slurm/local-cluster.sh: munged, slurmctld, slurmd from Debian's packages,
 * installed with apt-get when missing; the test is skipped, saying why, only when they
 * cannot be installed). Each of the 4 tasks runs the real trainer, and logs first what SLURM
 * gave it: 4 tasks with SLURM_PROCID 0-3 and SLURM_NTASKS=4; the script's own
 * {@code --signal=USR1@60} (the time limit is cut once every rank trains) reaches every task
 * and not the batch shell (which would die of it and never requeue); the ranks commit once at
 * the agreed stop step and exit 75, the batch shell requeues the job once, and it runs again
 * with SLURM_RESTART_COUNT=1 on all 4 tasks, resumes to the end and completes, with a final
 * checkpoint byte-identical to one process that never stopped. (A stand-in trainer's test of
 * the same signal path was folded into this one: each waited a minute or more for SLURM's
 * signal, 62 s of CI.)
 */
class SlurmRanksTest {
    private static final Path SCRIPT = Path.of("slurm/train-ranks.sbatch").toAbsolutePath();
    private static final Path CLUSTER = Path.of("slurm/local-cluster.sh").toAbsolutePath();
    private static final int TASKS = 4;

    @TempDir
    Path tmp;

    @Test
    void directivesAskForFourTasksUsr1ToEveryTaskAndRequeue() throws Exception {
        List<String> lines = Files.readAllLines(SCRIPT);
        assertTrue(lines.contains("#SBATCH --ntasks=4"));
        assertTrue(lines.contains("#SBATCH --signal=USR1@60"), "without B: SLURM signals every task of the job steps");
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("#SBATCH --signal=B:")), "B: would signal the batch shell only");
        assertTrue(lines.contains("#SBATCH --requeue"));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("srun ")), "one trainer per task");
    }

    private record Run(int code, String out) {
    }

    private static Run run(Map<String, String> env, long timeoutSeconds, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Path log = Files.createTempFile("slurm-ranks-cmd", ".log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s: " + Files.readString(log));
        }
        String out = Files.readString(log);
        Files.delete(log);
        return new Run(p.exitValue(), out);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void await(String what, long seconds, BooleanSupplier done, Path dir) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("timed out after " + seconds + " s waiting for " + what + "; logs:\n" + logs(dir));
            }
            Thread.sleep(500);
        }
    }

    private static String logs(Path dir) {
        StringBuilder b = new StringBuilder();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".log") || p.toString().endsWith(".out")).sorted().toList()) {
                List<String> ls = Files.readAllLines(p);
                b.append("--- ").append(p.getFileName()).append(ls.size() > 80 ? " (last 80 lines)" : "").append('\n');
                ls.subList(Math.max(0, ls.size() - 80), ls.size()).forEach(l -> b.append(l).append('\n'));
            }
        } catch (IOException e) {
            b.append(e);
        }
        return b.toString();
    }

    private static List<String> lines(Path dir, String prefix) {
        List<String> out = new ArrayList<>();
        for (int r = 0; r < TASKS; r++) {
            Path log = dir.resolve("task-" + r + ".log");
            try {
                if (Files.exists(log)) {
                    Files.readAllLines(log).stream().filter(l -> l.startsWith(prefix)).forEach(out::add);
                }
            } catch (IOException e) {
                // being written: read again on the next poll
            }
        }
        return out;
    }

    /** Starts a private single-node SLURM under {@code base}, on ports of its own (another SLURM on 6817/6818 is left alone). */
    private Run clusterUp(Path base) throws Exception {
        // munged wants every directory above its socket searchable by all
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        int ctldPort = freePort();
        int slurmdPort = freePort();
        while (slurmdPort == ctldPort) {
            slurmdPort = freePort();
        }
        return run(Map.of(), 1200, CLUSTER.toString(), "up", base.toString(), Integer.toString(ctldPort),
                Integer.toString(slurmdPort));
    }

    /** Trainer options of both the SLURM job and the uninterrupted process (no --run: the script names the run). */
    private static final int STEPS = 500;

    private static List<String> trainerArgs(Path dir) {
        return List.of("--store", dir.resolve("store").toString(), "--steps", Integer.toString(STEPS), "--save-every", "10",
                "--keep-last", "1000", "--log-every", "1", "--stop-poll-interval", "200ms");
    }

    /** Elapsed run time of a running job in seconds (scontrol's RunTime=[D-]HH:MM:SS or MM:SS). */
    private static long runSeconds(Map<String, String> env, String job) {
        Matcher m = Pattern.compile("RunTime=(?:(\\d+)-)?(?:(\\d+):)?(\\d+):(\\d+)").matcher(jobState(env, job));
        assertTrue(m.find(), jobState(env, job));
        long d = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
        long h = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
        return ((d * 24 + h) * 60 + Long.parseLong(m.group(3))) * 60 + Long.parseLong(m.group(4));
    }

    private static String rankLog(Path work, int rank, int restart) {
        try {
            Path p = work.resolve("rank-" + rank + "-" + restart + ".log");
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean allRanks(Path work, int restart, Pattern p) {
        for (int r = 0; r < TASKS; r++) {
            if (!p.matcher(rankLog(work, r, restart)).find()) {
                return false;
            }
        }
        return true;
    }

    @Test
    void fourRealRanksGetUsr1CommitOnceAtTheAgreedStepAreRequeuedOnceAndEndBitIdenticalToOneProcess() throws Exception {
        Path base = tmp.resolve("cluster");
        Path work = Files.createDirectories(tmp.resolve("work"));
        Map<String, String> up = Map.of();
        Run started = clusterUp(base);
        try {
            Assumptions.assumeTrue(started.code() != 3, "no SLURM here and it cannot be installed: " + started.out());
            assertEquals(0, started.code(), "local-cluster.sh up: " + started.out());
            jvmTrainer(work);
            Map<String, String> env = Map.of("SLURM_CONF", base.resolve("slurm.conf").toString(),
                    "CKPT_TRAIN", work.resolve("jvm-ckpt-train").toString(), "CKPT_TEST_DIR", work.toString(),
                    "TMPDIR", tmp.toString());
            List<String> sbatch = new ArrayList<>(List.of("sbatch", "--parsable", "--chdir=" + work, SCRIPT.toString()));
            sbatch.addAll(trainerArgs(work));
            Run sb = run(env, 60, sbatch.toArray(new String[0]));
            assertEquals(0, sb.code(), sb.out());
            String job = sb.out().trim().lines().reduce((a, b) -> b).orElseThrow().split(";")[0];
            String run = "slurm-" + job;
            try {
                // every rank is training and the job has committed a checkpoint
                await("4 ranks at step 15", 240, () -> allRanks(work, 0, Pattern.compile("(?m)^step 15 ")), work);
                for (int r = 0; r < TASKS; r++) {
                    assertTrue(rankLog(work, r, 0).contains("ckpt-train: rank " + r + " of 4, job " + run + "-0:"),
                            rankLog(work, r, 0));
                }
                // what SLURM gave each task: SLURM_PROCID 0-3, SLURM_NTASKS=4, and the script's arguments
                List<String> started0 = lines(work, "start");
                Set<String> procids = new TreeSet<>();
                for (String l : started0) {
                    assertTrue(l.contains(" ntasks=4 ") && l.contains(" restart=0 ") && l.contains(" job=" + job + " "), l);
                    assertTrue(l.contains("args=--staging " + tmp + "/ckpt-staging-"), l);
                    assertTrue(l.contains(" --run " + run + " --auto-resume --store "), l);
                    procids.add(l.replaceAll(".*procid=(\\d+).*", "$1"));
                }
                assertEquals(Set.of("0", "1", "2", "3"), procids, "4 tasks with distinct ranks\n" + started0);
                // SLURM's own --signal=USR1@60: a time limit at the minute after next puts the job within 60 s of
                // its end at the next whole minute of run time (+ SLURM's 30 s check), with 60 s left to save
                long ran = runSeconds(env, job);
                long minutes = ran / 60 + 2;
                System.out.println("slurm: job " + job + " ran " + ran + " s; TimeLimit=" + minutes);
                Run cut = run(env, 60, "scontrol", "update", "JobId=" + job, "TimeLimit=" + minutes);
                assertEquals(0, cut.code(), cut.out());
                Pattern preempted = Pattern.compile(
                        "(?m)^preempted: (.*) at step (\\d+); committed checkpoint (\\S+) in .*; exiting 75 .*$");
                await("every rank's preempted line", 180, () -> allRanks(work, 0, preempted), work);
                // the requeued job keeps the cut time limit: give it room to train to the end
                Run raise = run(env, 60, "scontrol", "update", "JobId=" + job, "TimeLimit=30");
                assertEquals(0, raise.code(), raise.out());

                Set<String> stops = new TreeSet<>();
                Set<String> committed = new TreeSet<>();
                for (int r = 0; r < TASKS; r++) {
                    String t = rankLog(work, r, 0);
                    Matcher m = preempted.matcher(t);
                    assertTrue(m.find(), t);
                    assertTrue(m.group(1).startsWith("SIGUSR1"), "SLURM's USR1, rank " + r + ": " + m.group());
                    stops.add(m.group(2));
                    t.lines().filter(l -> l.contains("SIGUSR1") || l.startsWith("preempted:"))
                            .forEach(l -> System.out.println("slurm: rank: " + l)); // for the record
                    committed.add(m.group(3));
                }
                assertEquals(1, stops.size(), "one agreed stop step " + stops);
                long stop = Long.parseLong(stops.iterator().next());
                assertEquals(Set.of(run + "-s" + stop + "-e1"), committed, "one checkpoint, named alike by every rank");
                assertTrue(stop < STEPS, "stopped within the run at " + stop);

                await("the requeued job's 4 ranks to finish", 240, () -> allRanks(work, 1, Pattern.compile("(?m)^done: ")), work);
                await("the job to complete", 60, () -> jobState(env, job).contains("JobState=COMPLETED"), work);
                List<String> second = lines(work, "start").stream().filter(l -> l.contains(" restart=1 ")).toList();
                assertEquals(TASKS, second.size(), "every task ran again with SLURM_RESTART_COUNT=1\n" + logs(work));
                String state = jobState(env, job);
                System.out.println("slurm: " + state.lines().filter(l -> l.contains("Restarts=") || l.contains("RunTime="))
                        .map(String::trim).toList());
                assertTrue(state.contains("Restarts=1"), "requeued exactly once: " + state);
                String out = Files.readString(work.resolve("ckpt-train-ranks-" + job + ".out"));
                assertTrue(out.contains("exited 75 (preempted): requeueing job " + job), out);
                assertTrue(out.contains("job " + job + " (restart 1), 4 tasks"), out);
                for (int r = 0; r < TASKS; r++) {
                    String t = rankLog(work, r, 1);
                    assertTrue(t.contains("ckpt-train: rank " + r + " of 4, job " + run + "-1:"), t);
                    assertTrue(t.contains("auto-resume: restored checkpoint " + run + "-s" + stop + "-e1 "), t);
                    assertTrue(t.contains("done: run " + run + " at step " + STEPS), t);
                }
                try (CheckpointStore s = CheckpointStore.open(work.resolve("store").toString())) {
                    List<CheckpointEntry> cps = s.list(run);
                    List<CheckpointEntry> first = cps.stream().filter(e -> e.id().endsWith("-e1")).toList();
                    assertEquals(stop, first.get(first.size() - 1).step(), "nothing committed after the stop step: " + first);
                    assertEquals(1, cps.stream().filter(e -> e.step() == stop).count(), "one commit of the stop step");
                    for (CheckpointEntry e : cps) {
                        assertEquals(TASKS, e.ranks(), e.id());
                        assertTrue(e.id().endsWith("-e1") ? e.step() % 10 == 0 || e.step() == stop : e.step() > stop,
                                "regular saves, the stop, then the requeued job's: " + e.id());
                    }
                    assertEquals(STEPS, cps.get(cps.size() - 1).step());
                }
                assertTrue(TrainerRuns.deepVerify(work.resolve("store")).ok());
            } finally {
                run(env, 60, "scancel", job);
            }
            // one process that never stopped, on the same run name
            Path single = tmp.resolve("single");
            List<String> a = new ArrayList<>(trainerArgs(single));
            a.addAll(List.of("--staging", single.resolve("staging").toString(), "--run", run));
            TrainerRuns.Result one = TrainerRuns.inProcess(a.toArray(new String[0]));
            assertEquals(0, one.code(), one.all());
            Map<String, byte[]> expected = TrainerRuns.latestTensorsByName(single.resolve("store"), run, tmp);
            assertTrue(expected.containsKey("state.json"), expected.keySet().toString());
            TrainerRuns.assertSameFiles(expected, TrainerRuns.latestTensorsByName(work.resolve("store"), run, tmp));
        } finally {
            run(up, 60, CLUSTER.toString(), "down", base.toString());
        }
    }

    /**
     * The real trainer for each task: this test's classpath in a JVM of its own with signal
     * handlers ({@link TrainerChild}), each rank's output in rank-R-RESTART.log. Only in the
     * first incarnation every store write takes 300 ms, so that saves pace the ranks and
     * they are still training when USR1 comes.
     */
    private static void jvmTrainer(Path work) throws IOException {
        StringBuilder java = new StringBuilder("exec '" + Path.of(System.getProperty("java.home"), "bin", "java") + "' -Xmx384m");
        for (Map.Entry<String, String> d : Djl.defaults().entrySet()) {
            java.append(" '-D").append(d.getKey()).append('=').append(System.getProperty(d.getKey(), d.getValue())).append('\'');
        }
        java.append(" -Dckpt.test.writeLatencyMs=\"$latency\" -cp '").append(System.getProperty("java.class.path"))
                .append("' ").append(TrainerChild.class.getName())
                .append(" \"$@\" >> \"$CKPT_TEST_DIR/rank-$SLURM_PROCID-${SLURM_RESTART_COUNT:-0}.log\" 2>&1\n");
        Path f = work.resolve("jvm-ckpt-train");
        Files.writeString(f, "#!/bin/bash\nexport OPT_OUT_TRACKING=true DJL_OFFLINE=true\nlatency=0\n"
                // what SLURM gave the task, before the trainer starts
                + "echo \"start procid=$SLURM_PROCID ntasks=$SLURM_NTASKS restart=${SLURM_RESTART_COUNT:-0}"
                + " job=$SLURM_JOB_ID args=$*\" >> \"$CKPT_TEST_DIR/task-$SLURM_PROCID.log\"\n"
                + "[ \"${SLURM_RESTART_COUNT:-0}\" = 0 ] && latency=300\n" + java, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
    }

    private static String jobState(Map<String, String> env, String job) {
        try {
            return run(env, 30, "scontrol", "show", "job", job).out();
        } catch (Exception e) {
            return e.toString();
        }
    }
}

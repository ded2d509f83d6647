package dev.ckpt.trainer;

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
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * trainer/slurm/train-ranks.sbatch on a real single-node SLURM cluster that the test starts
 * itself (trainer/slurm/local-cluster.sh: munged, slurmctld, slurmd from Debian's packages,
 * installed with apt-get when missing; the test is skipped, saying why, only when they
 * cannot be installed). Each of the 4 tasks runs a stand-in for bin/ckpt-train that logs
 * what SLURM gave it: 4 tasks with SLURM_PROCID 0-3 and SLURM_NTASKS=4; the script's own
 * {@code --signal=USR1@60} (the time limit is cut to 1 minute once every task is up) reaches
 * every task and not the batch shell (which would die of it and never requeue); the tasks
 * exit 75, the batch shell requeues the job once, and it runs again with
 * SLURM_RESTART_COUNT=1 on all 4 tasks and completes.
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
                b.append("--- ").append(p.getFileName()).append('\n').append(Files.readString(p));
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

    @Test
    void fourTasksGetUsr1ExitSeventyFiveAndTheJobIsRequeuedOnce() throws Exception {
        // munged wants every directory above its socket searchable by all
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path base = tmp.resolve("cluster");
        Path work = Files.createDirectories(tmp.resolve("work"));
        Map<String, String> up = Map.of();
        int ctldPort = freePort();
        int slurmdPort = freePort();
        while (slurmdPort == ctldPort) {
            slurmdPort = freePort();
        }
        // ports of its own: another SLURM on this machine (6817/6818) is left alone
        Run started = run(up, 1200, CLUSTER.toString(), "up", base.toString(), Integer.toString(ctldPort),
                Integer.toString(slurmdPort));
        try {
            Assumptions.assumeTrue(started.code() != 3, "no SLURM here and it cannot be installed: " + started.out());
            assertEquals(0, started.code(), "local-cluster.sh up: " + started.out());
            fakeTrainer(work);
            Map<String, String> env = Map.of("SLURM_CONF", base.resolve("slurm.conf").toString(),
                    "CKPT_TRAIN", work.resolve("fake-ckpt-train").toString(), "CKPT_TEST_DIR", work.toString(),
                    "TMPDIR", tmp.toString());
            Run sb = run(env, 60, "sbatch", "--parsable", "--chdir=" + work, SCRIPT.toString(), "--steps", "9");
            assertEquals(0, sb.code(), sb.out());
            String job = sb.out().trim().lines().reduce((a, b) -> b).orElseThrow().split(";")[0];
            try {
                await("4 tasks to start", 180, () -> lines(work, "ready").size() == TASKS, work);
                List<String> first = lines(work, "start");
                Set<String> procids = new TreeSet<>();
                for (String l : first) {
                    assertTrue(l.contains(" ntasks=4 ") && l.contains(" restart=0 ") && l.contains(" job=" + job + " "), l);
                    procids.add(l.replaceAll(".*procid=(\\d+).*", "$1"));
                }
                assertEquals(Set.of("0", "1", "2", "3"), procids, "4 tasks with distinct ranks\n" + first);
                assertTrue(first.get(0).contains("args=--staging " + tmp + "/ckpt-staging-"), first.get(0));
                assertTrue(first.get(0).contains("--run slurm-" + job + " --auto-resume --steps 9"), first.get(0));

                // the script's --signal=USR1@60 fires once the job is within 60 s (+ SLURM's 30 s resolution) of its end
                Run cut = run(env, 60, "scontrol", "update", "JobId=" + job, "TimeLimit=1");
                assertEquals(0, cut.code(), cut.out());
                await("USR1 in every task", 150, () -> lines(work, "usr1").size() == TASKS, work);
                await("the requeued job's 4 tasks", 180, () -> lines(work, "done").size() == TASKS, work);
                List<String> second = lines(work, "start").stream().filter(l -> l.contains(" restart=1 ")).toList();
                assertEquals(TASKS, second.size(), "every task ran again with SLURM_RESTART_COUNT=1\n" + logs(work));
                await("the job to complete", 60, () -> jobState(env, job).contains("JobState=COMPLETED"), work);
                String state = jobState(env, job);
                assertTrue(state.contains("Restarts=1"), "requeued exactly once: " + state);
                String out = Files.readString(work.resolve("ckpt-train-ranks-" + job + ".out"));
                assertTrue(out.contains("exited 75 (preempted): requeueing job " + job), out);
                assertTrue(out.contains("job " + job + " (restart 1), 4 tasks"), out);
            } finally {
                run(env, 60, "scancel", job);
            }
        } finally {
            run(up, 60, CLUSTER.toString(), "down", base.toString());
        }
    }

    private static String jobState(Map<String, String> env, String job) {
        try {
            return run(env, 30, "scontrol", "show", "job", job).out();
        } catch (Exception e) {
            return e.toString();
        }
    }

    /** The stand-in for bin/ckpt-train: logs what SLURM gave the task; first run waits for USR1 and exits 75. */
    private static void fakeTrainer(Path work) throws IOException {
        Path fake = work.resolve("fake-ckpt-train");
        Files.writeString(fake, """
                #!/bin/bash
                log="$CKPT_TEST_DIR/task-$SLURM_PROCID.log"
                r="${SLURM_RESTART_COUNT:-0}"
                trap 'echo "usr1 procid=$SLURM_PROCID" >> "$log"; exit 75' USR1
                echo "start procid=$SLURM_PROCID ntasks=$SLURM_NTASKS restart=$r job=$SLURM_JOB_ID args=$*" >> "$log"
                if [ "$r" != 0 ]; then
                  echo "done procid=$SLURM_PROCID" >> "$log"
                  exit 0
                fi
                echo "ready procid=$SLURM_PROCID" >> "$log"
                while true; do sleep 0.2 & wait $!; done
                """, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
    }
}

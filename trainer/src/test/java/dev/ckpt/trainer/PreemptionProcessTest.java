package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.trainer.TrainerRuns.Child;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer in JVMs of its own ({@link TrainerChild}), stopped by real signals: SIGUSR1
 * (SLURM's warning) must save, commit and exit 75; SIGKILL at random points during
 * staging, upload and commit must never leave a corrupt or half-visible checkpoint; and
 * resuming each time must end byte-identical to a run that was never interrupted.
 */
class PreemptionProcessTest {
    private static final int STEPS = 120;
    @TempDir
    Path tmp;

    private String[] args(Path dir, String... more) {
        return args(dir, STEPS, more);
    }

    private String[] args(Path dir, int steps, String... more) {
        List<String> a = new ArrayList<>(List.of("--store", dir.resolve("store").toString(), "--staging",
                dir.resolve("staging").toString(), "--run", "p", "--steps", Integer.toString(steps), "--save-every", "10",
                "--keep-last", "4", "--log-every", "1"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    private Path uninterrupted(int steps) {
        Path a = tmp.resolve("uninterrupted");
        Result r = TrainerRuns.inProcess(args(a, steps));
        assertEquals(0, r.code(), r.all());
        return a.resolve("store");
    }

    @Test
    void sigusr1SavesCommitsAndExits75AndTheResumeIsBitIdentical() throws Exception {
        Path b = tmp.resolve("b");
        Path requeued = tmp.resolve("requeued");
        int steps = 600; // room enough that the signal lands before the end, even on a fast machine
        Child c = new Child(0, java.util.Map.of("CKPT_ON_PREEMPT", "echo requeue > '" + requeued + "'"), args(b, steps));
        c.await(l -> l.startsWith("out: step 25 "), 120, "step 25");
        c.signal("USR1");
        // POSIX does not queue a second pending SIGUSR1: send it once the first was seen (failed once on a loaded machine)
        c.await(l -> l.contains("SIGUSR1 received"), 60, "the first signal");
        c.signal("USR1"); // a second signal changes nothing
        int code = c.waitFor(120);
        assertEquals(75, code, c.transcript.toString());
        String line = c.transcript.toString().lines().filter(l -> l.startsWith("out: preempted: ")).findFirst()
                .orElseThrow(() -> new AssertionError(c.transcript.toString()));
        Matcher m = Pattern.compile("out: preempted: SIGUSR1 at step (\\d+); committed checkpoint (p-s\\d+-\\S+) in [\\d.]+ s from the signal; "
                + "exiting 75 .*").matcher(line);
        assertTrue(m.matches(), line);
        long step = Long.parseLong(m.group(1));
        assertTrue(step >= 25 && step < steps, line);
        assertTrue(c.transcript.toString().contains("already stopping"), c.transcript.toString());
        assertEquals("requeue\n", Files.readString(requeued), "CKPT_ON_PREEMPT ran (SLURM: scontrol requeue)");
        try (CheckpointStore s = CheckpointStore.open(b.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("p");
            CheckpointEntry last = cps.get(cps.size() - 1);
            assertEquals(m.group(2), last.id());
            assertEquals(step, last.step());
        }
        assertTrue(TrainerRuns.deepVerify(b.resolve("store")).ok());

        Child resume = new Child(0, args(b, steps, "--auto-resume"));
        assertEquals(0, resume.waitFor(120), resume.transcript.toString());
        assertTrue(resume.transcript.toString().contains("auto-resume: restored checkpoint " + m.group(2)), resume.transcript.toString());
        TrainerRuns.assertSameFiles(TrainerRuns.latestTensors(uninterrupted(steps), "p", tmp),
                TrainerRuns.latestTensors(b.resolve("store"), "p", tmp));
    }

    /**
     * Ctrl-C stops as SIGTERM does: the step is saved and committed, exit 75 (helper-103: the
     * trainer had no SIGINT handler, so the JVM ended with 130, said nothing, and dropped the saves
     * it had staged). A second Ctrl-C says how to end the process at once. The child starts with
     * SIGINT at its default: a test run a script put in the background inherits it ignored.
     */
    @Test
    void sigintSavesCommitsAndExits75() throws Exception {
        Path b = tmp.resolve("b");
        Child c = new Child(List.of("env", "--default-signal=INT"), 0, java.util.Map.of(), args(b, 600));
        c.await(l -> l.startsWith("out: step 25 "), 120, "step 25");
        c.signal("INT");
        c.await(l -> l.contains("SIGINT received: saving at the next step boundary, then exiting 75"), 60, "the first SIGINT");
        c.signal("INT");
        assertEquals(75, c.waitFor(120), c.transcript.toString());
        String all = c.transcript.toString();
        assertTrue(all.contains("SIGINT received again (2 stop requests): already stopping")
                && all.contains("kill -KILL " + c.process.pid() + "; every committed checkpoint stays"), all);
        Matcher m = Pattern.compile("out: preempted: SIGINT at step (\\d+); committed checkpoint (p-s\\d+-\\S+) in [\\d.]+ s"
                + " from the signal; exiting 75 .*").matcher(all.lines().filter(l -> l.startsWith("out: preempted: "))
                .findFirst().orElseThrow(() -> new AssertionError(all)));
        assertTrue(m.matches(), all);
        try (CheckpointStore s = CheckpointStore.open(b.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("p");
            assertEquals(m.group(2), cps.get(cps.size() - 1).id());
            assertEquals(Long.parseLong(m.group(1)), cps.get(cps.size() - 1).step());
        }
    }

    @Test
    void sigkillAtRandomPointsNeverLeavesAHalfCheckpointAndTheEndIsBitIdentical() throws Exception {
        long seed = Long.getLong("ckpt.test.seed", System.nanoTime());
        Random rnd = new Random(seed);
        String ctx = "seed " + seed + " (rerun with -Dckpt.test.seed=" + seed + ")";
        List<String> phases = new ArrayList<>(List.of("staging", "upload", "commit", "staging", "upload", "commit"));
        Collections.shuffle(phases, rnd);
        Path b = tmp.resolve("b");
        long lastStep = 0;
        List<String> log = new ArrayList<>();
        for (String phase : phases) {
            Child c = new Child(20, args(b, "--auto-resume"));
            // wait for the next save past what is committed, then for the phase within it
            Predicate<String> trigger = switch (phase) {
                case "staging" -> l -> l.matches("out: step \\d*0 .*") && !l.startsWith("out: step 0 ");
                case "upload" -> {
                    int nth = 1 + rnd.nextInt(6); // a save of this model writes 6 to 11 chunks
                    int[] seen = {0};
                    yield l -> l.startsWith("err: [io] PUT_IF_ABSENT chunks/") && ++seen[0] == nth;
                }
                default -> l -> l.matches("err: \\[io\\] PUT_IF_MATCH ROOT") && c.transcript.indexOf("[io] PUT_IF_ABSENT manifests/") >= 0;
            };
            String hit = c.await(trigger, 120, phase + " (" + ctx + ")");
            Thread.sleep(rnd.nextInt(25));
            c.signal("KILL");
            int code = c.waitFor(60);
            assertEquals(137, code, ctx + "\n" + c.transcript);
            log.add(phase + " at '" + hit + "'");
            // the store: every listed checkpoint complete and intact, steps only go up
            VerifyReport v = TrainerRuns.deepVerify(b.resolve("store"));
            assertTrue(v.ok(), ctx + " after kill during " + phase + ": " + v.problems());
            try (CheckpointStore s = CheckpointStore.open(b.resolve("store").toString())) {
                List<CheckpointEntry> cps = s.list("p");
                for (CheckpointEntry e : cps) {
                    assertEquals(0, e.step() % 10, e.id());
                    Path into = tmp.resolve("check-" + e.id() + "-" + System.nanoTime());
                    s.restore(e, into, List.of());
                    assertTrue(Files.isRegularFile(into.resolve("optimizer.safetensors")), e.id());
                }
                long now = cps.isEmpty() ? 0 : cps.get(cps.size() - 1).step();
                assertTrue(now >= lastStep, ctx + ": latest step went back from " + lastStep + " to " + now);
                lastStep = now;
            }
        }
        assertTrue(log.size() >= 5, log.toString());
        Child fin = new Child(0, args(b, "--auto-resume"));
        assertEquals(0, fin.waitFor(180), ctx + "\n" + fin.transcript);
        TrainerRuns.assertSameFiles(TrainerRuns.latestTensors(uninterrupted(STEPS), "p", tmp),
                TrainerRuns.latestTensors(b.resolve("store"), "p", tmp));
        System.out.println("SIGKILL points (" + ctx + "): " + String.join("; ", log));
    }
}

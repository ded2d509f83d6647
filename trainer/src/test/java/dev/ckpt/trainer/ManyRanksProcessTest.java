package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.trainer.TrainerRuns.Child;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Four ranks as four JVMs ({@link TrainerChild}, real signal handlers), configured through the
 * environment as srun configures them. SIGUSR1 reaches only rank 2: the ranks agree through
 * the store on one stop step, each saves its part there, rank 0 commits once, all four exit
 * 75; the requeued job (a new SLURM restart count) resumes and ends byte-identical to one
 * process that never stopped.
 */
class ManyRanksProcessTest {
    private static final int STEPS = 400;
    private static final int RANKS = 4;

    @TempDir
    Path tmp;

    private static String[] args(Path dir, String... more) {
        List<String> a = new ArrayList<>(List.of("--store", dir.resolve("store").toString(), "--staging",
                dir.resolve("staging").toString(), "--run", "p", "--steps", Integer.toString(STEPS), "--save-every", "10",
                "--keep-last", "100", "--log-every", "1", "--stop-poll-interval", "200ms", "--preempt-deadline", "60s"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    /** srun's environment for one task of job 4242 after {@code restarts} requeues. */
    private static Map<String, String> srun(int rank, int restarts) {
        return Map.of("SLURM_NTASKS", Integer.toString(RANKS), "SLURM_PROCID", Integer.toString(rank),
                "SLURM_JOB_ID", "4242", "SLURM_RESTART_COUNT", Integer.toString(restarts));
    }

    @Test
    void sigusr1ToOneRankMakesAllFourSaveOneCheckpointAtTheAgreedStepExit75AndResumeBitIdentically() throws Exception {
        Path b = tmp.resolve("b");
        List<Child> ranks = new ArrayList<>();
        for (int r = 0; r < RANKS; r++) {
            ranks.add(new Child(0, srun(r, 0), args(b)));
        }
        for (Child c : ranks) { // every rank is training and the job has committed a checkpoint
            c.await(l -> l.startsWith("out: step 25 "), 180, "step 25");
        }
        Child signalled = ranks.get(2);
        signalled.signal("USR1");
        String agreed = signalled.await(l -> l.contains("the ranks stop at step"), 60, "the agreed stop step");
        Matcher am = Pattern.compile(".*SIGUSR1: the ranks stop at step (\\d+) .*").matcher(agreed);
        assertTrue(am.matches(), agreed);
        long stop = Long.parseLong(am.group(1));
        assertTrue(stop < STEPS, "the stop step " + stop + " is within the run; " + agreed);

        Set<String> committed = new HashSet<>();
        for (int r = 0; r < RANKS; r++) {
            Child c = ranks.get(r);
            assertEquals(75, c.waitFor(180), "rank " + r + "\n" + c.transcript);
            String t = c.transcript.toString();
            Matcher m = Pattern.compile("(?m)^out: preempted: (.*) at step (\\d+); committed checkpoint (\\S+) in .*$").matcher(t);
            assertTrue(m.find(), "rank " + r + "\n" + t);
            assertEquals(stop, Long.parseLong(m.group(2)), "rank " + r + " saved at the agreed step\n" + t);
            assertEquals(r == 2 ? "SIGUSR1" : "SIGUSR1 on rank 2", m.group(1), t);
            committed.add(m.group(3));
            if (r != 2) {
                assertTrue(t.contains("out: ckpt-train: rank 2 received SIGUSR1: the ranks stop at step " + stop), t);
            }
        }
        assertEquals(Set.of("p-s" + stop + "-e1"), committed, "one checkpoint, named alike by every rank");
        for (int r = 0; r < RANKS; r++) { // for the record (README "Many ranks" quotes them)
            ranks.get(r).transcript.toString().lines().filter(l -> l.contains("the ranks stop at step") || l.contains("preempted:")
                    || l.contains("saving step")).forEach(l -> System.out.println("rank: " + l));
        }
        try (CheckpointStore s = CheckpointStore.open(b.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("p");
            CheckpointEntry last = cps.get(cps.size() - 1);
            assertEquals(stop, last.step(), "nothing committed after the agreed step");
            assertEquals(RANKS, last.ranks());
            assertEquals(1, cps.stream().filter(e -> e.step() == stop).count(), "one commit of the stop step");
            for (CheckpointEntry e : cps) {
                assertTrue(e.step() % 10 == 0 || e.step() == stop, "regular saves and the stop only: " + e.id());
                assertEquals(RANKS, e.ranks(), e.id());
            }
            assertTrue(Files.exists(b.resolve("store/runs/p/stop-e1.json")), "the stop point lives in the store");
        }
        assertTrue(TrainerRuns.deepVerify(b.resolve("store")).ok());

        // the requeued job: SLURM_RESTART_COUNT 1, a new job id, a new writer epoch
        List<Child> again = new ArrayList<>();
        for (int r = 0; r < RANKS; r++) {
            again.add(new Child(0, srun(r, 1), args(b, "--auto-resume")));
        }
        for (int r = 0; r < RANKS; r++) {
            Child c = again.get(r);
            assertEquals(0, c.waitFor(300), "resumed rank " + r + "\n" + c.transcript);
            assertTrue(c.transcript.toString().contains("auto-resume: restored checkpoint p-s" + stop + "-e1"), c.transcript.toString());
            assertTrue(c.transcript.toString().contains("job slurm-4242-1"), c.transcript.toString());
        }
        Path single = tmp.resolve("single");
        Result base = TrainerRuns.inProcess(args(single));
        assertEquals(0, base.code(), base.all());
        Map<String, byte[]> expected = TrainerRuns.latestTensorsByName(single.resolve("store"), "p", tmp);
        Map<String, byte[]> actual = TrainerRuns.latestTensorsByName(b.resolve("store"), "p", tmp);
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> org.junit.jupiter.api.Assertions.assertArrayEquals(v, actual.get(k),
                k + " differs from the uninterrupted run"));
    }
}

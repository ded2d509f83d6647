package dev.ckpt.trainer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** trainer/slurm/train.sbatch, run by bash as SLURM would, with a stand-in for bin/ckpt-train. */
class SlurmScriptTest {
    private static final Path SCRIPT = Path.of("slurm/train.sbatch").toAbsolutePath();
    @TempDir
    Path tmp;

    private record Run(int code, String out) {
    }

    private Run sbatch(Map<String, String> env, String... args) throws Exception {
        Path fake = tmp.resolve("fake-ckpt-train");
        Files.writeString(fake, """
                #!/bin/bash
                echo "trainer pid $$"
                echo "trainer args: $*"
                echo "on preempt: $CKPT_ON_PREEMPT"
                exit 75
                """);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", SCRIPT.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("SLURM_JOB_ID");
        pb.environment().put("CKPT_TRAIN", fake.toString());
        pb.environment().put("TMPDIR", tmp.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }

    @Test
    void directivesAskForUsr1SixtySecondsAheadAndRequeue() throws Exception {
        List<String> lines = Files.readAllLines(SCRIPT);
        assertTrue(lines.contains("#SBATCH --signal=B:USR1@60"), "USR1 to the batch shell 60 s before the end");
        assertTrue(lines.contains("#SBATCH --requeue"));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("exec \"$TRAIN\" ")), "the launcher replaces the shell");
    }

    @Test
    void execsTheTrainerWithTheJobAsRunAndItsArgumentsAndRequeuesOn75() throws Exception {
        Run r = sbatch(Map.of("SLURM_JOB_ID", "4242", "SLURM_SUBMIT_DIR", tmp.toString()), "--steps", "500", "--run", "mine");
        assertEquals(75, r.code(), r.out());
        String scriptPid = r.out().replaceAll("(?s).*pid (\\d+), repo.*", "$1");
        String trainerPid = r.out().replaceAll("(?s).*trainer pid (\\d+).*", "$1");
        assertEquals(scriptPid, trainerPid, "exec: the JVM is the batch shell and gets SLURM's signal\n" + r.out());
        assertTrue(r.out().contains("trainer args: --run slurm-4242 --staging " + tmp + "/ckpt-staging-"), r.out());
        assertTrue(r.out().contains("--auto-resume --steps 500 --run mine"), r.out());
        assertTrue(r.out().contains("on preempt: scontrol requeue 4242"), r.out());
    }

    @Test
    void outsideSlurmItSaysSo() throws Exception {
        Run r = sbatch(Map.of());
        assertTrue(r.code() != 0 && r.out().contains("not running under SLURM (no SLURM_JOB_ID); use sbatch"), r.out());
    }
}

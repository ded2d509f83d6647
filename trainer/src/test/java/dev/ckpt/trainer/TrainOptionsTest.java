package dev.ckpt.trainer;

import dev.ckpt.store.error.ExitCode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ckpt-train's command line on picocli: every option of the hand-written parser, its help and its usage errors. */
class TrainOptionsTest {
    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Trainer.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), Map.of(), url -> {
                    throw new AssertionError("a usage error or --help must not open the store");
                }, false);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private record Case(String option, String value, Function<TrainOptions, Object> field, Object expected) {
    }

    /** Every option the hand-written parser took, a value and where it lands. */
    private static final List<Case> OPTIONS = List.of(
            new Case("--store", "s3://b/p", o -> o.store, "s3://b/p"),
            new Case("--run", "exp7", o -> o.run, "exp7"),
            new Case("--steps", "300", o -> o.steps, 300L),
            new Case("--save-every", "7", o -> o.saveEvery, 7L),
            new Case("--keep-last", "5", o -> o.keepLast, 5),
            new Case("--staging", "/tmp/st", o -> o.staging, Path.of("/tmp/st")),
            new Case("--save-dir", "/tmp/sd", o -> o.staging, Path.of("/tmp/sd")),
            new Case("--seed", "9", o -> o.seed, 9L),
            new Case("--input", "16", o -> o.input, 16),
            new Case("--hidden", "24", o -> o.hidden, 24),
            new Case("--output", "8", o -> o.output, 8),
            new Case("--batch", "4", o -> o.batch, 4),
            new Case("--dataset-size", "64", o -> o.datasetSize, 64),
            new Case("--lr", "0.5", o -> o.lr, 0.5f),
            new Case("--frozen-mb", "2", o -> o.frozenMb, 2),
            new Case("--log-every", "3", o -> o.logEvery, 3L),
            new Case("--preempt-deadline", "2m", o -> o.preemptDeadline, Duration.ofMinutes(2)),
            new Case("--spot-notice", "gcp", o -> o.spotNotice, "gcp"),
            new Case("--spot-notice-url", "http://127.0.0.1:1/x", o -> o.spotNoticeUrl, "http://127.0.0.1:1/x"),
            new Case("--spot-poll-interval", "500ms", o -> o.spotPollInterval, Duration.ofMillis(500)),
            new Case("--min-free-mb", "100", o -> o.minFreeMb, 100L));

    @Test
    void everyOptionKeepsItsSpellingsTheDashedTheUnderscoredAndWithEquals() {
        for (Case c : OPTIONS) {
            for (String name : List.of(c.option(), c.option().replace('-', '_').replaceFirst("^__", "--"))) {
                assertEquals(c.expected(), c.field().apply(TrainOptions.parse(new String[]{name, c.value()}, Map.of())), name);
                assertEquals(c.expected(), c.field().apply(TrainOptions.parse(new String[]{name + "=" + c.value()}, Map.of())),
                        name + "=");
            }
        }
        for (String flag : List.of("--auto-resume", "--auto_resume")) {
            assertTrue(TrainOptions.parse(new String[]{flag}, Map.of()).autoResume, flag);
        }
        for (String flag : List.of("--lenient-resume", "--lenient_resume")) {
            assertTrue(TrainOptions.parse(new String[]{flag}, Map.of()).lenientResume, flag);
        }
        for (String flag : List.of("--skip-if-busy", "--skip_if_busy")) {
            assertTrue(TrainOptions.parse(new String[]{flag}, Map.of()).skipIfBusy, flag);
        }
        assertNull(TrainOptions.parse(new String[]{"--help"}, Map.of()));
        assertNull(TrainOptions.parse(new String[]{"-h"}, Map.of()));
    }

    @Test
    void defaultsAndTheEnvironmentAreAsBefore() {
        TrainOptions o = TrainOptions.parse(new String[0], Map.of("CKPT_ON_PREEMPT", "scontrol requeue 7"));
        assertEquals("./ckpt-store", o.store);
        assertEquals("latentwire", o.run);
        assertEquals(200, o.steps);
        assertEquals(50, o.saveEvery);
        assertEquals(3, o.keepLast);
        assertEquals(Path.of("./ckpt-staging"), o.staging);
        assertEquals(Duration.ofSeconds(50), o.preemptDeadline);
        assertEquals(Duration.ofSeconds(5), o.spotPollInterval);
        assertFalse(o.autoResume || o.lenientResume || o.skipIfBusy);
        assertEquals("scontrol requeue 7", o.onPreempt);
        assertNull(TrainOptions.parse(new String[0], Map.of("CKPT_ON_PREEMPT", " ")).onPreempt);
    }

    @Test
    void helpSaysWhatItDoesEveryOptionWithItsDefaultTheEnvironmentAndTheSharedExitCodes() {
        Run r = run("--help");
        assertEquals(0, r.code(), r.err());
        String help = r.out();
        assertTrue(help.startsWith("Usage: ckpt-train"), help);
        assertTrue(help.contains("Trains a LatentWire-like model"), help);
        for (Case c : OPTIONS) {
            if (!c.option().equals("--save-dir")) {
                assertTrue(help.contains(c.option() + "="), c.option() + " in\n" + help);
            }
        }
        for (String flag : List.of("--auto-resume", "--lenient-resume", "--skip-if-busy", "--save_every", "--save_dir",
                "--auto_resume")) {
            assertTrue(help.contains(flag), flag + " in\n" + help);
        }
        for (String dflt : List.of("(default: ./ckpt-store)", "(default: 200)", "(default: 50)", "(default: 3)",
                "(default: ./ckpt-staging)", "(default: 50s)", "(default: 5s)", "(default: 42)", "(default: 0.01)")) {
            assertTrue(help.replaceAll("\\s+", " ").contains(dflt), dflt + " in\n" + help); // wherever a line wraps
        }
        assertTrue(help.contains("MiB") && help.contains("500ms, 50s, 2m or 1h"), "units\n" + help);
        assertTrue(help.contains("CKPT_ON_PREEMPT") && help.contains("SLURM_JOB_ID") && help.contains("AWS_*"), help);
        assertTrue(help.contains(ExitCode.help(ExitCode.Program.CKPT_TRAIN).replace("\n", System.lineSeparator())),
                "the exit codes, from the shared table\n" + help);
        assertTrue(help.contains("   4  fenced") && help.contains("  75  preempted"), help);
        assertFalse(help.contains("   3  damage"), "verify's code is ckpt-tool's only\n" + help);
    }

    @Test
    void aUsageErrorIsTheReasonTheSynopsisAndWhereHelpIsWithExitTwo() {
        for (List<String> args : List.of(List.of("--steps", "many"), List.of("--keep-last", "0"), List.of("--save-evry", "3"),
                List.of("--staging"), List.of("extra"), List.of("--preempt-deadline", "soon"))) {
            Run r = run(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE.code(), r.code(), args + ": " + r);
            List<String> lines = r.err().lines().toList();
            assertTrue(lines.get(0).startsWith("ckpt-train: "), r.err());
            assertTrue(r.err().contains("usage: ckpt-train"), r.err());
            assertTrue(r.err().contains("'ckpt-train --help'"), r.err());
            assertTrue(lines.size() <= 6, "short: " + r.err());
            assertFalse(r.err().contains("Exception") || r.err().contains("picocli"), r.err());
            assertEquals("", r.out());
        }
        assertTrue(run("--steps", "many").err().startsWith("ckpt-train: option --steps needs a number, got 'many'"));
        assertTrue(run("--keep_last", "0").err().startsWith("ckpt-train: option --keep-last must be at least 1, got 0"));
        assertTrue(run("--save-evry", "3").err().contains("--save-every"), "suggests the option meant");
        assertTrue(run("--save-dir").err().startsWith("ckpt-train: option --save-dir needs a value"), "names the spelling typed");
    }

    @Test
    void aRepeatedOptionTakesItsLastValueAndValuesAreLiteral() {
        // the SLURM script passes --run, --staging and --auto-resume before the user's own arguments
        TrainOptions o = TrainOptions.parse(new String[]{"--run", "slurm-1", "--auto-resume", "--steps=10",
                "--run", "mine", "--auto-resume", "--steps", "20"}, Map.of());
        assertEquals("mine", o.run);
        assertEquals(20, o.steps);
        assertTrue(o.autoResume);
        assertEquals("@runfile", TrainOptions.parse(new String[]{"--run", "@runfile"}, Map.of()).run,
                "an @ value is a value, not a file of arguments");
    }

    @Test
    void anOptionWithoutItsValueSaysSo() {
        for (String[] args : new String[][]{{"--steps"}, {"--steps", "--staging", "/s"}}) {
            picocli.CommandLine.ParameterException e = org.junit.jupiter.api.Assertions.assertThrows(
                    picocli.CommandLine.ParameterException.class, () -> TrainOptions.parse(args, Map.of()));
            assertEquals("option --steps needs a value", e.getMessage(), String.join(" ", args));
        }
    }
}

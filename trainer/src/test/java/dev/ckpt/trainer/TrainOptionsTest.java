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
        String all() {
            return out + err;
        }
    }

    private static Run run(String... args) {
        return run(Map.of(), args);
    }

    private static Run run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Trainer.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env, url -> {
                    throw new AssertionError("a usage error or --help must not open the store");
                }, false);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private record Case(String option, String value, Function<TrainOptions, Object> field, Object expected) {
    }

    /** Every option the hand-written parser took, a value and where it lands. */
    private static final List<Case> OPTIONS = List.of(
            new Case("--store", "s3://bkt/p", o -> o.store, "s3://bkt/p"),
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
        // --help takes no value: --help=false printed the help (helper-143); as ckpt-tool's --help=x
        for (String given : List.of("--help=false", "--help=true", "-h=0")) {
            Run r = run(given, "--steps", "7");
            assertEquals(ExitCode.USAGE.code(), r.code(), given + ": " + r);
            assertTrue(r.err().startsWith("ckpt-train: '" + given + "': " + given.substring(0, given.indexOf('='))
                    + " takes no value (give it alone for the help, or leave it out)"), r.err());
            assertFalse(r.out().contains("Usage:"), r.out());
        }
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
        assertTrue(help.contains("MiB") && help.replaceAll("\\s+", " ").contains("500ms, 50s, 2m or 1h"), "units\n" + help);
        assertTrue(help.contains("CKPT_ON_PREEMPT") && help.contains("SLURM_JOB_ID") && help.contains("AWS_*"), help);
        assertTrue(help.contains(ExitCode.help(ExitCode.Program.CKPT_TRAIN).replace("\n", System.lineSeparator())),
                "the exit codes, from the shared table\n" + help);
        assertTrue(help.contains("   4  fenced") && help.contains("  75  preempted"), help);
        assertFalse(help.contains("   3  damage"), "verify's code is ckpt-tool's only\n" + help);
    }

    /**
     * A duration past 100 years is a usage error: a stop's deadline is counted in nanoseconds from
     * the signal, and --preempt-deadline 1000000000000h overflowed there, so the stop's save was
     * lost to "unexpected error: long overflow" (helper-77).
     */
    @Test
    void aDurationPastAHundredYearsIsAUsageError() {
        assertEquals(Duration.ofDays(36500), TrainOptions.duration("876000h"));
        for (String d : List.of("876001h", "1000000000000h", "9223372036854775807ms", "99999999999999999999s")) {
            Run r = run("--preempt-deadline", d);
            assertEquals(ExitCode.USAGE.code(), r.code(), d + ": " + r);
            assertTrue(r.err().contains("--preempt-deadline") && r.err().contains(d), r.err());
            assertFalse(r.err().contains("overflow"), r.err());
        }
        Run r = run("--spot-poll-interval", "1000000000000h");
        assertEquals(ExitCode.USAGE.code(), r.code(), r.toString());
        assertTrue(r.err().contains("'1000000000000h' is longer than ckpt takes (at most 36500d, 100 years)"), r.err());
    }

    /**
     * helper-106: a malformed --spot-notice-url ended the run with a stack trace holding its password three times;
     * "foo" and ftp:// were taken. --min-free-mb past what a long holds in bytes turned the check off.
     */
    @Test
    void aSpotNoticeUrlThatCannotBePolledAndAnOverflowingMinFreeAreUsageErrors() {
        for (String url : List.of("http://admin:S3cretPassw0rd@exa mple/", "http://[::1", "foo", "ftp://x/y",
                "http:///path")) {
            Run r = run("--spot-notice", "aws", "--spot-notice-url", url);
            assertEquals(ExitCode.USAGE.code(), r.code(), url + ": " + r);
            assertTrue(r.err().startsWith("ckpt-train: option --spot-notice-url '"), r.err());
            assertFalse(r.all().contains("S3cretPassw0rd") || r.all().contains("Exception") || r.all().contains("\tat "),
                    r.all());
        }
        assertTrue(run("--spot-notice", "aws", "--spot-notice-url", "http://admin:S3cretPassw0rd@exa mple/").err()
                .contains("'http://***@exa mple/' is not a URL"));
        Run big = run("--min-free-mb", "9000000000000");
        assertEquals(ExitCode.USAGE.code(), big.code(), big.toString());
        assertTrue(big.err().contains("option --min-free-mb 9000000000000 is more than any disk holds"), big.err());
        // a model option out of range is named (one line for all of them named none)
        for (String[] c : List.of(new String[] {"--batch", "0", "option --batch must be 1 or more, got 0"},
                new String[] {"--hidden", "0", "option --hidden must be 1 or more, got 0"},
                new String[] {"--dataset-size", "4", "option --dataset-size 4 holds less than one batch (--batch 32)"},
                new String[] {"--lr", "-1", "option --lr must be more than 0, got -1.0"})) {
            Run r = run(c[0], c[1]);
            assertEquals(ExitCode.USAGE.code(), r.code(), r.toString());
            assertTrue(r.err().startsWith("ckpt-train: " + c[2]), r.err());
        }
    }

    /** An option given as the empty string (an unset variable) is a usage error naming it: --staging '' staged in ".". */
    @Test
    void anEmptyOptionValueIsAUsageErrorNamingIt() {
        for (String opt : List.of("--staging", "--store", "--run", "--job-id", "--preempt-deadline", "--steps")) {
            for (String[] args : List.of(new String[]{opt, ""}, new String[]{opt + "="})) {
                Run r = run(args);
                assertEquals(ExitCode.USAGE.code(), r.code(), opt + ": " + r);
                assertTrue(r.err().startsWith("ckpt-train: option " + opt + " is empty (an unset variable?): give it a"
                        + " value, or leave it out for its default\n"), r.err());
            }
        }
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
        // digits of another script, which Java's parsers take (helper-127: --steps \u0663 trained 3 steps)
        assertTrue(run("--steps", "\u0663").err().startsWith("ckpt-train: option --steps needs a number, got '\u0663' (write it"
                + " with the digits 0-9)"), run("--steps", "\u0663").err());
        assertTrue(run("--save-every", "\u0968").err().contains("(write it with the digits 0-9)"));
        // helper-130: a control character is no blank (ESC 2 was 2), and a rate is a finite decimal number (--lr 1e400
        // trained to a loss of NaN)
        assertTrue(run("--steps", "\u001b2").err().startsWith("ckpt-train: option --steps needs a number, got '\\u001B2'"),
                run("--steps", "\u001b2").err());
        for (String lr : new String[] {"1e400", "Infinity", "-Infinity", "0x1p-7", "0.01f", "\u0661e-3"}) {
            assertTrue(run("--lr", lr).err().startsWith("ckpt-train: option --lr needs a number, got '" + lr + "'"),
                    lr + ": " + run("--lr", lr).err());
        }
        assertEquals(0.001f, TrainOptions.parse(new String[] {"--lr", "1e-3"}, Map.of()).lr, "1e-3 is a number");
        assertEquals(0.5f, TrainOptions.parse(new String[] {"--lr", ".5"}, Map.of()).lr);
        // a value's line break or escape sequence is shown escaped on the error's one line (helper-127: echoed raw)
        for (String value : new String[] {"5\nx", "5\u001b[2J"}) {
            String e = run("--steps", value).err();
            assertTrue(e.startsWith("ckpt-train: option --steps needs a number, got '5\\u00") && e.lines().count() == 3
                    && e.chars().noneMatch(c -> c == 0x1b), e);
        }
        // named as typed, as every other error names it (helper-143: --save_every=0 said --save-every)
        assertTrue(run("--keep_last", "0").err().startsWith("ckpt-train: option --keep_last must be at least 1, got 0"));
        assertTrue(run("--save_every=0").err().startsWith("ckpt-train: option --save_every must be at least 1, got 0"));
        assertTrue(run("--keep-last", "0").err().startsWith("ckpt-train: option --keep-last must be at least 1, got 0"));
        assertTrue(run("--save-evry", "3").err().contains("--save-every"), "suggests the option meant");
        assertTrue(run("--save-dir").err().startsWith("ckpt-train: option --save-dir needs a value"), "names the spelling typed");
        // an unknown option's value is not an unknown option too, and no parser index (helper-119: --step 300)
        Run step = run("--step", "300");
        assertTrue(step.err().startsWith("ckpt-train: Unknown option: '--step'\n"), step.err());
        assertTrue(step.err().contains("\nPossible solutions: --steps\n"), "suggests the option meant, not --seed too: "
                + step.err());
        assertTrue(run("--save-evry", "3").err().contains("\nPossible solutions: --save-every\n"), run("--save-evry", "3").err());
        assertFalse(run("--bogus", "3").err().contains("Possible solutions"), run("--bogus", "3").err());
        assertTrue(run("extra").err().startsWith("ckpt-train: Unmatched argument: 'extra' (ckpt-train takes options only)"),
                run("extra").err());
        Run both = run("--stepz=4", "--lr", "0.1", "stray", "--x");
        assertTrue(both.err().startsWith("ckpt-train: Unknown options: '--stepz', '--x'; unmatched argument: 'stray'"),
                both.err());
        // after --, every word is a name (helper-121: picocli suggested the very option given)
        Run dashed = run("--", "--steps", "10");
        assertTrue(dashed.err().startsWith("ckpt-train: Unknown option: '--steps' (everything after -- is read as a name")
                && !dashed.err().contains("Possible solutions"), dashed.err());
        // a switch given a value says it takes none, not "'x' is not a boolean"
        Run sw = run("--auto-resume=x");
        assertEquals(ExitCode.USAGE.code(), sw.code(), sw.toString());
        assertTrue(sw.err().startsWith("ckpt-train: option --auto-resume is a switch and takes no value, got 'x'"), sw.err());
        assertTrue(TrainOptions.parse(new String[]{"--auto-resume=true"}, Map.of()).autoResume);
        // the option named as given: --help=1 is about --help, not -h, its first name (stop 59's list)
        Run help = run("--help=1");
        assertEquals(ExitCode.USAGE.code(), help.code(), help.toString());
        assertTrue(help.err().startsWith("ckpt-train: '--help=1': --help takes no value"), help.err());
        assertTrue(run("-h=1").err().startsWith("ckpt-train: '-h=1': -h takes no value"), run("-h=1").err());
        // a number of too many digits for its option is out of range, not "not a number" (helper-123)
        Run big = run("--keep-last", "99999999999");
        assertEquals(ExitCode.USAGE.code(), big.code(), big.toString());
        // with the option's own least value, not its type's (helper-124)
        assertTrue(big.err().startsWith("ckpt-train: option --keep-last needs a number from 1 to 2147483647, got"
                + " '99999999999'"), big.err());
        assertTrue(run("--steps", "99999999999999999999").err().contains("from 0 to 9223372036854775807"));
        Run under = run("--keep_last", "-99999999999");
        assertTrue(under.err().contains("needs a number from 1 to 2147483647"), under.err());
        assertTrue(run("--hidden", "99999999999").err().contains("option --hidden needs a number from 1 to 2147483647"));
        assertTrue(run("--world-size", "99999999999").err().contains("from 1 to 2147483647"));
        // and its own greatest value where that is below its type's (helper-127)
        assertTrue(run("--min-free-mb", "99999999999999999999").err().contains("from 0 to 8796093022207"));
        assertTrue(run("--seed", "99999999999999999999").err().contains("from -9223372036854775808 to"),
                "an option with no least value: its type's range");
        assertTrue(run("--steps", "ten").err().startsWith("ckpt-train: option --steps needs a number, got 'ten'"));
        // with = and nothing after it: picocli read it as =false, and the run would start afresh (helper-121's kind)
        Run none = run("--auto-resume=");
        assertEquals(ExitCode.USAGE.code(), none.code(), none.toString());
        assertTrue(none.err().startsWith("ckpt-train: option --auto-resume is a switch and takes no value, got ''"), none.err());
        // a store URL of the wrong shape is a usage error before anything is made, as in ckpt-tool (helper-119)
        for (String[] c : new String[][]{{"s3:/b/x", "write s3://b/x"}, {"s3://", "names no bucket"},
                {"S3://bkt/x", "the scheme in lower case"}, {"gs://b/x", "unknown scheme 'gs'"}}) {
            Run bad = run("--store", c[0]);
            assertEquals(ExitCode.USAGE.code(), bad.code(), bad.toString());
            assertTrue(bad.err().startsWith("ckpt-train: option --store: ") && bad.err().lines().findFirst().orElseThrow()
                    .contains(c[1]), bad.err());
        }
    }

    @Test
    void aRepeatedOptionTakesItsLastValueAndValuesAreLiteral() {
        // the SLURM script passes --run, --staging and --auto-resume before the user's own arguments
        TrainOptions o = TrainOptions.parse(new String[]{"--run", "slurm-1", "--auto-resume", "--steps=10",
                "--run", "mine", "--auto-resume", "--steps", "20"}, Map.of());
        assertEquals("mine", o.run);
        assertEquals(20, o.steps);
        assertTrue(o.autoResume);
        assertEquals("/tmp/@stage", TrainOptions.parse(new String[]{"--staging", "/tmp/@stage"}, Map.of()).staging.toString());
        // an @ value is a value, not a file of arguments: here one that no run name can be
        picocli.CommandLine.ParameterException e = org.junit.jupiter.api.Assertions.assertThrows(
                picocli.CommandLine.ParameterException.class, () -> TrainOptions.parse(new String[]{"--run", "@runfile"}, Map.of()));
        assertTrue(e.getMessage().contains("invalid run name '@runfile'"), e.getMessage());
    }

    @Test
    void anOptionWithoutItsValueSaysSo() {
        for (String[] args : new String[][]{{"--steps"}, {"--steps", "--staging", "/s"}}) {
            picocli.CommandLine.ParameterException e = org.junit.jupiter.api.Assertions.assertThrows(
                    picocli.CommandLine.ParameterException.class, () -> TrainOptions.parse(args, Map.of()));
            assertEquals("option --steps needs a value", e.getMessage(), String.join(" ", args));
        }
    }

    @Test
    void ranksComeFromTheOptionsThenTorchrunsThenSrunsEnvironmentAndOneRankIsAsBefore() {
        TrainOptions one = TrainOptions.parse(new String[0], Map.of("SLURM_JOB_ID", "7", "SLURM_NTASKS", "1", "SLURM_PROCID", "0"));
        assertEquals(1, one.worldSize);
        assertEquals(0, one.rank);
        assertNull(one.jobId, "one rank claims the run as a writer of its own, as before");
        assertFalse(one.ranked());
        assertEquals(Duration.ofMinutes(10), one.ranksTimeout);
        assertEquals(Duration.ofSeconds(1), one.stopPollInterval);

        TrainOptions torch = TrainOptions.parse(new String[0], Map.of("WORLD_SIZE", "4", "RANK", "3",
                "TORCHELASTIC_RUN_ID", "exp7", "TORCHELASTIC_RESTART_COUNT", "2", "SLURM_NTASKS", "8", "SLURM_PROCID", "5"));
        assertEquals(List.of(4, 3, "exp7-2"), List.of(torch.worldSize, torch.rank, torch.jobId), "torchrun's variables first");

        Map<String, String> srun = Map.of("SLURM_NTASKS", "4", "SLURM_PROCID", "1", "SLURM_JOB_ID", "4242",
                "SLURM_RESTART_COUNT", "1");
        TrainOptions s = TrainOptions.parse(new String[0], srun);
        assertEquals(List.of(4, 1, "slurm-4242-1"), List.of(s.worldSize, s.rank, s.jobId));
        assertEquals("slurm-4242", s.run);
        assertEquals("slurm-4242-0", TrainOptions.parse(new String[0], Map.of("SLURM_NTASKS", "2", "SLURM_PROCID", "0",
                "SLURM_JOB_ID", "4242")).jobId, "no requeue yet: restart count 0");

        TrainOptions opts = TrainOptions.parse(new String[]{"--world-size", "8", "--rank", "7", "--job-id", "mine",
                "--ranks-timeout", "30s", "--stop-poll-interval", "250ms"}, srun);
        assertEquals(List.of(8, 7, "mine"), List.of(opts.worldSize, opts.rank, opts.jobId), "options win over the environment");
        assertEquals(Duration.ofSeconds(30), opts.ranksTimeout);
        assertEquals(Duration.ofMillis(250), opts.stopPollInterval);
    }

    @Test
    void severalRanksWithoutAJobIdOrARankAreUsageErrorsSayingWhatToPass() {
        Run noJob = run("--world-size", "4", "--rank", "1");
        assertEquals(ExitCode.USAGE.code(), noJob.code(), noJob.toString());
        assertTrue(noJob.err().startsWith("ckpt-train: --world-size 4 needs a job id shared by every rank and new for each"
                + " job: pass --job-id ID, or run under srun (SLURM_JOB_ID) or torchrun --rdzv-id (TORCHELASTIC_RUN_ID)"),
                noJob.err());
        Run torchNone = run(Map.of("WORLD_SIZE", "2", "RANK", "0", "TORCHELASTIC_RUN_ID", "none"));
        assertTrue(torchNone.err().contains("needs a job id"), "torchrun's placeholder id 'none' is no job id: " + torchNone);
        Run noRank = run("--world-size", "4", "--job-id", "j");
        assertTrue(noRank.err().startsWith("ckpt-train: --world-size 4 needs this process's rank: pass --rank R (0 to 3)"),
                noRank.err());
        Run outside = run("--world-size", "4", "--rank", "4", "--job-id", "j");
        assertTrue(outside.err().startsWith("ckpt-train: rank 4 is not within world size 4 (ranks are 0 to 3)"), outside.err());
        Run badEnv = run(Map.of("SLURM_NTASKS", "four", "SLURM_PROCID", "0"));
        assertTrue(badEnv.err().startsWith("ckpt-train: environment variable SLURM_NTASKS needs a number, got 'four'"),
                badEnv.err());
        Run tooMany = run(Map.of("SLURM_NTASKS", "99999999999", "SLURM_PROCID", "0")); // said with its range (helper-130)
        assertTrue(tooMany.err().startsWith("ckpt-train: environment variable SLURM_NTASKS needs a number from -2147483648 to"
                + " 2147483647, got '99999999999'"), tooMany.err());
        Run otherDigits = run(Map.of("SLURM_NTASKS", "\u0664", "SLURM_PROCID", "0")); // Arabic-Indic 4 (helper-127)
        assertTrue(otherDigits.err().startsWith("ckpt-train: environment variable SLURM_NTASKS needs a number, got"
                + " '\u0664' (write it with the digits 0-9)"), otherDigits.err());
        Run busy = run("--world-size", "2", "--rank", "0", "--job-id", "j", "--skip-if-busy");
        assertTrue(busy.err().startsWith("ckpt-train: option --skip-if-busy cannot be used with --world-size 2"), busy.err());
        Run badId = run("--world-size", "2", "--rank", "0", "--job-id", "a/b");
        assertTrue(badId.err().startsWith("ckpt-train: invalid job id 'a/b'"), badId.err());
        for (Run r : List.of(noJob, torchNone, noRank, outside, badEnv, busy, badId)) {
            assertEquals(ExitCode.USAGE.code(), r.code(), r.toString());
            assertEquals("", r.out());
        }
    }

    @Test
    void aRunNameNoCheckpointIdCanCarryIsAUsageErrorBeforeTheStoreIsOpened() {
        for (String bad : List.of("bad name", "a/b", "a..b", "x".repeat(101), "-lead")) {
            Run r = run("--run", bad);
            assertEquals(ExitCode.USAGE.code(), r.code(), bad + ": " + r);
            assertTrue(r.err().startsWith("ckpt-train: --run: invalid run name"), bad + ": " + r.err());
        }
        Run slurm = run(Map.of("SLURM_JOB_ID", "12 34"));
        assertEquals(ExitCode.USAGE.code(), slurm.code(), slurm.toString());
        assertTrue(slurm.err().startsWith("ckpt-train: the run name from $SLURM_JOB_ID: invalid run name 'slurm-12 34'"),
                slurm.err());
    }
}

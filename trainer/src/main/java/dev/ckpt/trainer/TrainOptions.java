package dev.ckpt.trainer;

import dev.ckpt.store.util.Printable;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.util.Digits;
import dev.ckpt.store.util.Durations;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The trainer's command line, parsed by picocli like ckpt-tool's. Every option also takes the
 * original Python tool's underscore spelling ({@code --save_every}, {@code --save_dir},
 * {@code --auto_resume}, also {@code --keep_last} etc.) as a hidden alias; the descriptions
 * name the three the Python tool documented.
 */
@Command(name = "ckpt-train", sortOptions = false,
        abbreviateSynopsis = true,
        description = {
                "Trains a LatentWire-like model (an encoder and two adapters, \"llama\" and \"qwen\", with DJL's"
                        + " PyTorch engine on the CPU) on deterministic synthetic data and checkpoints it to a ckpt"
                        + " store: each checkpoint is written to a local staging directory, then uploaded and"
                        + " committed in the background while training goes on.",
                "",
                "On SIGUSR1, SIGTERM, SIGINT (Ctrl-C) or a spot notice it saves at the next step boundary, commits and"
                        + " exits 75.",
                ""},
        footer = {"", "Examples:",
                "  ckpt-train --steps 300 --save-every 100 --auto-resume",
                "  ckpt-train --store s3://my-bucket/ckpt --run exp7 --auto-resume \\",
                "      --spot-notice aws",
                "  WORLD_SIZE=4 RANK=0 ckpt-train --job-id exp7-1 --auto-resume   (one per rank)",
                "", "Environment:",
                "  CKPT_ON_PREEMPT   shell command run before every exit 75, after the stop's",
                "                    save if any (trainer/slurm/train.sbatch: scontrol requeue)",
                "  SLURM_JOB_ID      names the run slurm-<id> when --run is not given",
                "  WORLD_SIZE, RANK, TORCHELASTIC_RUN_ID, TORCHELASTIC_RESTART_COUNT  (torchrun)",
                "  SLURM_NTASKS, SLURM_PROCID, SLURM_RESTART_COUNT  (srun): --world-size, --rank,",
                "                    --job-id when those are not given",
                "  AWS_*, CKPT_S3_*  S3 endpoint, region, credentials, client: see ckpt-tool",
                "  DJL_CACHE_DIR     where PyTorch's native libraries go (default ~/.djl.ai)"})
final class TrainOptions {
    @Option(names = "--store", paramLabel = "STORE", order = 1,
            description = "where checkpoints go (default: ${DEFAULT-VALUE}): a path, file:///path or"
                    + " s3://bucket/prefix")
    String store = "./ckpt-store";

    @Option(names = "--run", paramLabel = "NAME", order = 2,
            description = "run name (default: slurm-<id> under SLURM, from $SLURM_JOB_ID, else latentwire)")
    String run;

    @Option(names = "--steps", paramLabel = "N", order = 3, description = "train to step N (default: ${DEFAULT-VALUE})")
    long steps = 200;

    @Option(names = "--save-every", paramLabel = "K", order = 4,
            description = "save a checkpoint every K steps (default: ${DEFAULT-VALUE}); the final step is always"
                    + " saved. Also --save_every")
    long saveEvery = 50;

    @Option(names = "--keep-last", paramLabel = "N", order = 5,
            description = "keep the newest N checkpoints of the run (default: ${DEFAULT-VALUE}), and the one"
                    + " --auto-resume verified (retention never drops the newest verified checkpoint)")
    int keepLast = 3;

    @Option(names = "--auto-resume", order = 6,
            description = "resume from the newest checkpoint of the run that verifies (falls back to older ones)."
                    + " Also --auto_resume")
    boolean autoResume;

    @Option(names = "--lenient-resume", order = 7,
            description = "accept a checkpoint without optimizer state (fresh moments) or with extra tensors,"
                    + " and say what was skipped (default: strict)")
    boolean lenientResume;

    @Option(names = "--staging", paramLabel = "DIR", order = 8,
            description = "local staging directory (default: ${DEFAULT-VALUE}); checkpoints are written to"
                    + " DIR/<run>/ first. Also --save_dir")
    Path staging = Path.of("./ckpt-staging");

    @Option(names = "--min-free-mb", paramLabel = "MB", order = 9,
            description = "refuse to stage a checkpoint unless MB MiB stay free on the staging disk"
                    + " (default: ${DEFAULT-VALUE})")
    long minFreeMb;

    @Option(names = "--skip-if-busy", order = 10,
            description = "skip a save while the previous one still uploads (default: stage it and queue it behind that one; a third waits)")
    boolean skipIfBusy;

    @Option(names = "--preempt-deadline", paramLabel = "D", order = 11,
            description = "on SIGUSR1/SIGTERM/SIGINT/spot notice, save and commit within D, a duration like 500ms, 50s,"
                    + " 2m or 1h (default: 50s); a save the recent saves say cannot make it is not started, one"
                    + " that has not committed by then is abandoned: the previous checkpoint stays the latest")
    Duration preemptDeadline = Duration.ofSeconds(50);

    @Option(names = "--spot-notice", paramLabel = "aws|gcp", order = 12,
            description = "poll the cloud's metadata endpoint for a spot/preemption notice (default: off);"
                    + " a notice counts as SIGTERM")
    String spotNotice;

    @Option(names = "--spot-notice-url", paramLabel = "URL", order = 13,
            description = "the endpoint to poll (default: the cloud's metadata address)")
    String spotNoticeUrl;

    @Option(names = "--spot-poll-interval", paramLabel = "D", order = 14,
            description = "how often to poll, a duration (default: 5s)")
    Duration spotPollInterval = Duration.ofSeconds(5);

    @Option(names = "--world-size", paramLabel = "N", order = 15,
            description = "how many ranks (processes) train this run together (default: $WORLD_SIZE as torchrun"
                    + " sets it, else $SLURM_NTASKS under srun, else 1); each rank saves its part of every checkpoint")
    Integer worldSize;

    @Option(names = "--rank", paramLabel = "R", order = 16,
            description = "this process's rank, 0 to N-1 (default: $RANK, else $SLURM_PROCID)")
    Integer rank;

    @Option(names = "--job-id", paramLabel = "ID", order = 17,
            description = "the id shared by every rank of this job and unique per job incarnation, so a requeued"
                    + " job fences the old one (default under torchrun: $TORCHELASTIC_RUN_ID, a dash and"
                    + " $TORCHELASTIC_RESTART_COUNT; under srun: slurm-$SLURM_JOB_ID-$SLURM_RESTART_COUNT); needed when N > 1")
    String jobId;

    @Option(names = "--ranks-timeout", paramLabel = "D", order = 18,
            description = "how long a rank's save waits for the other ranks' parts or for rank 0's commit before it"
                    + " fails, a duration (default: 10m)")
    Duration ranksTimeout = Duration.ofMinutes(10);

    @Option(names = "--stop-poll-interval", paramLabel = "D", order = 19,
            description = "with N > 1, how often each rank reads the store's stop point (one GET, off the training"
                    + " thread) to learn that another rank was told to stop; each save also reads it once while it"
                    + " stages (default: 1s)")
    Duration stopPollInterval = Duration.ofSeconds(1);

    @Option(names = "--seed", paramLabel = "S", order = 20, description = "random seed (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = "--input", paramLabel = "N", order = 21,
            description = "input width (default: ${DEFAULT-VALUE}); parameters ~ input x hidden")
    int input = 64;

    @Option(names = "--hidden", paramLabel = "N", order = 22, description = "hidden width (default: ${DEFAULT-VALUE})")
    int hidden = 128;

    @Option(names = "--output", paramLabel = "N", order = 23, description = "output width (default: ${DEFAULT-VALUE})")
    int output = 32;

    @Option(names = "--batch", paramLabel = "N", order = 24, description = "batch size in samples (default: ${DEFAULT-VALUE})")
    int batch = 32;

    @Option(names = "--dataset-size", paramLabel = "N", order = 25,
            description = "synthetic samples (default: ${DEFAULT-VALUE})")
    int datasetSize = 1024;

    @Option(names = "--lr", paramLabel = "X", order = 26, description = "Adam learning rate (default: ${DEFAULT-VALUE})")
    float lr = 0.01f;

    @Option(names = "--frozen-mb", paramLabel = "MB", order = 27,
            description = "add a frozen block of MB MiB, uploaded once per run (default: ${DEFAULT-VALUE}, none)")
    int frozenMb;

    @Option(names = "--log-every", paramLabel = "N", order = 28,
            description = "a progress line every N steps (default: ${DEFAULT-VALUE})")
    long logEvery = 25;

    @Option(names = {"-h", "--help"}, usageHelp = true, order = 30, description = "this help")
    boolean help;

    /** $CKPT_ON_PREEMPT: a shell command run after a preemption save, before exit 75 (SLURM: scontrol requeue). */
    String onPreempt;

    /** The command line for a fresh options object: converters that say what they want, underscore aliases, exit codes. */
    static CommandLine commandLine(TrainOptions o) {
        CommandLine cl = new CommandLine(o);
        // as the hand-written parser did: the last value of a repeated option counts (the SLURM script passes
        // --run/--staging/--auto-resume and the user's own arguments after them), and values are taken
        // literally (picocli would read "@name" as a file of arguments). Found by a new-user tryout.
        cl.setOverwrittenOptionsAllowed(true);
        cl.setExpandAtFiles(false);
        cl.registerConverter(Long.class, v -> whole(v, Long::parseLong, Long.MIN_VALUE, Long.MAX_VALUE));
        cl.registerConverter(long.class, v -> whole(v, Long::parseLong, Long.MIN_VALUE, Long.MAX_VALUE));
        cl.registerConverter(Integer.class, v -> whole(v, Integer::parseInt, Integer.MIN_VALUE, Integer.MAX_VALUE));
        cl.registerConverter(int.class, v -> whole(v, Integer::parseInt, Integer.MIN_VALUE, Integer.MAX_VALUE));
        cl.registerConverter(Float.class, v -> number(v, Float::parseFloat));
        cl.registerConverter(float.class, v -> number(v, Float::parseFloat));
        cl.registerConverter(Boolean.class, v -> onOff(v));
        cl.registerConverter(boolean.class, v -> onOff(v));
        cl.registerConverter(Duration.class, TrainOptions::duration);
        cl.registerConverter(Path.class, TrainOptions::path);
        addUnderscoreAliases(cl.getCommandSpec());
        var usage = cl.getCommandSpec().usageMessage();
        List<String> footer = new ArrayList<>(List.of(usage.footer()));
        footer.add("");
        footer.add(ExitCode.help(ExitCode.Program.CKPT_TRAIN));
        usage.footer(footer.toArray(String[]::new));
        return cl;
    }

    /**
     * Why {@code url} cannot be polled for a spot notice (shown with any user name and password
     * masked), or null: an http:// or https:// URL with a host. helper-106: a malformed one
     * ended the run with a stack trace that held the password three times, and "foo" or an
     * ftp:// URL were taken and failed at every poll.
     */
    static String spotNoticeUrlProblem(String url) {
        String shown = url.replaceAll("(?<=//)[^/@]*@", "***@");
        java.net.URI u;
        try {
            u = new java.net.URI(url);
        } catch (java.net.URISyntaxException e) {
            return "'" + shown + "' is not a URL (" + e.getReason() + "); give one like http://169.254.169.254";
        }
        if (u.getScheme() == null || !u.getScheme().equalsIgnoreCase("http") && !u.getScheme().equalsIgnoreCase("https")
                || u.getHost() == null) {
            return "'" + shown + "' is not an http:// or https:// URL with a host; give one like http://169.254.169.254";
        }
        return null;
    }

    private static ParameterException empty(CommandLine cl, OptionSpec opt) {
        return new ParameterException(cl, "option " + opt.longestName() + " is empty (an unset variable?): give it a"
                + " value, or leave it out for its default", null, opt, "");
    }

    /**
     * Parses {@code args}; null means --help (print {@link #help}).
     * {@code env} supplies SLURM_JOB_ID and CKPT_ON_PREEMPT.
     *
     * @throws ParameterException a usage error, with a message that names the option
     */
    static TrainOptions parse(String[] args, Map<String, String> env) {
        TrainOptions o = new TrainOptions();
        CommandLine cl = commandLine(o);
        try {
            cl.parseArgs(args);
        } catch (CommandLine.UnmatchedArgumentException e) {
            if (java.util.Arrays.asList(args).contains("--")) {
                // ckpt-train -- --steps 10: picocli suggested --steps itself (helper-121)
                throw new ParameterException(cl, plain(e) + " (everything after -- is read as a name, and ckpt-train"
                        + " takes none: put its options before --, or leave -- out)");
            }
            throw e;
        } catch (ParameterException e) {
            if (e.getArgSpec() instanceof OptionSpec opt && opt.usageHelp()) {
                helpGivenAValue(cl, args);
            }
            if (e.getArgSpec() instanceof OptionSpec opt && "".equals(e.getValue())) {
                throw empty(cl, opt);
            }
            if (e.getCause() instanceof TypeConversionException t && e.getArgSpec() instanceof OptionSpec opt) {
                // "option --steps needs a number, got 'many'", not picocli's "Invalid value for option '--steps' (N): ..."
                String why = t.getMessage();
                String name = opt.longestName().replace('_', '-'); // --keep_last is --keep-last
                if (t instanceof OutOfRange r && MINIMUM.containsKey(name)) {
                    // the option's own range, not its type's: --keep-last is from 1, not from -2147483648 (helper-124)
                    why = r.message(MINIMUM.get(name), MAXIMUM.getOrDefault(name, r.max));
                }
                throw new ParameterException(cl, "option " + typedName(opt, args) + " " + why, e, opt, e.getValue());
            }
            if (e instanceof CommandLine.MissingParameterException m
                    && (e.getArgSpec() != null ? e.getArgSpec() : m.getMissing().isEmpty() ? null : m.getMissing().get(0))
                    instanceof OptionSpec opt) {
                // "option --steps needs a value", not "Expected parameter for option '--steps' but found '--staging'"
                throw new ParameterException(cl, "option " + typedName(opt, args) + " needs a value", e, opt, null);
            }
            throw e;
        }
        if (cl.isUsageHelpRequested()) {
            helpGivenAValue(cl, args);
            return null;
        }
        for (CommandLine.Model.ArgSpec a : cl.getParseResult().matchedArgs()) {
            // an unset variable ("--staging $SCRATCH"): a path read it as the current directory, and the run staged
            // there (helper-105's case for ckpt-tool, the same kind here)
            if (a instanceof OptionSpec opt && a.originalStringValues().stream().anyMatch(String::isBlank)) {
                throw empty(cl, opt);
            }
        }
        for (OptionSpec opt : cl.getParseResult().matchedOptions()) {
            // --auto-resume= : picocli reads it as =false and calls no converter, so the run started afresh
            // (helper-121's case for ckpt-tool's switches, the same kind here)
            if (opt.type() == boolean.class || opt.type() == Boolean.class) {
                for (String arg : args) {
                    if (arg.equals("--")) {
                        break;
                    }
                    if (java.util.Arrays.stream(opt.names()).anyMatch(n -> arg.equals(n + "="))) {
                        throw new ParameterException(cl, "option " + typedName(opt, args) + " is a switch and takes no value,"
                                + " got '' (give it alone; =true and =false are also read)", null, opt, "");
                    }
                }
            }
        }
        String hook = env.get("CKPT_ON_PREEMPT");
        o.onPreempt = hook == null || hook.isBlank() ? null : hook;
        if (o.run == null) {
            String job = env.get("SLURM_JOB_ID");
            o.run = job != null && !job.isBlank() ? "slurm-" + job.trim() : "latentwire";
        }
        try {
            dev.ckpt.store.manifest.Ids.checkRunName(o.run);
        } catch (RuntimeException e) {
            throw new ParameterException(cl, (o.run.startsWith("slurm-") ? "the run name from $SLURM_JOB_ID: " : "--run: ")
                    + e.getMessage());
        }
        // a store URL of the wrong shape is a usage error, as ckpt-tool's (helper-119: it exited 1)
        java.util.Optional<String> storeProblem = dev.ckpt.store.objectstore.ObjectStores.locationProblem(o.store);
        if (storeProblem.isPresent()) {
            throw new ParameterException(cl, "option --store: " + storeProblem.get());
        }
        resolveRanks(cl, o, env);
        atLeast(cl, "--steps", o.steps);
        atLeast(cl, "--save-every", o.saveEvery);
        atLeast(cl, "--keep-last", o.keepLast);
        atLeast(cl, "--log-every", o.logEvery);
        atLeast(cl, "--min-free-mb", o.minFreeMb);
        if (o.minFreeMb > MAXIMUM.get("--min-free-mb")) { // in bytes it overflowed, and the check passed (helper-106)
            throw new ParameterException(cl, "option --min-free-mb " + o.minFreeMb + " is more than any disk holds (at most "
                    + MAXIMUM.get("--min-free-mb") + ")");
        }
        if (o.spotNotice != null && !o.spotNotice.equals("aws") && !o.spotNotice.equals("gcp")) {
            throw new ParameterException(cl, "option --spot-notice must be aws or gcp, got '" + o.spotNotice + "'");
        }
        if (o.spotNoticeUrl != null) {
            String problem = spotNoticeUrlProblem(o.spotNoticeUrl);
            if (problem != null) {
                throw new ParameterException(cl, "option --spot-notice-url " + problem);
            }
        }
        try {
            o.modelConfig(); // validates sizes
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, e.getMessage());
        }
        return o;
    }

    /**
     * World size, rank and job id: options first, then torchrun's environment (WORLD_SIZE, RANK,
     * TORCHELASTIC_RUN_ID, TORCHELASTIC_RESTART_COUNT), then srun's (SLURM_NTASKS, SLURM_PROCID,
     * SLURM_JOB_ID, SLURM_RESTART_COUNT). One rank needs nothing more; several need a job id.
     */
    private static void resolveRanks(CommandLine cl, TrainOptions o, Map<String, String> env) {
        boolean torchrun = present(env, "WORLD_SIZE");
        boolean srun = !torchrun && present(env, "SLURM_NTASKS");
        String wsVar = torchrun ? "WORLD_SIZE" : "SLURM_NTASKS";
        String rankVar = torchrun ? "RANK" : "SLURM_PROCID";
        if (o.worldSize == null) {
            o.worldSize = torchrun || srun ? envInt(cl, env, wsVar) : 1;
        }
        atLeast(cl, "--world-size", o.worldSize);
        if (o.rank == null && o.worldSize == 1) {
            o.rank = 0;
        } else if (o.rank == null && (torchrun || srun) && present(env, rankVar)) {
            o.rank = envInt(cl, env, rankVar);
        }
        if (o.rank == null) {
            throw new ParameterException(cl, "--world-size " + o.worldSize + " needs this process's rank: pass --rank R"
                    + " (0 to " + (o.worldSize - 1) + "), or run under torchrun (RANK) or srun (SLURM_PROCID)");
        }
        if (o.rank < 0 || o.rank >= o.worldSize) {
            throw new ParameterException(cl, "rank " + o.rank + " is not within world size " + o.worldSize
                    + " (ranks are 0 to " + (o.worldSize - 1) + ")");
        }
        if (o.worldSize == 1) {
            return; // one process: it claims the run as a writer of its own, as before ranks existed
        }
        if (o.jobId == null) {
            if (present(env, "TORCHELASTIC_RUN_ID") && !env.get("TORCHELASTIC_RUN_ID").equals("none")) {
                o.jobId = env.get("TORCHELASTIC_RUN_ID").trim() + "-" + env.getOrDefault("TORCHELASTIC_RESTART_COUNT", "0").trim();
            } else if (present(env, "SLURM_JOB_ID")) {
                o.jobId = "slurm-" + env.get("SLURM_JOB_ID").trim() + "-" + env.getOrDefault("SLURM_RESTART_COUNT", "0").trim();
            }
        }
        if (o.jobId == null) {
            throw new ParameterException(cl, "--world-size " + o.worldSize + " needs a job id shared by every rank and"
                    + " new for each job: pass --job-id ID, or run under srun (SLURM_JOB_ID) or torchrun"
                    + " --rdzv-id (TORCHELASTIC_RUN_ID)");
        }
        try {
            dev.ckpt.store.manifest.Ids.checkJobId(o.jobId);
        } catch (RuntimeException e) {
            throw new ParameterException(cl, e.getMessage());
        }
        if (o.skipIfBusy) {
            throw new ParameterException(cl, "option --skip-if-busy cannot be used with --world-size " + o.worldSize
                    + ": every rank must save the same steps, and a skipped part means no checkpoint for that step");
        }
    }

    private static boolean present(Map<String, String> env, String name) {
        String v = env.get(name);
        return v != null && !v.isBlank();
    }

    private static int envInt(CommandLine cl, Map<String, String> env, String name) {
        String v = env.get(name);
        if (!Digits.whole(v)) {
            throw new ParameterException(cl, "environment variable " + name + " needs a number, got '" + v + "'"
                    + Digits.otherDigitsHint(v));
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) { // too many digits: said with the range, as an option's is
            throw new ParameterException(cl, "environment variable " + name + " needs a number from " + Integer.MIN_VALUE
                    + " to " + Integer.MAX_VALUE + ", got '" + v + "'");
        }
    }

    /** Several ranks: each saves its part, through a writer epoch shared by the job. */
    boolean ranked() {
        return worldSize != null && worldSize > 1;
    }

    /** The least value of each numeric option that has one, as {@link #atLeast} and a number out of range say it. */
    private static final Map<String, Long> MINIMUM = Map.ofEntries(Map.entry("--steps", 0L), Map.entry("--save-every", 1L),
            Map.entry("--keep-last", 1L), Map.entry("--log-every", 1L), Map.entry("--min-free-mb", 0L),
            Map.entry("--world-size", 1L), Map.entry("--rank", 0L),
            // ModelConfig's own checks (an option below these is refused there)
            Map.entry("--input", 1L), Map.entry("--hidden", 1L), Map.entry("--output", 1L), Map.entry("--batch", 1L),
            Map.entry("--frozen-mb", 0L));

    /** The greatest value of a numeric option below its type's: --min-free-mb in bytes must fit a long (helper-127). */
    private static final Map<String, Long> MAXIMUM = Map.of("--min-free-mb", Long.MAX_VALUE >> 20);

    private static void atLeast(CommandLine cl, String option, long value) {
        long min = MINIMUM.get(option);
        if (value < min) {
            // named as typed (--save_every=0 was "option --save-every": helper-143), as the other errors name it
            // the underscore spellings are options of their own in the spec: the last spelling given is the one read
            String named = option;
            if (cl.getParseResult() != null) {
                for (String arg : cl.getParseResult().originalArgs()) {
                    if (arg.equals("--")) {
                        break;
                    }
                    String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
                    if (name.startsWith("--") && name.replace('_', '-').equals(option)) {
                        named = name;
                    }
                }
            }
            throw new ParameterException(cl, "option " + named + " must be at least " + min + ", got " + value);
        }
    }

    /**
     * Refuses {@code --help} or {@code -h} given a value, as ckpt-tool does: picocli counted
     * {@code --help=false} as asking for the help (helper-143), and said of {@code -h=0} that
     * "=true and =false are also read". Only the arguments before {@code --} are options.
     *
     * @throws ParameterException naming the argument as typed
     */
    private static void helpGivenAValue(CommandLine cl, String[] args) {
        for (String arg : args) {
            if (arg.equals("--")) {
                break;
            }
            if (arg.startsWith("--help=") || arg.startsWith("-h=")) {
                throw new ParameterException(cl, "'" + arg + "': " + arg.substring(0, arg.indexOf('=')) + " takes no value"
                        + " (give it alone for the help, or leave it out)");
            }
        }
    }

    /** --help: what it does, every option with its default, the environment, the exit codes. */
    static String help() {
        return commandLine(new TrainOptions()).getUsageMessage();
    }

    /**
     * A usage error as ckpt-tool prints one: the reason, picocli's suggestions for a mistyped option,
     * the synopsis and where the rest is; not the whole help page.
     */
    static void printUsageError(ParameterException ex, PrintWriter err) {
        CommandLine c = ex.getCommandLine();
        err.println("ckpt-train: " + Printable.of(plain(ex))); // one line: a value's line break escaped, as ckpt-tool's
        // the options near a mistyped one (NearNames), not picocli's suggestions: --stepp was offered --stall-timeout in ckpt-tool
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()
                && u.getUnmatched().get(0).startsWith("-") && u.getUnmatched().get(0).length() >= 4) {
            List<String> near = dev.ckpt.store.util.NearNames.near(u.getUnmatched().get(0), c.getCommandSpec().options()
                    .stream().filter(o -> !o.hidden()).flatMap(o -> java.util.Arrays.stream(o.names()))
                    .filter(n -> n.startsWith("--")).toList());
            if (!near.isEmpty()) {
                err.println("Possible solutions: " + String.join(", ", near));
            }
        }
        err.print("usage: " + c.getHelp().synopsis(0).stripLeading().replaceFirst("^Usage: ", ""));
        err.println("'ckpt-train --help' lists the options, their defaults and the exit codes");
        err.flush();
    }

    /**
     * picocli's message without its parser's words: an unknown option's value is not called an
     * unknown option too ({@code --step 300} was "Unknown options: '--step', '300'", helper-119), and
     * "Unmatched argument at index 0: 'foo'" loses its index, as ckpt-tool's do.
     */
    static String plain(ParameterException ex) {
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            List<String> options = new ArrayList<>();
            List<String> others = new ArrayList<>();
            boolean valueNext = false;
            for (String arg : u.getUnmatched()) {
                if (arg.startsWith("-") && arg.length() > 1 && !arg.matches("-[0-9.].*")) {
                    options.add(arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg); // --stps=300: its name
                    valueNext = !arg.contains("=");
                } else if (valueNext) {
                    valueNext = false; // the unknown option's value, most likely
                } else {
                    others.add(arg);
                }
            }
            List<String> parts = new ArrayList<>();
            if (!options.isEmpty()) {
                parts.add("Unknown option" + (options.size() > 1 ? "s" : "") + ": " + quoted(options));
            }
            if (!others.isEmpty()) {
                parts.add((options.isEmpty() ? "Unmatched argument" : "unmatched argument") + (others.size() > 1 ? "s" : "")
                        + ": " + quoted(others) + " (ckpt-train takes options only)");
            }
            return String.join("; ", parts);
        }
        String m = ex.getMessage() == null ? "" : ex.getMessage();
        return m.replaceFirst("^(Unmatched arguments?) (from|at) index \\d+: ", "$1: ");
    }

    /**
     * The name of {@code opt} as {@code args} give it ({@code --help=1} is about --help, not -h,
     * the first of its names, which the error named: stop 59's list); its first name when no
     * argument before a {@code --} is it.
     */
    static String typedName(OptionSpec opt, String[] args) {
        for (String arg : args) {
            if (arg.equals("--")) {
                break;
            }
            for (String n : opt.names()) {
                if (arg.equals(n) || arg.startsWith(n + "=")) {
                    return n;
                }
            }
        }
        return opt.names()[0];
    }

    private static String quoted(List<String> args) {
        return String.join(", ", args.stream().map(a -> "'" + a.replace('\0', '?') + "'").toList());
    }

    /**
     * A switch's value ({@code --auto-resume=true}), or why not: picocli said "'x' is not a
     * boolean", a Java type's name.
     */
    private static Boolean onOff(String v) {
        if (v.trim().equalsIgnoreCase("true") || v.trim().equalsIgnoreCase("false")) {
            return Boolean.valueOf(v.trim());
        }
        throw new TypeConversionException("is a switch and takes no value, got '" + v.replace('\0', '?')
                + "' (give it alone; =true and =false are also read)");
    }

    ModelConfig modelConfig() {
        return new ModelConfig(seed, input, hidden, output, batch, datasetSize, lr, frozenMb);
    }

    /**
     * Each option also answers to its underscore spelling ({@code --keep_last} for {@code --keep-last}),
     * and {@code --staging} to {@code --save_dir} and {@code --save-dir}, as the hand-written parser this
     * replaced did; the extra names are hidden so --help lists each option once.
     */
    private static void addUnderscoreAliases(CommandSpec spec) {
        Set<String> taken = new HashSet<>(spec.optionsMap().keySet());
        for (OptionSpec opt : List.copyOf(spec.options())) {
            List<String> extra = new ArrayList<>();
            List<String> names = new ArrayList<>(List.of(opt.names()));
            if (opt.longestName().equals("--staging")) {
                names.add("--save_dir"); // the Python tool's name for the staging directory
            }
            for (String name : names) {
                if (!name.startsWith("--")) {
                    continue;
                }
                for (String alt : List.of("--" + name.substring(2).replace('-', '_'), "--" + name.substring(2).replace('_', '-'))) {
                    if (taken.add(alt)) {
                        extra.add(alt);
                    }
                }
            }
            for (String alias : extra) { // one spec a name, so a message names the spelling the user typed
                spec.addOption(OptionSpec.builder(alias).hidden(true).type(opt.type())
                        .auxiliaryTypes(opt.auxiliaryTypes()).arity(opt.arity()).paramLabel(opt.paramLabel())
                        .converters(opt.converters()).getter(opt.getter()).setter(opt.setter())
                        .hasInitialValue(false).build());
            }
        }
    }

    private interface Parse<T> {
        T parse(String s);
    }

    /**
     * A whole number, or why not: one of too many digits for its type said "needs a number, got
     * '99999999999'" (helper-123), which it is.
     */
    private static <T> T whole(String v, Parse<T> p, long min, long max) {
        if (!Digits.whole(v)) {
            throw new TypeConversionException("needs a number, got '" + v + "'" + Digits.otherDigitsHint(v));
        }
        try {
            return p.parse(v.strip());
        } catch (NumberFormatException e) { // whole, but past the type's range
            throw new OutOfRange(v, min, max);
        }
    }

    /** A whole number past its type's range; {@link #message(long, long)} says it with an option's own range. */
    private static final class OutOfRange extends TypeConversionException {
        private final String value;
        private final long max;

        OutOfRange(String value, long min, long max) {
            super(said(value, min, max));
            this.value = value;
            this.max = max;
        }

        String message(long min, long max) {
            return said(value, min, max);
        }

        private static String said(String value, long min, long max) {
            return "needs a number from " + min + " to " + max + ", got '" + value + "'";
        }
    }

    /**
     * A decimal number (1e-3 and .5 included), finite: Java's parser also takes Infinity, hex
     * floats and a trailing f or d, and 1e400 is Infinity (helper-130: --lr 1e400 trained to a
     * loss of NaN and saved it).
     */
    private static <T extends Number> T number(String v, Parse<T> p) {
        String t = v.strip();
        T n = null;
        if (t.matches("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?")) {
            try {
                n = p.parse(t);
            } catch (NumberFormatException e) {
                n = null;
            }
        }
        if (n == null || !Double.isFinite(n.doubleValue())) {
            throw new TypeConversionException("needs a number, got '" + v + "'" + (n == null ? Digits.otherDigitsHint(v)
                    : " (too large)"));
        }
        return n;
    }

    /** A duration over zero, read as every part of ckpt reads one ({@link Durations}: 500ms, 50s, 2m, 1h, 1d or seconds). */
    static Duration duration(String v) {
        Duration d;
        try {
            d = Durations.parse(v, true);
        } catch (IllegalArgumentException e) {
            // a stop's deadline past 100 years overflowed at the signal, and the stop's save was lost (helper-77)
            throw new TypeConversionException(e.getMessage());
        }
        if (d.isZero()) {
            throw new TypeConversionException("needs a duration over zero like 500ms, 50s or 2m, got '" + v + "'");
        }
        return d;
    }

    /** A path argument; an impossible one is a usage error in words, not picocli's Java class names. */
    /** A path option; a file: URL is the path it names, as --store's is (helper-101: --staging file:///x staged into ./file:/x). */
    private static Path path(String s) {
        try {
            return dev.ckpt.store.objectstore.ObjectStores.path(s);
        } catch (dev.ckpt.store.error.BadConfigurationException e) {
            throw new TypeConversionException(e.getMessage());
        } catch (InvalidPathException e) {
            throw new TypeConversionException("is not a valid path: '" + s.replace('\0', '?') + "' (" + e.getReason() + ")");
        }
    }
}

package dev.ckpt.trainer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** The trainer's command line (also the original Python tool's underscore spellings). */
final class TrainOptions {
    String store = "./ckpt-store";
    String run;
    long steps = 200;
    long saveEvery = 50;
    int keepLast = 3;
    boolean autoResume;
    boolean lenientResume;
    Path staging = Path.of("./ckpt-staging");
    long seed = 42;
    int input = 64;
    int hidden = 128;
    int output = 32;
    int batch = 32;
    int datasetSize = 1024;
    float lr = 0.01f;
    int frozenMb;
    long logEvery = 25;
    Duration preemptDeadline = Duration.ofSeconds(50);
    String spotNotice;
    String spotNoticeUrl;
    Duration spotPollInterval = Duration.ofSeconds(5);
    boolean skipIfBusy;
    long minFreeMb;
    /** $CKPT_ON_PREEMPT: a shell command run after a preemption save, before exit 75 (SLURM: scontrol requeue). */
    String onPreempt;

    static final String HELP = """
            Usage: ckpt-train [options]
            Trains a LatentWire-like model (an encoder and two adapters, "llama" and "qwen",
            with DJL's PyTorch engine on the CPU) on deterministic synthetic data and
            checkpoints it to a ckpt store: each checkpoint is written to a local staging
            directory, then uploaded and committed in the background while training goes on.

            Store and run:
              --store STORE          store URL or path (default ./ckpt-store; s3://bucket/prefix
                                     uses the AWS environment, see ckpt-tool --help)
              --run NAME             run name (default $SLURM_JOB_ID as slurm-<id>, else latentwire)
              --steps N              train to step N (default 200)
              --save-every K         save every K steps (default 50); also --save_every
              --keep-last N          keep the newest N checkpoints of the run (default 3), and the
                                     one --auto-resume verified (retention never drops the newest
                                     verified checkpoint)
              --auto-resume          resume from the newest checkpoint of the run that verifies
                                     (falls back to older ones); also --auto_resume
              --lenient-resume       accept a checkpoint without optimizer state (fresh moments)
                                     or with extra tensors, and say what was skipped
              --staging DIR          local staging directory (default ./ckpt-staging); also --save_dir
              --min-free-mb MB       refuse to stage a checkpoint unless MB MiB stay free (default 0)
              --skip-if-busy         skip a save while the previous one still uploads (default: wait)

            Preemption:
              --preempt-deadline D   on SIGUSR1/SIGTERM/spot notice, save and commit within D
                                     (e.g. 50s, 2m; default 50s); past it the previous checkpoint stays
              --spot-notice aws|gcp  poll the cloud metadata endpoint for a spot/preemption notice
              --spot-notice-url URL  the endpoint to poll (default: the cloud's metadata address)
              --spot-poll-interval D how often to poll (default 5s)

            Model and data:
              --seed S               random seed (default 42)
              --input N, --hidden N, --output N
                                     layer sizes (default 64, 128, 32); parameters ~ input*hidden
              --batch N              batch size (default 32)
              --dataset-size N       synthetic samples (default 1024)
              --lr X                 Adam learning rate (default 0.01)
              --frozen-mb MB         add a frozen block of MB MiB (uploaded once per run)
              --log-every N          progress line every N steps (default 25)
              --help                 this help

            Examples:
              ckpt-train --steps 300 --save-every 100 --auto-resume
              ckpt-train --store s3://my-bucket/ckpt --run exp7 --auto-resume --spot-notice aws

            Environment:
              CKPT_ON_PREEMPT        shell command run after a preemption save, before exiting 75
                                     (trainer/slurm/train.sbatch sets it to 'scontrol requeue <job>')
              AWS_*, CKPT_S3_*       S3 settings, as for ckpt-tool

            Exit codes: 0 done, 1 error, 2 usage, 75 preempted after saving (requeue and
            run again with --auto-resume).
            """;

    /** Parses {@code args}; null means --help. {@code env} supplies SLURM_JOB_ID. */
    static TrainOptions parse(String[] args, Map<String, String> env) {
        TrainOptions o = new TrainOptions();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            a = a.replace('_', '-');
            switch (a) {
                case "--help", "-h" -> {
                    return null;
                }
                case "--auto-resume" -> o.autoResume = true;
                case "--lenient-resume" -> o.lenientResume = true;
                case "--skip-if-busy" -> o.skipIfBusy = true;
                case "--store", "--run", "--steps", "--save-every", "--keep-last", "--staging", "--save-dir", "--seed",
                     "--input", "--hidden", "--output", "--batch", "--dataset-size", "--lr", "--frozen-mb", "--log-every",
                     "--preempt-deadline", "--spot-notice", "--spot-notice-url", "--spot-poll-interval", "--min-free-mb" -> {
                    if (v == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException("option " + a + " needs a value");
                        }
                        v = args[++i];
                    }
                    o.apply(a, v);
                }
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
            }
        }
        String hook = env.get("CKPT_ON_PREEMPT");
        o.onPreempt = hook == null || hook.isBlank() ? null : hook;
        if (o.run == null) {
            String job = env.get("SLURM_JOB_ID");
            o.run = job != null && !job.isBlank() ? "slurm-" + job : "latentwire";
        }
        if (o.steps < 0 || o.saveEvery < 1 || o.keepLast < 1 || o.logEvery < 1 || o.minFreeMb < 0) {
            throw new IllegalArgumentException("--steps must be >= 0; --save-every, --keep-last, --log-every >= 1; --min-free-mb >= 0");
        }
        if (o.spotNotice != null && !o.spotNotice.equals("aws") && !o.spotNotice.equals("gcp")) {
            throw new IllegalArgumentException("--spot-notice must be aws or gcp, got '" + o.spotNotice + "'");
        }
        o.modelConfig(); // validates sizes
        return o;
    }

    ModelConfig modelConfig() {
        return new ModelConfig(seed, input, hidden, output, batch, datasetSize, lr, frozenMb);
    }

    private void apply(String name, String v) {
        try {
            switch (name) {
                case "--store" -> store = v;
                case "--run" -> run = v;
                case "--steps" -> steps = Long.parseLong(v);
                case "--save-every" -> saveEvery = Long.parseLong(v);
                case "--keep-last" -> keepLast = Integer.parseInt(v);
                case "--staging", "--save-dir" -> staging = Path.of(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--input" -> input = Integer.parseInt(v);
                case "--hidden" -> hidden = Integer.parseInt(v);
                case "--output" -> output = Integer.parseInt(v);
                case "--batch" -> batch = Integer.parseInt(v);
                case "--dataset-size" -> datasetSize = Integer.parseInt(v);
                case "--lr" -> lr = Float.parseFloat(v);
                case "--frozen-mb" -> frozenMb = Integer.parseInt(v);
                case "--log-every" -> logEvery = Long.parseLong(v);
                case "--preempt-deadline" -> preemptDeadline = duration(name, v);
                case "--spot-notice" -> spotNotice = v;
                case "--spot-notice-url" -> spotNoticeUrl = v;
                case "--spot-poll-interval" -> spotPollInterval = duration(name, v);
                case "--min-free-mb" -> minFreeMb = Long.parseLong(v);
                default -> throw new IllegalArgumentException(name);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + name + " needs a number, got '" + v + "'");
        }
    }

    /** 500ms, 50s, 2m, 1h or plain seconds. */
    static Duration duration(String name, String v) {
        String s = v.trim().toLowerCase(java.util.Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            long n = Long.parseLong(s.replaceAll("[smh]$", ""));
            Duration d = s.endsWith("m") ? Duration.ofMinutes(n) : s.endsWith("h") ? Duration.ofHours(n) : Duration.ofSeconds(n);
            if (d.isNegative() || d.isZero()) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + name + " needs a positive duration like 500ms, 50s or 2m, got '" + v + "'");
        }
    }
}

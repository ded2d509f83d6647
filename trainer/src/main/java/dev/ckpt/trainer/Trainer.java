package dev.ckpt.trainer;

import dev.ckpt.store.util.Printable;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.ThreadPools;
import dev.ckpt.store.util.TransferListener;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.StopPoint;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.error.Redaction;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.restore.RestoreResult;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The README's main job: trains {@link Model} and checkpoints it through the store.
 *
 * <p>Each save: the training thread writes the staging copy ({@link Staging}) and goes
 * on training; one background thread uploads and commits it. At most one save is in
 * flight: the next one waits for it (or, with {@code --skip-if-busy}, is skipped), and says
 * so. SIGUSR1/SIGTERM/spot notices only set a flag ({@link Preemption}); at the next step
 * boundary the trainer finishes the save in flight, saves the current state, commits and
 * exits with 75. It starts that save only if its estimate from this process's recent saves
 * ({@link SaveTimes}) fits before {@code --preempt-deadline}; otherwise it says so and exits
 * 75 with the previous checkpoint the latest. A save that was started but has not committed
 * by the deadline is abandoned (the previous checkpoint stays the latest), exit 75 all the same.
 *
 * <p>With {@code --world-size N > 1} every rank trains the same replica (same seed, same data
 * order) and saves its {@link CheckpointFiles.Partition} of each checkpoint; rank 0 commits
 * once every part is there. A stop request reaching some ranks becomes a stop step agreed
 * through the store ({@link StopPoint}): every rank saves at that step and exits 75 after the
 * one commit. See README "Many ranks" and docs/design.md "Trainer".
 */
public final class Trainer {
    // the numbers come from the table shared with ckpt-tool (fenced is 4 in both)
    static final int EXIT_OK = ExitCode.OK.code();
    static final int EXIT_ERROR = ExitCode.ERROR.code();
    static final int EXIT_USAGE = ExitCode.USAGE.code();
    static final int EXIT_FENCED = ExitCode.FENCED_OR_CONFLICT.code();
    static final int EXIT_PREEMPTED = ExitCode.PREEMPTED.code();

    private final TrainOptions o;
    private final PrintStream out;
    private final PrintStream err;
    private final Preemption preemption;
    private final ExecutorService uploader = ThreadPools.single("ckpt-train-save");
    private CheckpointStore store;
    private WriterToken writer;
    private Staging staging;
    /** How the staging directory's free space is read (tests: a disk that fills up on cue). */
    private Staging.FreeSpace freeSpace = Staging.FILE_STORE;
    private Model model;
    private final TrainState state = new TrainState();
    private DataOrder order;
    private volatile String lastCommitted;
    private volatile long lastCommittedStep = -1;
    /**
     * Saves handed to the background thread, oldest first: the one uploading, and at most one
     * staged behind it ({@link #maxInFlight}).
     */
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /**
     * The staged directories of the saves in {@link #pending}, added before their staging
     * starts: a finishing save's clean-up of older staged copies must not delete them.
     */
    private final Set<Path> inFlightDirs = ConcurrentHashMap.newKeySet();
    /**
     * Staged copies of saves that failed, not removed yet: a save staged behind one links its frozen block from it, or
     * the next save would (training thread only). Removed as soon as neither holds (helper-150: during a store outage
     * they stayed until a commit, and filled a small staging disk: the run stopped, or every save waited).
     */
    private final Set<Path> failedCopies = new java.util.LinkedHashSet<>();
    /** A staged frozen.safetensors known to hold the frozen block (null: write it). */
    private Path frozenSource;
    /**
     * A staged copy's frozen-block path that never came to be (its {@code step-N.tmp} could not
     * become {@code step-N}) -> where its frozen block was linked from. Written on the upload
     * thread, in save order; read there and on the training thread ({@link #linkedFrom}).
     */
    private final Map<Path, Path> unstagedFrozen = new java.util.concurrent.ConcurrentHashMap<>();

    /** The staged copies warned about as not removable: each once (helper-116: the same line at every commit). */
    private final Set<Path> warnedStaged = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Removes the staged copies but {@code keep}; one that cannot be removed is said once, as a
     * warning after {@code after} (what just happened), and stays: not a failure of a save or of
     * a resume (helper-116: a resume ended on one with a bare "Read-only file system").
     */
    private void keepOnlyStaged(java.util.function.Predicate<Path> keep, String after) throws IOException {
        for (Map.Entry<Path, IOException> e : staging.keepOnly(keep).entrySet()) {
            if (warnedStaged.add(e.getKey())) {
                err.printf("ckpt-train: %s, but the staged copy %s could not be removed (%s); it stays there until"
                        + " removed by hand (unmounted, if it is a mount point)%n", Printable.message(after),
                        Printable.of(e.getKey().toString()), Printable.message(Staging.withFile(e.getValue()))); // one line
            }
        }
    }

    /** Where to link the frozen block from, for a save that was to link it from {@code p}: past saves never staged. */
    private Path linkedFrom(Path p) {
        Path at = p;
        for (int i = 0; i < 1000 && unstagedFrozen.containsKey(at); i++) {
            at = unstagedFrozen.get(at);
        }
        return at;
    }
    private final List<Map<String, Object>> saveStats = new ArrayList<>();
    /** Throughput and commit latency of this process's saves, for the preemption save's estimate. */
    private final SaveTimes saveTimes = new SaveTimes();
    private long startNanos;
    /** When this process began to train (the store's clock), to tell a failed rank's stop point of an earlier job. */
    private Instant startedAt;
    private long stepsThisProcess;

    /** This process's share of each checkpoint: everything, or rank R's partition. */
    private CheckpointFiles.Partition part = CheckpointFiles.Partition.WHOLE;
    /** The stop step agreed by the ranks (null: one process, or no stop yet); see {@link StopPoint}. */
    private volatile StopPoint agreedStop;
    /** The step this process started (or resumed) at: a stop point at or before it is an older job's. */
    private long startStep;
    private long loopStartNanos;
    private java.util.concurrent.ScheduledExecutorService stopPoller;

    /** Why the last save failed, for the preemption message. */
    private volatile String lastSaveFailure;
    /**
     * The step of the latest save whose commit may have landed though this process does not know
     * it did (abandoned with its write of ROOT possibly in flight, or a commit state unknown), else null.
     */
    private volatile Long inDoubtStep;

    /** The latest committed checkpoint for a message ({@code none} when there is none), and a step whose commit is in doubt. */
    private String latest(String none) {
        Long doubt = inDoubtStep;
        return (lastCommitted == null ? none : lastCommitted) + (doubt == null || doubt <= lastCommittedStep ? ""
                : ", unless the commit of step " + doubt + " landed after all (it was abandoned or failed while its write"
                + " of ROOT may have been in flight: ckpt-tool ls " + (store == null ? "STORE" : dev.ckpt.store.util.ShellWords.word(
                store.objectStore().describe())) + " shows whether it did; --auto-resume takes the latest)");
    }

    /**
     * A save handed to the background thread; {@code gcWait} holds the store's notice once its commit waits for a GC,
     * {@code started} whether its task began or it was dropped before (taken once, by the task or by {@code dropQueued}), {@code frozenFrom} the staged frozen block it links when it starts (null:
     * none, or linked at staging).
     */
    private record Pending(long step, Future<SaveResult> future, AtomicReference<String> gcWait, AtomicBoolean started,
                           Path frozenFrom, AtomicBoolean committing) {
        String waitingFor() {
            String w = gcWait.get();
            return w == null ? "" : " (" + w + ")";
        }
    }

    Trainer(TrainOptions o, PrintStream out, PrintStream err, Preemption preemption) {
        this.o = o;
        this.out = out;
        this.err = err;
        this.preemption = preemption;
    }

    public static void main(String[] args) {
        // the handlers first of all: the redaction streams, DJL's set-up and the store's settings took ~0.35 s
        // before them, and a SIGTERM then ended the process with 143 and no hook (helper-106)
        Preemption early = new Preemption(System.err);
        early.installSignalHandlers();
        // every line the JVM prints, an uncaught exception's stack trace included, is redacted
        System.setOut(Redaction.stream(System.out, Printable.LINES));
        System.setErr(Redaction.stream(System.err, Printable.LINES));
        Djl.configure();
        StoreConfig config = storeConfig(System.getenv(), Runtime.getRuntime().availableProcessors());
        System.exit(run(args, System.out, System.err, System.getenv(),
                url -> CheckpointStore.open(ObjectStores.open(url), config), early));
    }

    /**
     * The store's defaults, with its CPU pool (hashing, compression) sized to this process's
     * share of the machine's {@code cores} when several ranks run on it: {@code LOCAL_WORLD_SIZE}
     * (torchrun) or {@code SLURM_NTASKS_PER_NODE} ranks share them, so each takes
     * {@code max(1, cores / ranks)} threads instead of all of them (N pools of every core
     * would only contend). A value that is not a positive number is ignored.
     */
    static StoreConfig storeConfig(Map<String, String> env, int cores) {
        StoreConfig defaults = StoreConfig.defaults();
        for (String name : List.of("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE")) {
            String v = env.get(name);
            if (v != null && v.strip().matches("[1-9][0-9]{0,5}")) {
                return defaults.withParallelism(Math.max(1, cores / Integer.parseInt(v.strip())));
            }
        }
        return defaults;
    }

    /**
     * Runs the trainer; returns the exit code. {@code openStore} opens the store URL (tests
     * wrap the object store to count or slow requests); {@code signals} installs the
     * SIGUSR1/SIGTERM handlers (only in a process of its own).
     */
    static int run(String[] args, PrintStream rawOut, PrintStream rawErr, Map<String, String> env,
                   Function<String, CheckpointStore> openStore, boolean signals) {
        return run(args, rawOut, rawErr, env, openStore, signals, null);
    }

    /** As above, with the preemption whose handlers {@code main} installed before anything else. */
    static int run(String[] args, PrintStream rawOut, PrintStream rawErr, Map<String, String> env,
                   Function<String, CheckpointStore> openStore, Preemption installed) {
        return run(args, rawOut, rawErr, env, openStore, false, installed);
    }

    private static int run(String[] args, PrintStream rawOut, PrintStream rawErr, Map<String, String> env,
                           Function<String, CheckpointStore> openStore, boolean signals, Preemption installed) {
        // every line ckpt-train prints passes the one redaction (store errors carry server text)
        // and as a terminal shows it: a path's escape sequence is written escaped, not run
        PrintStream out = Redaction.stream(rawOut, Printable.LINES);
        PrintStream err = Redaction.stream(rawErr, Printable.LINES);
        try {
            return parseAndRun(args, out, err, env, openStore, signals, installed);
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static int parseAndRun(String[] args, PrintStream out, PrintStream err, Map<String, String> env,
                                   Function<String, CheckpointStore> openStore, boolean signals, Preemption installed) {
        // first: a signal before the handlers are in killed the process without the requeue hook (helper-77);
        // parsing the options (picocli) takes most of the half second before them
        Preemption p = installed != null ? installed : new Preemption(err);
        if (signals && installed == null) {
            p.installSignalHandlers();
        }
        TrainOptions o;
        try {
            o = TrainOptions.parse(args, env);
        } catch (CommandLine.ParameterException e) {
            java.io.StringWriter text = new java.io.StringWriter(); // err's own charset encodes it
            TrainOptions.printUsageError(e, new java.io.PrintWriter(text));
            err.print(text);
            return EXIT_USAGE;
        }
        if (o == null) {
            out.print(TrainOptions.help());
            return EXIT_OK;
        }
        return run(o, out, err, openStore, p);
    }

    static int run(TrainOptions o, PrintStream out, PrintStream err, Function<String, CheckpointStore> openStore,
                   Preemption preemption) {
        return run(o, out, err, openStore, preemption, Staging.FILE_STORE);
    }

    /** As above, reading the staging directory's free space with {@code freeSpace}. */
    static int run(TrainOptions o, PrintStream out, PrintStream err, Function<String, CheckpointStore> openStore,
                   Preemption preemption, Staging.FreeSpace freeSpace) {
        java.util.Optional<String> overlap = stagingOverlap(o);
        if (overlap.isPresent()) {
            err.println("ckpt-train: " + Printable.message(overlap.get())); // the paths' line breaks escaped: one line
            return EXIT_USAGE;
        }
        Trainer t = new Trainer(o, out, err, preemption);
        t.freeSpace = freeSpace;
        t.newLocalStore = newLocalStore(o.store);
        // a file named chunks in the store's directory: every save would fail (helper-119); refused before the run starts
        java.util.Optional<String> obstructed = ObjectStores.obstructedStore(o.store);
        if (obstructed.isPresent()) {
            throw new dev.ckpt.store.error.BadConfigurationException(obstructed.get());
        }
        t.entriesBesideNewStore = ObjectStores.entriesWithoutStore(o.store);
        try (CheckpointStore s = openStore.apply(o.store)) {
            t.store = s;
            return t.train();
        } catch (FencedException e) {
            err.println("ckpt-train: stopping: " + Printable.message(e));
            if (e.currentEpoch() >= e.writerEpoch()) { // else ROOT went back, and the message above says so
                err.println("ckpt-train: another job has claimed run " + o.run + "; this one must not write to it");
            }
            return EXIT_FENCED;
        } catch (CkptException e) {
            err.println("ckpt-train: " + Printable.message(e)); // a line break in a name escaped
            t.tellTheOthers(e.getMessage());
            return ExitCode.of(e).code(); // e.g. 7 for an unreachable store, 6 for a commit state unknown
        } catch (IOException e) {
            err.println("ckpt-train: " + Printable.message(e.getMessage()));
            t.tellTheOthers(e.getMessage());
            return EXIT_ERROR;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("ckpt-train: interrupted");
            return EXIT_ERROR;
        } catch (RuntimeException e) {
            // a bug or an error a library did not map: the trace is needed, with every message in it redacted
            err.println("ckpt-train: unexpected error: " + Redaction.redact(String.valueOf(e)));
            Redaction.printStackTrace(e, err);
            t.tellTheOthers("unexpected error: " + e);
            return EXIT_ERROR;
        } catch (OutOfMemoryError e) { // what ran out (heap, threads) and what to change, not a stack trace
            err.println("ckpt-train: " + dev.ckpt.store.error.OutOfMemory.explain(e, false));
            t.tellTheOthers(dev.ckpt.store.error.OutOfMemory.explain(e, false));
            return EXIT_ERROR;
        } finally {
            t.removeFailedCopies(true);
            t.uploader.shutdownNow();
            if (t.stopPoller != null) {
                t.stopPoller.shutdownNow();
            }
            if (t.model != null && !t.startUpAbandoned) { // an abandoned start-up may still use it: the exit frees it
                t.model.close();
            }
        }
    }

    private int train() throws IOException, InterruptedException {
        startNanos = System.nanoTime();
        startedAt = store.config().clock().instant();
        SpotNotice spot = o.spotNotice == null ? null
                : new SpotNotice(o.spotNotice, o.spotNoticeUrl, o.spotPollInterval, preemption, err).start();
        try {
            StartUp.Outcome started;
            try {
                started = StartUp.run(this::startUp, preemption, o.preemptDeadline);
            } catch (IOException | dev.ckpt.store.error.CkptException e) {
                // a failure a requeue meets again (options that do not match the run's checkpoints, a configuration, a
                // permission the store refuses) keeps its own exit code though a stop came: 75 would requeue the job over
                // and over (helper-151). A held lock, a store that does not answer, a full disk: a requeue may find them
                // gone, and 75 stands.
                boolean failsAgain = e instanceof dev.ckpt.store.error.InvalidInputException
                        || e instanceof dev.ckpt.store.error.BadConfigurationException
                        || e instanceof dev.ckpt.store.error.PermissionDeniedException
                        || e instanceof dev.ckpt.store.error.EndpointRedirectException
                        || e instanceof dev.ckpt.store.error.UnsupportedFormatException
                        || e instanceof dev.ckpt.store.error.ConditionalWritesUnsupportedException
                        || e instanceof dev.ckpt.store.error.RanksDisagreeException;
                if (!preemption.requested() || e instanceof FencedException || failsAgain) {
                    if (!(e instanceof FencedException)) {
                        // what was under way, before the error's own line (helper-123: a claim that failed on S3 printed
                        // one line about a write of ROOT, with no word of the run, the store or the start-up)
                        // "stopped" for a refusal of the options (helper-152: "failed while looking for checkpoints"
                        // read as a failure of the lookup, before the line saying the run already has some)
                        err.println("ckpt-train: the start-up " + (e instanceof dev.ckpt.store.error.InvalidInputException
                                ? "stopped" : "failed") + " while " + startPhase + " (store "
                                + store.objectStore().describe() + "); nothing was trained" + (preemption.requested()
                                ? "; not exiting 75 as the " + preemption.reason() + " line said: a requeue would fail the"
                                + " same way, fix the cause first" : ""));
                    }
                    throw e; // a fenced run stays exit 4: a requeued job would be fenced again
                }
                // the stop promised 75 and the requeue hook; the start-up's failure (a lock held past its 30 s,
                // a store that does not answer) is what a requeue retries (helper-77: exit 1, no hook)
                startPhase = startPhase + ", which failed (" + e.getMessage() + ")";
                startUpAbandoned = true;
                return startUpAbandoned(false);
            } finally {
                preemption.startingUp(false);
            }
            if (started == StartUp.Outcome.ABANDONED) {
                startUpAbandoned = true;
                return startUpAbandoned(true);
            }
            return loop();
        } finally {
            if (spot != null) {
                spot.close();
            }
        }
    }

    /** Whether a stop abandoned the start-up, whose thread may still run. */
    private boolean startUpAbandoned;

    /** --store named a local directory that did not exist when the trainer started: opening it made a new store. */
    private boolean newLocalStore;

    /**
     * How many entries the local directory {@code store} held while it held no store (no ROOT):
     * a new store is made among them; 0 for an empty or missing directory, a store, or not local.
     */
    private long entriesBesideNewStore;

    /** Whether {@code store} is a local path (or file: URL) where nothing exists yet. */
    private static boolean newLocalStore(String store) {
        Path p = localStore(store);
        return p != null && !Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** The directory of {@code store} if it is a local path or file: URL, as the store opens it; else null (opening it says what is wrong). */
    private static Path localStore(String store) {
        try {
            return ObjectStores.localPath(store).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Why the run's staging directory and a local store cannot be used together, or empty: a
     * store that holds the staging directory, or lies in it, would have the trainer's staged
     * copies among its objects (or its objects among the staged copies the trainer cleans up).
     * A helper's {@code --store ./ckpt-staging} made the staging directory a store.
     */
    static java.util.Optional<String> stagingOverlap(TrainOptions o) {
        Path store = localStore(o.store);
        if (store == null) {
            return java.util.Optional.empty();
        }
        Path runStaging = o.staging.resolve(o.run);
        dev.ckpt.store.util.Overlap.Found overlap = dev.ckpt.store.util.Overlap.find(store, runStaging);
        if (overlap.kind() == dev.ckpt.store.util.Overlap.NONE) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("cannot stage the checkpoints of run " + o.run + " in " + runStaging + ": "
                + overlap.says(store) + "; checkpoints are staged there and then uploaded into the store, so the two"
                + " must be apart: give --store and --staging directories that do not hold each other (the defaults are"
                + " ./ckpt-store and ./ckpt-staging); nothing was written");
    }

    /** The job's writer token once the start-up joined the run (ranks only), for a stop that abandons it. */
    private volatile WriterToken joined;

    /** The step of the checkpoint --auto-resume resumes from (0: none), once listed; -1 before. */
    private volatile long resumeStep = -1;

    /** What the start-up is doing, for the message of a stop that abandons it. */
    private volatile String startPhase = "opening the store";

    /** The store's set-up, the writer claim, the model, --auto-resume: on {@link StartUp}'s thread. */
    private void startUp() throws IOException, InterruptedException {
        // the staging directory is checked before the store is touched: a start refused for it must not have claimed the
        // run, which fences the job that runs it now (helper-112: a start refused for a read-only staging directory
        // stopped the running job at its next save)
        startPhase = "checking the staging directory";
        staging = new Staging(o.staging, o.ranked() ? o.run + "/rank-" + o.rank : o.run, o.minFreeMb << 20, out, freeSpace);
        startPhase = "opening the store";
        store.init();
        if (!o.autoResume) {
            startPhase = "looking for checkpoints of run " + o.run;
            refuseFreshStartOverCheckpoints();
        }
        startPhase = "claiming run " + o.run + " as its writer";
        if (o.ranked()) {
            // every rank of the job holds the one writer epoch; a requeued job's ranks fence this one
            writer = store.joinRun(o.run, o.jobId);
            joined = writer;
            part = new CheckpointFiles.Partition(o.rank, o.worldSize);
        } else {
            writer = store.claimWriter(o.run);
        }
        startPhase = "preparing the model";
        staging.removeLeftovers(); // after the claim: a .tmp of the job this one fences is its no longer
        ModelConfig cfg = o.modelConfig();
        model = new Model(cfg);
        order = new DataOrder(cfg.seed(), cfg.datasetSize(), cfg.batch());
        state.seed = cfg.seed();
        out.printf("ckpt-train: run %s, store %s%s (writer epoch %d), staging %s%n", o.run, store.objectStore().describe(),
                store.objectStore().server().map(s -> " at " + s).orElse(""), writer.epoch(),
                Printable.of(String.valueOf(dev.ckpt.store.util.Overlap.real(staging.dir())))); // a path's line break escaped: one line
        if (entriesBesideNewStore > 0) {
            // helper-118: a non-empty directory that was no store got ROOT, chunks/ and manifests/ among its files with no
            // word (a --store that named the wrong directory, e.g. a restored checkpoint's); a missing one is said at resume
            out.printf("note: --store %s held %d %s but no store: a new store (ROOT, chunks/, manifests/) was made among"
                    + " them; if you meant another store, check the path%n", Printable.of(String.valueOf(o.store)), entriesBesideNewStore,
                    entriesBesideNewStore == 1 ? "entry" : "entries");
        }
        if (o.ranked()) {
            out.printf("ckpt-train: rank %d of %d, job %s: this rank saves %s and their Adam moments%s%n", o.rank,
                    o.worldSize, o.jobId, String.join(", ", part.owned(model)), o.rank == 0 ? ", and the training state" : "");
        }
        out.printf("ckpt-train: model %s of parameters (%s trained, frozen block %s), Adam lr %s, batch %d, %s%n",
                SaveResult.human(model.parameterBytes()), SaveResult.human(model.parameterBytes() - frozenBytes()),
                frozenBytes() == 0 ? "none" : SaveResult.human(frozenBytes()), cfg.lr(), cfg.batch(),
                SaveResult.count(Integer.getInteger("ai.djl.pytorch.num_threads", 0), "engine thread"));
        if (o.autoResume) {
            startPhase = "resuming run " + o.run + " from its newest checkpoint";
            resume();
        }
        if (lastCommitted == null) {
            removeUncommittedCopies();
        }
        // fail before training rather than at the first save
        startPhase = "checking the staging directory's free space";
        staging.checkSpace(CheckpointFiles.bytesNeeded(model, part, frozenLinks()), state.step, lastCommitted);
        startStep = state.step;
        if (o.ranked()) {
            startStopPoller();
        }
    }

    /**
     * A start from step 0 (the run has no checkpoint): the staged copies in the run's staging directory
     * are an earlier process's saves that never committed, which nothing restores from; removed after
     * the claim, as leftovers are. A killed run, or one whose every save failed, left them, the frozen
     * block's file among them, and the start then counted that block twice: "has 15.0 MiB free; the
     * checkpoint of step 0 needs 25.3 MiB", on a disk its own leftovers filled (helper-153).
     */
    private void removeUncommittedCopies() throws IOException {
        int n = staging.complete().size();
        if (n > 0) {
            out.printf("staging: removing %s of saves that never committed (run %s has no checkpoint to resume from)%n",
                    n == 1 ? "1 staged copy" : n + " staged copies", o.run);
            keepOnlyStaged(p -> false, "a start from step 0 removes the copies of saves an earlier process never committed");
        }
    }

    /**
     * Refuses a start from step 0 (no {@code --auto-resume}) in a run that has checkpoints, before
     * the run is claimed (a claim fences the job that may still be training on it). Such a
     * training was mixed with the old one: retention keeps the highest steps, so it dropped each
     * checkpoint the new training committed at its next save, and {@code --auto-resume} (and the
     * end's "latest") took the old training's newest (helper-141); a stop before the new training
     * passed the old step lost all of it.
     *
     * @throws InvalidInputException naming the run, its newest checkpoint and the three ways on:
     *         --auto-resume, another --run, or forgetting the run's checkpoints; nothing claimed or written
     */
    private void refuseFreshStartOverCheckpoints() {
        List<CheckpointEntry> cps = store.list(o.run);
        if (cps.isEmpty()) {
            return;
        }
        CheckpointEntry newest = cps.get(cps.size() - 1);
        String store = Printable.of(String.valueOf(o.store));
        throw new dev.ckpt.store.error.InvalidInputException("run " + o.run + " already has " + (cps.size() == 1
                ? "a checkpoint" : cps.size() + " checkpoints") + ", the newest " + newest.id() + " at step " + newest.step()
                + "; a training from step 0 would be mixed with them (retention keeps the highest steps, so it would drop"
                + " the new training's checkpoints, and --auto-resume would continue the old one): pass --auto-resume to"
                + " continue from step " + newest.step() + ", give another --run for a new training, or drop the run's"
                + " checkpoints first (ckpt-tool forget " + dev.ckpt.store.util.ShellWords.word(store) + " "
                // by id: RUN@STEP names one of two checkpoints at a step, and the start was refused again
                + String.join(" ", cps.stream().map(c -> dev.ckpt.store.util.ShellWords.word(c.id())).toList()) + (cps.stream().anyMatch(CheckpointEntry::pinned) ? ", after ckpt-tool unpin of"
                + " the pinned ones" : "") + "); nothing was claimed or written");
    }

    /**
     * A stop request came during the start-up, which had not ended by --preempt-deadline
     * ({@code deadlinePassed}) or failed: nothing was trained, so nothing is lost; exit 75 (the
     * requeue hook runs), as for any stop.
     */
    private int startUpAbandoned(boolean deadlinePassed) throws InterruptedException {
        if (o.ranked()) {
            out.println(StopProposal.tellRanksOfAbandonedStartUp(store, o, preemption, joined, resumeStep));
        }
        out.printf("preempted: %s during start-up; %s %s%s; nothing was trained, so nothing is lost: the latest checkpoint"
                        + " of run %s stays what it was; exiting %d (requeue, then --auto-resume)%n", preemption.reason(),
                deadlinePassed ? "--preempt-deadline " + human(o.preemptDeadline) + " passed while" : "it stopped while",
                startPhase, deadlinePassed ? ", which was abandoned" : "", o.run, EXIT_PREEMPTED);
        runPreemptHook();
        return EXIT_PREEMPTED;
    }

    private long frozenBytes() {
        return model.frozen() == null ? 0 : 4L * model.frozen().size();
    }

    /** Whether the training loop began: a rank that fails before saves no part of any checkpoint. */
    private volatile boolean looping;

    /**
     * A rank of several that fails ({@code why}: its message) tells the others what it can.
     * Once it has trained, it proposes a stop point saying it failed
     * ({@link StopProposal#tellRanksOfFailure}): they stop at once with the latest checkpoint
     * and exit 1 (helper-104: they waited --ranks-timeout at every save and trained on with
     * nothing committed). A rank that failed before its training loop (the store, its join of
     * the job, its staging directory) records nothing: a stop point at the step the job resumed
     * from reads as an earlier job's with the same job id. It says that the others wait for
     * its part.
     */
    private void tellTheOthers(String why) {
        if (!o.ranked()) {
            return;
        }
        if (!looping || writer == null) {
            err.println("ckpt-train: rank " + o.rank + " did not start, and the other ranks were not told: they wait"
                    + " for its part of each checkpoint until their --ranks-timeout ("
                    + dev.ckpt.store.util.Durations.format(o.ranksTimeout) + ")");
            return;
        }
        try {
            err.println(StopProposal.tellRanksOfFailure(store, o, writer, state.step, why));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private int loop() throws IOException, InterruptedException {
        looping = true;
        long windowStart = System.nanoTime();
        long windowSteps = 0;
        loopStartNanos = windowStart;
        boolean proposed = false;
        if (state.step > 0 && state.step >= o.steps) {
            // resumed at or past the last step: it trained nothing, and said only "done" (a helper's case)
            String nothing = String.format("run %s resumed at step %d, %s; to train on, pass --steps above %d", o.run,
                    state.step, state.step == o.steps ? "and --steps is " + o.steps : "past --steps " + o.steps, state.step);
            if (preemption.requested()) {
                // the signal's line promised 75 for a stop during the start-up (helper-100: it then said it saved the
                // final state, and exited 0)
                out.printf("preempted: %s during the start-up, with nothing to train (%s); nothing to save: the latest"
                        + " checkpoint of run %s stays %s; exiting %d%n", preemption.reason(), nothing, o.run,
                        latest("none"), EXIT_PREEMPTED);
                runPreemptHook();
                return EXIT_PREEMPTED;
            }
            out.println("nothing to train: " + nothing);
        }
        while (state.step < o.steps) {
            if (!o.ranked()) {
                if (preemption.requested()) {
                    return preempt(preemption.reason(), preemption.requestedAtNanos() + o.preemptDeadline.toNanos());
                }
            } else {
                if (preemption.requested() && !proposed && agreedStop == null) {
                    proposed = proposeStop();
                }
                StopPoint stop = agreedStop;
                if (stop != null) {
                    if (stop.step() <= startStep) {
                        return staleStop(stop);
                    }
                    announceStop(stop);
                    if (stop.noCheckpointCanComplete()) {
                        return stopOnTheWayPassed(stop); // its proposer saves no part: nothing to train towards
                    }
                    if (state.step == stop.step()) {
                        return preempt(stopReason(stop), stopDeadlineNanos(stop));
                    }
                    if (state.step > stop.step()) {
                        return pastStop(stop);
                    }
                    Instant stopBy = stopDeadline();
                    if (stopBy != null && store.config().clock().instant().isAfter(stopBy)) {
                        // training on to the stop step cannot save it in time any more (a save on the way waited
                        // for a rank that is gone): stop now, with what is committed
                        return stopOnTheWayPassed(stop);
                    }
                } else if (preemption.requested() && !proposed
                        && System.nanoTime() > preemption.requestedAtNanos() + o.preemptDeadline.toNanos()) {
                    // every proposal failed (each said why): nothing can be saved in agreement any more
                    return abandoned(preemption.reason(), "the ranks could not agree on a stop step through the store");
                }
            }
            long[] batch = order.next();
            double loss = model.step(batch, state.step + 1);
            state.step++;
            stepsThisProcess++;
            windowSteps++;
            state.epoch = order.epoch();
            state.dataCursor = order.cursor();
            state.optimizerStep = model.adam.step();
            state.record(loss);
            checkBackground();
            if (state.step % o.logEvery == 0 || state.step == o.steps) {
                long now = System.nanoTime();
                out.printf("step %d  loss %.6f  %.1f steps/s  last committed %s%n", state.step, loss,
                        windowSteps * 1e9 / Math.max(1, now - windowStart), lastCommitted == null ? "none" : lastCommitted);
                windowStart = now;
                windowSteps = 0;
            }
            if (state.step % o.saveEvery == 0 && state.step < o.steps) {
                // on the way to a stop step, a save waits no longer than the stop's deadline
                try {
                    saveAsync(stopDeadline());
                } catch (Staging.Failed e) {
                    if (!stopping()) {
                        throw e;
                    }
                    return cannotStageAtStop(e); // a signal came while it waited for the saves before it
                }
            }
        }
        preemption.finishing(true); // a signal from here on says what the end holds, not "at the next step boundary"
        if (preemption.requested()) {
            out.println("ckpt-train: " + preemption.reason() + " arrived as training finished; " + (lastCommittedStep
                    != state.step || lastCommitted == null ? "saving the final state, then exiting 0 (training is"
                    + " complete), or 75 if it has not committed by the stop's deadline" : "the final state is committed"));
        }
        // the final checkpoint: synchronous
        if (!finishPendingUnlessStopped()) {
            return finalSaveAbandoned();
        }
        if (lastCommittedStep != state.step || lastCommitted == null) {
            if (state.step == 0) {
                out.println("nothing to train: --steps is 0");
            } else {
                try {
                    saveAsync();
                } catch (Staging.Failed e) {
                    if (!stopping()) {
                        throw e;
                    }
                    return cannotStageAtStop(e);
                }
                if (!finishPendingUnlessStopped()) {
                    return finalSaveAbandoned();
                }
                if (lastCommittedStep != state.step && preemption.requested()) {
                    // the signal promised 75 unless the final save committed; a save that failed is no commit (helper-108:
                    // exit 1 here, 75 for the same failure a step earlier)
                    out.printf("preempted: %s during the final save; the save of step %d failed%s; the latest checkpoint"
                                    + " stays %s; exiting %d (requeue, then --auto-resume)%n", preemption.reason(), state.step,
                            lastSaveFailure == null ? "" : ": " + lastSaveFailure, latest("none (nothing committed yet)"),
                            EXIT_PREEMPTED);
                    runPreemptHook();
                    return EXIT_PREEMPTED;
                }
                if (lastCommittedStep != state.step) {
                    err.printf("ckpt-train: the final checkpoint (step %d) was not saved%s; the latest checkpoint of run %s is"
                            + " %s. Run again with --auto-resume once the cause is fixed (the store reachable; with"
                            + " ranks, every rank running).%n", state.step,
                            lastSaveFailure == null ? "" : " (" + lastSaveFailure + ")", o.run,
                            latest("none"));
                    return EXIT_ERROR;
                }
            }
        }
        List<CheckpointEntry> cps = store.list(o.run);
        out.printf("done: run %s at step %d, loss %s; %s of the run in %s (latest %s); staged copy in %s%n",
                o.run, state.step, state.lastLoss() == null ? "-" : String.format("%.6f", state.lastLoss()),
                SaveResult.count(cps.size(), "checkpoint"),
                store.objectStore().describe(), cps.isEmpty() ? "none" : cps.get(cps.size() - 1).id(),
                lastCommittedStep >= 0 ? Printable.of(String.valueOf(dev.ckpt.store.util.Overlap.real(staging.pathOf(lastCommittedStep)))) : "-");
        return EXIT_OK;
    }

    /**
     * This rank was told to stop: it proposes a stop step ({@link StopStep}: far enough that
     * no rank is past it and every rank reads it in time, near enough for the deadline) to
     * the ranks (create-only; the first proposal wins) and takes whatever step was agreed.
     * Returns false if the store could not be reached (tried again at the next step).
     */
    private boolean proposeStop() {
        long steps = stepsThisProcess;
        long mean = steps == 0 ? 0 : (System.nanoTime() - loopStartNanos) / steps;
        StopProposal proposal = StopProposal.of(store, o, preemption, o.rank, state.step, mean);
        StopStep choice = proposal.choice();
        StopPoint mine = proposal.point();
        try {
            StopPoint agreed = store.proposeStop(writer, mine);
            agreedStop = agreed;
            if (agreed.equals(mine)) {
                out.printf("ckpt-train: %s: the ranks stop at step %d (%s); saving there, then exiting %d%n", mine.reason(),
                        mine.step(), choice.because(), EXIT_PREEMPTED);
            } else if (agreed.noCheckpointCanComplete()) {
                // that rank saves no part: there is nothing to save "there" (a start-up abandoned, or a rank that failed)
                out.printf("ckpt-train: %s: the ranks were already stopping, and rank %d saves no part (%s), so no"
                        + " checkpoint of this job can be completed: this rank stops now, then exits %d%n", mine.reason(),
                        agreed.rank(), agreed.proposerHasFailed() ? agreed.reason() : agreed.reason() + " during its start-up",
                        EXIT_PREEMPTED);
            } else {
                out.printf("ckpt-train: %s: rank %d had already set the ranks' stop at step %d (%s); saving there, then "
                        + "exiting %d%n", mine.reason(), agreed.rank(), agreed.step(), agreed.reason(), EXIT_PREEMPTED);
            }
            return true;
        } catch (CkptException e) {
            err.println("ckpt-train: could not write the ranks' stop point " + StopPoint.key(writer) + ": " + e.getMessage()
                    + "; trying again at the next step");
            return false;
        }
    }

    /**
     * At a save step of a rank of several, once the previous save has committed: reads the
     * ranks' stop point once more (one GET on the poller's thread, while this save stages;
     * {@link #saveAsync} returns only when it is done). A stop point is written before the
     * commit of the proposer's next save, and a rank that is ahead waits for that commit at
     * this save step; so after the wait the stop point is there, but the poller may not have
     * read it yet, and the rank would train past the agreed step and exit 75 without its
     * part. A failed read is left to the poller, which reports it. Null when not needed.
     */
    private CompletableFuture<Void> readStopWhileStaging() {
        if (!o.ranked() || agreedStop != null || stopPoller == null) {
            return null;
        }
        try {
            return CompletableFuture.runAsync(() -> {
                try {
                    store.readStop(writer).ifPresent(s -> agreedStop = s);
                } catch (RuntimeException e) {
                    // the poller reads again within --stop-poll-interval and says what failed
                }
            }, stopPoller);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return null; // the poller has stopped: the run is ending
        }
    }

    /**
     * Waits for {@link #readStopWhileStaging} at most 10 s: a store that hangs must not hold
     * training up longer than that; the poller goes on reading.
     */
    private static void awaitStopRead(CompletableFuture<Void> read) throws InterruptedException {
        try {
            read.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // the read itself swallows store errors; a timeout leaves it to the poller
        }
    }

    /** Reads the ranks' stop point every --stop-poll-interval, off the training thread. */
    private void startStopPoller() {
        stopPoller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ckpt-train-stop-poll");
            t.setDaemon(true);
            return t;
        });
        boolean[] failing = {false};
        long every = o.stopPollInterval.toMillis();
        stopPoller.scheduleWithFixedDelay(() -> {
            if (agreedStop != null) {
                return;
            }
            try {
                store.readStop(writer).ifPresent(s -> agreedStop = s);
                failing[0] = false;
            } catch (RuntimeException | Error e) {
                // anything thrown out of a periodic task ends it silently: this rank would never learn of a stop
                if (!failing[0]) { // once per outage, not once per poll
                    err.println("ckpt-train: could not read the ranks' stop point " + StopPoint.key(writer) + ": "
                            + (e instanceof Error ? Redaction.redact(String.valueOf(e)) : e.getMessage()) + "; polling on");
                }
                failing[0] = true;
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    /** Whether this rank has said that another rank's stop reached it. */
    private boolean stopAnnounced;

    /**
     * Says once that another rank's stop reached this rank (a rank signalled itself said so when it
     * proposed): before anything this rank does because of it, e.g. a save it skips while waiting.
     */
    private void announceStop(StopPoint stop) {
        if (stopAnnounced || preemption.requested()) {
            return;
        }
        stopAnnounced = true;
        if (stop.proposerHasFailed()) {
            out.printf("ckpt-train: %s. It saves no more parts, so no checkpoint of this job can be completed: this rank"
                    + " stops now, then exits %d%n", stop.reason(), EXIT_ERROR);
        } else if (stop.noCheckpointCanComplete()) {
            out.printf("ckpt-train: rank %d received %s during its start-up and saves no part: no checkpoint of this job"
                    + " can be completed; this rank stops now, then exits %d%n", stop.rank(), stop.reason(), EXIT_PREEMPTED);
        } else {
            out.printf("ckpt-train: rank %d received %s: the ranks stop at step %d; this rank saves there, then exits %d%n",
                    stop.rank(), stop.reason(), stop.step(), EXIT_PREEMPTED);
        }
    }

    private String stopReason(StopPoint stop) {
        if (preemption.requested()) {
            return preemption.reason();
        }
        return stop.reason() + " on rank " + stop.rank();
    }

    /** How long a wait for the save before this one lasts before it looks again for a stop: 0.25 s. */
    private static final long WAIT_SLICE_NANOS = 250_000_000L;

    /**
     * For a rank of several told to stop (by a signal, or by the ranks' stop point): the
     * instant every save must be done by; null when no stop is requested or agreed. The
     * saves on the way to the stop step take it as their deadline, so a rank that is gone
     * costs them the stop's deadline, not --ranks-timeout each.
     */
    private Instant stopDeadline() {
        if (!o.ranked()) {
            return null;
        }
        StopPoint stop = agreedStop;
        long d;
        if (stop != null && (stop.deadline() != null || preemption.requested())) {
            d = stopDeadlineNanos(stop);
        } else if (preemption.requested()) {
            d = preemption.requestedAtNanos() + o.preemptDeadline.toNanos();
        } else {
            return null;
        }
        return store.config().clock().instant().plusNanos(d - System.nanoTime());
    }

    /** The stop's deadline passed before this rank reached the agreed step: nothing more can be saved. */
    private int stopOnTheWayPassed(StopPoint stop) throws InterruptedException {
        Pending p = pending.peekFirst();
        cancelPending();
        String what = p != null ? "the save of step " + p.step() + " had not committed" + p.waitingFor()
                : lastSaveFailure != null ? "this rank trained towards the agreed stop step " + stop.step()
                + " after a save failed (" + lastSaveFailure + ")"
                : "this rank trained towards the agreed stop step " + stop.step();
        return abandoned(stopReason(stop), what);
    }

    private long stopDeadlineNanos(StopPoint stop) {
        long now = System.nanoTime();
        if (stop.noCheckpointCanComplete()) {
            return now; // no save of this job can commit: every wait for one ends now
        }
        long d = stop.deadline() == null ? now + o.preemptDeadline.toNanos()
                : now + Duration.between(store.config().clock().instant(), stop.deadline()).toNanos();
        if (preemption.requested()) {
            d = Math.min(d, preemption.requestedAtNanos() + o.preemptDeadline.toNanos());
        }
        return d;
    }

    /**
     * The ranks agreed on a step this rank has already passed (it learned of the stop too
     * late): it cannot save that step, so no checkpoint is committed for it (the other ranks'
     * saves of it fail at their deadline: a checkpoint needs every part). It lets the save in
     * flight finish, then exits 75; the latest committed checkpoint stays the latest.
     */
    private int pastStop(StopPoint stop) throws InterruptedException {
        long deadline = stopDeadlineNanos(stop);
        if (!finishPending(deadline - System.nanoTime())) {
            cancelPending();
        }
        out.printf("preempted: %s; the ranks agreed to stop at step %d but this rank was already at step %d, so it cannot"
                        + " save that step and no checkpoint is committed for it; the latest checkpoint stays %s; exiting %d%n",
                stopReason(stop), stop.step(), state.step, latest("none (nothing committed yet)"),
                EXIT_PREEMPTED);
        runPreemptHook();
        return EXIT_PREEMPTED;
    }

    /** The stop point is at or before where this job started: an earlier job with the same job id wrote it. */
    private int staleStop(StopPoint stop) {
        out.printf("preempted: %s; stop point %s says step %d, at or before step %d where this job started: an earlier"
                        + " job used the same job id %s (a job id must be new for each job); the ranks cannot agree on a"
                        + " step, so this rank saves nothing; the latest checkpoint stays %s; exiting %d%n",
                preemption.requested() ? preemption.reason() : stop.reason() + " on rank " + stop.rank(), StopPoint.key(writer),
                stop.step(), startStep, o.jobId, lastCommitted == null ? "none (nothing committed yet)" : lastCommitted,
                EXIT_PREEMPTED);
        runPreemptHook();
        return EXIT_PREEMPTED;
    }

    /** Surfaces a failed background save: fenced stops the run; anything else is reported and training goes on. */
    private void checkBackground() throws InterruptedException {
        while (!pending.isEmpty() && pending.peekFirst().future().isDone()) {
            finishOldest(0);
        }
    }

    /**
     * The final save's wait: for every save in flight, without bound until a stop is requested
     * (or, with ranks, agreed), then until the stop's deadline (helper-76: it waited on past it).
     * Returns false if the deadline passed first (the saves keep running).
     */
    private boolean finishPendingUnlessStopped() throws InterruptedException {
        while (true) {
            long end;
            if (o.ranked()) {
                Instant by = stopDeadline();
                end = by == null ? Long.MAX_VALUE
                        : System.nanoTime() + Duration.between(store.config().clock().instant(), by).toNanos();
            } else {
                end = preemption.requested() ? preemption.requestedAtNanos() + o.preemptDeadline.toNanos() : Long.MAX_VALUE;
            }
            long left = end == Long.MAX_VALUE ? WAIT_SLICE_NANOS : Math.min(WAIT_SLICE_NANOS, end - System.nanoTime());
            if (finishPending(Math.max(0, left))) {
                return true;
            }
            if (end != Long.MAX_VALUE && System.nanoTime() >= end) {
                return false;
            }
        }
    }

    /** The stop's deadline passed while the final save (or one before it) had not committed: exit 75. */
    private int finalSaveAbandoned() {
        Pending p = pending.peekFirst();
        cancelPending();
        return abandoned(stopReason(agreedStop), "the "
                + (p != null && p.step() == state.step ? "final " : "") + "save of step " + (p == null ? state.step : p.step())
                + " had not committed" + (p == null ? "" : p.waitingFor()));
    }

    /**
     * Waits up to {@code timeoutNanos} for every save in flight, oldest first, and reports
     * each. Returns false if they did not all finish in time (they keep running).
     */
    private boolean finishPending(long timeoutNanos) throws InterruptedException {
        long end = System.nanoTime() + Math.min(timeoutNanos, Long.MAX_VALUE / 4);
        while (!pending.isEmpty()) {
            if (!finishOldest(timeoutNanos == Long.MAX_VALUE ? Long.MAX_VALUE : end - System.nanoTime())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Waits up to {@code timeoutNanos} for the oldest save in flight and reports it. Returns
     * false if it did not finish in time (it keeps running).
     */
    private boolean finishOldest(long timeoutNanos) throws InterruptedException {
        Pending oldest = pending.peekFirst();
        if (oldest == null) {
            return true;
        }
        try {
            oldest.future().get(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return false;
        } catch (CancellationException e) {
            pending.removeFirst();
            inFlightDirs.remove(staging.pathOf(oldest.step()));
            return true;
        } catch (ExecutionException e) {
            pending.removeFirst();
            Throwable c = e.getCause();
            if (c instanceof FencedException f) {
                throw f;
            }
            if (c instanceof dev.ckpt.store.error.RanksDisagreeException d) {
                throw d; // no save of this job can commit: stop, telling the other ranks (tellTheOthers)
            }
            // an Error in the JVM's words and what to change (heap, threads...), not its bare message ("Java heap space")
            lastSaveFailure = c instanceof OutOfMemoryError o ? dev.ckpt.store.error.OutOfMemory.explain(o, true)
                    : c instanceof Error x ? dev.ckpt.store.error.OutOfMemory.explain(x)
                    : c instanceof Staging.Failed f ? f.what() : c instanceof dev.ckpt.store.error.CkptException k
                    ? Printable.message(k) : Printable.message(c.getMessage()); // the last committed one: said below
            boolean notStaged = c instanceof Staging.Failed; // its step-N.tmp never became step-N: what is there is not ours
            if (c instanceof dev.ckpt.store.error.CommitStateUnknownException) {
                inDoubtStep = oldest.step();
            }
            StopPoint stop = agreedStop;
            // what happens next: a save failing while the process stops must not promise another try
            String next = stop != null && state.step < stop.step()
                    ? "training goes on to the agreed stop step " + stop.step()
                    : preemption.requested() || stop != null ? "this process is stopping"
                    : preemption.finishing() ? (oldest.step() == state.step ? "it was the final save" // helper-153: "the next save"
                    : "the final save, of step " + state.step + ", follows") // of a run that had none left
                    : "training goes on, the next save tries again";
            err.printf("ckpt-train: save of step %d FAILED: %s; %s (last committed: %s)%n", oldest.step(), lastSaveFailure,
                    next, latest("none"));
            discard(oldest);
            if (notStaged && oldest.frozenFrom() != null && frozenSource != null
                    && frozenSource.startsWith(staging.pathOf(oldest.step()))) {
                // the next save links the frozen block from where this one would have, not from a step-N this save never
                // made (helper-115: the save after it failed, "it is gone")
                frozenSource = linkedFrom(oldest.frozenFrom()); // past any it would have linked from that never staged
            }
            if (!notStaged) {
                failedCopies.add(staging.pathOf(oldest.step()));
            }
            removeFailedCopies(false);
            return true;
        }
        pending.removeFirst();
        removeFailedCopies(false);
        return true;
    }

    /**
     * Removes the staged copies of failed saves. While a save is in flight, only their files other than the
     * frozen block go: the frozen file is a hard link to the block the save in flight reads, and removing a link
     * moves that file's change time, which fails the save ("changed while it was being saved"); the link takes no
     * space of its own. With no save in flight, a copy goes whole unless the next save is to link the frozen block
     * from it and no committed copy holds it ({@link #frozenLinkMovedFrom}: then its frozen file alone stays); what
     * stays is tried again at the next call, and the next commit or start removes it too.
     *
     * <p>{@code atEnd}: the run ends, and no save follows to link from a copy: with no save in flight the copies
     * go whole, frozen files too (helper-153: a run whose every save failed left its 25 MiB frozen file, with no
     * committed copy to move its link to, and that stopped the --auto-resume its own message asked for); with one
     * in flight (an error ended the run during an upload) nothing is touched, and the next start removes them.
     */
    private void removeFailedCopies(boolean atEnd) {
        if (atEnd && !pending.isEmpty()) {
            return;
        }
        for (java.util.Iterator<Path> it = failedCopies.iterator(); it.hasNext(); ) {
            Path copy = it.next();
            try {
                if (pending.isEmpty() && (atEnd || frozenLinkMovedFrom(copy))) {
                    it.remove();
                    LocalFiles.deleteTree(copy);
                } else {
                    removeAllButFrozen(copy);
                }
            } catch (IOException ignored) {
                // a stale staged copy is harmless: the next commit or start removes it
            }
        }
    }

    /** Deletes every file under {@code copy} but the frozen block's ({@code frozen.safetensors}, of each part). */
    private static void removeAllButFrozen(Path copy) throws IOException {
        if (!Files.isDirectory(copy, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> files;
        try (java.util.stream.Stream<Path> w = Files.walk(copy)) {
            files = w.filter(f -> Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && !f.getFileName().toString().equals(Model.FROZEN + ".safetensors")).toList();
        }
        for (Path f : files) {
            Files.deleteIfExists(f);
        }
    }

    /**
     * Before the staged copy {@code failed} of a save that failed is removed: when the next save
     * would link the frozen block from it, it links it from the last committed staged copy instead
     * (the same file: the frozen block never changes). Returns whether {@code failed} may go;
     * false (its frozen file stays until a later call or the next commit) when no such copy holds the block (helper-149:
     * the copy went, the next save counted the whole frozen block, and on a staging disk that holds
     * it once the run stopped).
     */
    private boolean frozenLinkMovedFrom(Path failed) {
        if (frozenSource == null || !frozenSource.startsWith(failed)) {
            return true;
        }
        Path committed = lastCommitted == null ? null : staging.pathOf(lastCommittedStep);
        try {
            Path f = committed == null || !Files.isDirectory(committed) ? null : CheckpointFiles.frozenFileIn(committed);
            if (f != null && Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                frozenSource = f;
                return true;
            }
        } catch (IOException e) {
            // unreadable: keep the failed copy, which holds the block
        }
        return false;
    }

    /**
     * At a stop: drops the saves staged behind an upload that have not started. The save of the
     * current step supersedes them, and waiting for them could cost it the deadline.
     */
    private void dropQueued() {
        for (java.util.Iterator<Pending> it = pending.descendingIterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.step() >= state.step) {
                continue; // the save of the current step itself: waiting for it is the stop's save
            }
            // taken from the task, which takes the same flag as it starts: a task the pool has begun to run is not
            // cancelled by cancel(false), and was dropped while it linked and renamed its copy (helper-149)
            if (!p.started().compareAndSet(false, true)) {
                break; // this one (and every older one) runs or has run
            }
            p.future().cancel(false);
            it.remove();
            discard(p);
            if (p.frozenFrom() != null) {
                frozenSource = linkedFrom(p.frozenFrom()); // its frozen block was never linked: link from where it would have
            }
            out.printf("ckpt-train: the save of step %d, staged behind an upload, is dropped: the save of step %d "
                    + "supersedes it%n", p.step(), state.step);
        }
    }

    /** A save that ended without committing, or never started: its directory is no longer in flight, its {@code .tmp} goes. */
    private void discard(Pending p) {
        inFlightDirs.remove(staging.pathOf(p.step()));
        staging.deleteTmpQuietly(p.step());
    }

    /** Cancels every save in flight (the one uploading is interrupted, the ones staged behind it never start). */
    private void cancelPending() {
        for (Pending p : pending) {
            if (p.committing().get() && !p.future().isDone() && !(o.ranked() && o.rank != 0)) {
                inDoubtStep = p.step(); // its write of ROOT may be in flight: it may land yet (another rank: see abandoned)
            }
            p.future().cancel(true);
            discard(p); // one staged behind never started: its step-N.tmp
        }
        pending.clear();
    }

    /**
     * How many saves may be in flight: the one uploading and one staged behind it, so a save
     * point that comes while the previous save uploads costs the training thread only its
     * staging (with a frozen block, a hard link: milliseconds), not the wait for that upload.
     * With ranks, one: the ranks' stop agreement counts on no rank running more than one save
     * ahead of the last commit (README, "Preemption").
     */
    private int maxInFlight() {
        return o.ranked() ? 1 : 2;
    }

    /**
     * The step could not be staged: the saves in flight, staged before it, are let finish first
     * (until the stop's deadline if a stop is under way), so that what they uploaded is committed
     * rather than abandoned at the exit (helper-103: a full staging disk lost the save of the step
     * before, which was uploading). A failed space check is then made again (their commits free
     * the staged copies before them); a failed write stops training. Returns the failure, saying
     * what is committed then.
     */
    private Staging.Failed afterSavesInFlight(Staging.Failed e, long step) throws InterruptedException {
        if (pending.isEmpty()) {
            return e;
        }
        // the first sentence whole: cut at its "; ", "has 27.2 MiB free" read as plenty, without what the step needs;
        // and "to end", not "to commit": during an outage it fails, which frees space too (helper-153)
        err.printf("ckpt-train: step %d cannot be staged (%s); waiting for the save of step %d%s, staged before it,"
                + " to end%n", step, e.what().replaceFirst("\\. .*", ""), pending.peekFirst().step(),
                pending.size() > 1 ? " and of step " + pending.peekLast().step() : "");
        finishPendingUnlessStopped();
        return e.now(lastCommitted);
    }

    private void saveAsync() throws IOException, InterruptedException {
        saveAsync(null);
    }

    /**
     * Stages the current state and hands upload and commit to the background thread. The
     * commit waits for nothing past {@code deadline} (null: none), e.g. a GC holding what it needs.
     */
    private void saveAsync(Instant deadline) throws IOException, InterruptedException {
        checkBackground(); // reports the saves that have ended: not part of this save's stall
        long t0 = System.nanoTime();
        long waitedFor = 0; // only the wait for a save in flight below: not the checks or the lines printed
        long behind = -1; // the step of the save uploading that this one is staged behind, without waiting for it
        if (!pending.isEmpty()) {
            Pending uploading = pending.peekFirst();
            if (o.skipIfBusy) {
                out.printf("save at step %d skipped: the save of step %d is still uploading (--skip-if-busy)%n",
                        state.step, uploading.step());
                return;
            }
            if (pending.size() >= maxInFlight()) {
                out.printf("save at step %d waits: the save of step %d is still uploading%s%n", state.step, uploading.step(),
                        pending.size() > 1 ? " and step " + pending.peekLast().step() + " is staged behind it" : "");
                boolean proposedHere = false;
                long w0 = System.nanoTime();
                while (pending.size() >= maxInFlight()) {
                    // In slices: a stop may be requested (a signal) or agreed (the poller) while this rank waits,
                    // e.g. for a rank that is gone; then the wait ends at the stop's deadline, not at the save's
                    // own --ranks-timeout, and a signalled rank proposes the stop now, so the others hear of it.
                    Instant by = deadline != null ? deadline : stopDeadline();
                    long left = by == null ? Long.MAX_VALUE
                            : Duration.between(store.config().clock().instant(), by).toNanos();
                    if (finishOldest(Math.min(left, WAIT_SLICE_NANOS))) {
                        continue;
                    }
                    if (!o.ranked() && deadline == null && preemption.requested()) {
                        // the loop's stop saves this step by --preempt-deadline: this wait would cost it (helper-76)
                        out.printf("save at step %d not staged: %s received; the stop saves step %d%n", state.step,
                                preemption.reason(), state.step);
                        return;
                    }
                    if (o.ranked() && preemption.requested() && agreedStop == null && !proposedHere) {
                        proposedHere = true; // once here; a failed proposal is tried again by the loop
                        proposeStop();
                    }
                    by = deadline != null ? deadline : stopDeadline();
                    if (by != null && !store.config().clock().instant().isBefore(by)) {
                        // the stop gives up on it (preempt, or the loop's check of the stop's deadline)
                        StopPoint stop = agreedStop;
                        if (stop != null) {
                            announceStop(stop); // what this rank heard comes before what it does about it
                        }
                        if (stop != null && stop.noCheckpointCanComplete()) {
                            out.printf("save at step %d skipped: no checkpoint of this job can be completed%n", state.step);
                        } else {
                            out.printf("save at step %d skipped: the save of step %d had not committed by the stop's "
                                    + "deadline%s%n", state.step, uploading.step(), pending.peekFirst().waitingFor());
                        }
                        return;
                    }
                }
                waitedFor = System.nanoTime() - w0;
            } else {
                behind = uploading.step();
            }
        }
        long waited = waitedFor;
        CompletableFuture<Void> stopRead = readStopWhileStaging();
        long step = state.step;
        try {
            staging.checkSpace(CheckpointFiles.bytesNeeded(model, part, frozenLinks()), step, lastCommitted);
        } catch (Staging.Failed e) {
            if (pending.isEmpty()) {
                throw e;
            }
            long before = pending.peekLast().step();
            afterSavesInFlight(e, step);
            // their commits removed the staged copies before them: the step may fit now (helper-104: a disk that
            // holds two checkpoints stopped every job whose uploads were slow, saying to free what was free)
            staging.checkSpace(CheckpointFiles.bytesNeeded(model, part, frozenLinks()), step, lastCommitted);
            // committed, or failed (said above) and their copies removed (helper-150: "committed" of a save that FAILED)
            out.printf("save at step %d: it fits now that the saves before it %s; staging it%n", step,
                    lastCommittedStep >= before ? "committed" : "ended");
            behind = -1; // the save it was to be staged behind has ended: no "staged behind" line
        }
        inFlightDirs.add(staging.pathOf(step));
        Map<String, Object> stats = trainingStats();
        boolean[] linked = {false};
        // Behind a save in flight, the frozen block is linked by the background thread just before
        // this save starts, not here: a new link moves the change time of the file that save is
        // reading, and the store would refuse it as "changed while it was being saved".
        Path linkFrom = !pending.isEmpty() && frozenSource != null && CheckpointFiles.holdsFrozen(model, part)
                ? frozenSource : null;
        Path dir;
        Path tmpDir = null;
        try {
            if (linkFrom == null) {
                Path from = frozenSource == null ? null : linkedFrom(frozenSource); // past copies never staged (helper-116)
                dir = staging.stage(step, d -> linked[0] = CheckpointFiles.write(d, model, state, stats, from, part),
                        lastCommitted);
            } else {
                tmpDir = staging.stageTmp(step, d -> CheckpointFiles.write(d, model, state, stats, null, part, true),
                        lastCommitted);
                dir = staging.pathOf(step);
                linked[0] = true;
            }
        } catch (Staging.Failed e) {
            inFlightDirs.remove(staging.pathOf(step));
            throw afterSavesInFlight(e, step);
        } catch (IOException | RuntimeException e) {
            inFlightDirs.remove(staging.pathOf(step));
            throw e;
        }
        if (behind >= 0) { // said once it is so (helper-103: said before a staging that failed)
            out.printf("save at step %d staged behind the save of step %d, which is still uploading%n", step, behind);
        }
        // where the next save links the frozen block from (for a deferred link: once this save's starts)
        frozenSource = linkFrom == null ? CheckpointFiles.frozenFileIn(dir)
                : part.dirIn(dir).resolve(Model.FROZEN + ".safetensors");
        Path written = tmpDir;
        long stall = System.nanoTime() - t0;
        Map<String, String> meta = new LinkedHashMap<>();
        if (state.lastLoss() != null) {
            meta.put("loss", Double.toString(state.lastLoss()));
        }
        meta.put("epoch", Long.toString(state.epoch));
        if (o.ranked()) {
            // rank 0 commits only parts that agree on it (helper-107: ranks given other seeds or learning rates committed
            // checkpoints of mixed training, and nothing noticed)
            // --steps and --save-every too: a rank with fewer steps ended, and rank 0 waited --ranks-timeout at its
            // every later save (helper-107)
            meta.put(dev.ckpt.store.error.RanksDisagreeException.SAME_ACROSS_RANKS + "options", o.modelConfig().options()
                    + " --steps " + o.steps + " --save-every " + o.saveEvery);
        }
        SaveRequest base = SaveRequest.of(dir, o.run, step).withEpoch(state.epoch).withMetadata(meta)
                .withRetention(Retention.keepLast(o.keepLast));
        boolean frozenLinked = linked[0];
        SaveRequest req = deadline == null ? base : base.withDeadline(deadline);
        if (o.ranked()) {
            Duration wait = o.ranksTimeout;
            if (deadline != null) {
                Duration left = Duration.between(store.config().clock().instant(), deadline);
                wait = left.isNegative() ? Duration.ZERO : left.compareTo(wait) < 0 ? left : wait;
            }
            req = req.withShard(new SaveRequest.Shard(o.rank, o.worldSize, wait));
        }
        SaveRequest request = req;
        AtomicReference<String> gcWait = new AtomicReference<>();
        AtomicBoolean started = new AtomicBoolean();
        AtomicBoolean committing = new AtomicBoolean();
        TransferListener listener = new TransferListener() {
            @Override
            public void progress(long done, long total) {
            }

            @Override
            public void notice(String message) {
                gcWait.set(message);
                err.println("ckpt-train: save of step " + step + ": " + message);
            }

            @Override
            public void committing(String checkpointId) {
                committing.set(true);
            }
        };
        lastSaveFailure = null;
        pending.addLast(new Pending(step, uploader.submit(() -> {
            if (!started.compareAndSet(false, true)) {
                return null; // dropped at a stop before it began (dropQueued): nothing of it is done
            }
            if (written != null) {
                // no save is reading the frozen block now: the ones before this have ended
                Path from = linkedFrom(linkFrom);
                CheckpointFiles.linkFrozen(from, written, part);
                try {
                    staging.complete(written, step, lastCommitted);
                } catch (IOException e) {
                    // its step-N never came to be: a save staged behind it links from where this one did (helper-115:
                    // it failed on the missing file, and would have taken a stale step-N's frozen block as this run's)
                    unstagedFrozen.put(part.dirIn(dir).resolve(Model.FROZEN + ".safetensors"), from);
                    throw e;
                }
            }
            SaveRequest toSave = request;
            if (frozenLinked && lastCommitted != null) {
                // the frozen block never changes and the link came from an earlier staged copy of this
                // run: the store need not read and hash it again. Decided here, when the saves before
                // this one have committed or failed (one staged behind an upload may not know yet).
                FileEntry frozen = committedFrozenEntry();
                if (frozen != null) {
                    toSave = toSave.withUnchanged(Map.of(frozen.path(), frozen));
                }
            }
            SaveResult r = store.save(writer, toSave, listener);
            lastCommitted = r.checkpointId();
            lastCommittedStep = step;
            report(r, waited, stall);
            inFlightDirs.remove(dir);
            // the save committed: a staged copy that cannot be removed is the staging directory's matter, not a failed
            // save (helper-115: reported as one, and its failure path deleted this save's staged copy). The saves in
            // flight are asked of as each copy is reached, not copied first: the training thread may stage the next
            // one meanwhile (a CI run: its copy, made after such a copy was taken, was removed and its save failed)
            keepOnlyStaged(p -> p.equals(dir) || inFlightDirs.contains(p), "the save of step " + step + " committed");
            return r;
        }), gcWait, started, linkFrom, committing));
        if (stopRead != null) {
            awaitStopRead(stopRead); // before training on: the loop checks the stop step next
        }
    }

    private FileEntry frozenEntry;

    /**
     * The frozen file's manifest entry, read once from the last committed checkpoint: the
     * frozen block never changes in a run, so neither does its entry.
     */
    private FileEntry committedFrozenEntry() {
        if (frozenEntry == null) {
            String path = (part.whole() ? "" : "rank-" + part.rank() + "/") + Model.FROZEN + ".safetensors";
            for (FileEntry f : store.manifest(store.resolve(lastCommitted)).files()) {
                if (f.path().equals(path)) {
                    frozenEntry = f;
                }
            }
        }
        return frozenEntry;
    }

    private void report(SaveResult r, long waitedNanos, long stallNanos) {
        saveTimes.record(SaveTimes.Sample.of(r, Duration.ofNanos(Math.max(0, stallNanos - waitedNanos))));
        long commitMs = r.manifestTime().plus(r.commitTime()).toMillis(); // manifest write + ROOT commit
        out.printf("saved step %d as %s: stall %d ms (waited %d ms for the previous save), new %s %s, "
                        + "deduplicated %s %s, upload %d ms, commit %d ms%n",
                r.step(), r.checkpointId(), stallNanos / 1_000_000, waitedNanos / 1_000_000,
                SaveResult.count(r.newChunks(), "chunk"), SaveResult.human(r.newBytes()),
                SaveResult.count(r.dedupChunks(), "chunk"), SaveResult.human(r.dedupBytes()),
                r.uploadTime().toMillis(), commitMs);
        if (!r.droppedByRetention().isEmpty()) {
            out.println("  retention (keep last " + o.keepLast + ") dropped " + String.join(", ", r.droppedByRetention()));
        }
        if (!r.repairedChunks().isEmpty()) {
            err.println("ckpt-train: save of step " + r.step() + ": " + Printable.message(r.repairNote(store.objectStore().describe())));
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("step", r.step());
        s.put("checkpoint", r.checkpointId());
        s.put("stall_ms", stallNanos / 1_000_000);
        s.put("waited_ms", waitedNanos / 1_000_000);
        s.put("new_bytes", r.newBytes());
        s.put("dedup_bytes", r.dedupBytes());
        s.put("upload_ms", r.uploadTime().toMillis());
        s.put("commit_ms", commitMs);
        synchronized (saveStats) {
            saveStats.add(s);
            if (saveStats.size() > 10) {
                saveStats.remove(0);
            }
        }
    }

    private Map<String, Object> trainingStats() {
        Map<String, Object> m = new LinkedHashMap<>();
        double secs = (System.nanoTime() - startNanos) / 1e9;
        m.put("step", state.step);
        m.put("steps_this_process", stepsThisProcess);
        m.put("wall_seconds_this_process", secs);
        m.put("steps_per_second", stepsThisProcess / Math.max(secs, 1e-9));
        m.put("best_loss", Double.isNaN(state.bestLoss) ? null : state.bestLoss);
        synchronized (saveStats) {
            m.put("recent_saves", new ArrayList<>(saveStats));
        }
        return m;
    }

    /**
     * The stop request at a step boundary (for several ranks: the agreed step): finish, save,
     * commit by {@code deadline} ({@link System#nanoTime()}), exit 75.
     */
    private int preempt(String why, long deadline) throws IOException, InterruptedException {
        // the seconds printed at the end run from the signal (or spot notice) to the commit; a rank
        // that learned of the stop from the store's stop point counts from here
        long t0 = preemption.requested() ? preemption.requestedAtNanos() : System.nanoTime();
        if (!o.ranked() && stepsThisProcess == 0) {
            // the stop came during the start-up, which ended in time: nothing trained, nothing to save (it said
            // "committed checkpoint X" of the one it resumed from, or saved an untrained step 0; helper-77)
            out.printf("preempted: %s before any step was trained; nothing to save: the latest checkpoint of run %s stays"
                    + " %s; exiting %d (requeue, then --auto-resume)%n", why, o.run,
                    lastCommitted == null ? "none (nothing committed yet)" : lastCommitted, EXIT_PREEMPTED);
            runPreemptHook();
            return EXIT_PREEMPTED;
        }
        // the store's clock, for the commit's deadline
        Instant deadlineAt = store.config().clock().instant().plusNanos(deadline - System.nanoTime());
        if (lastCommittedStep != state.step) {
            dropQueued();
        }
        Pending waitingForGc = pending.stream().filter(q -> !q.future().isDone() && q.gcWait().get() != null)
                .findFirst().orElse(null);
        if (waitingForGc != null) {
            // A save waiting for a GC must not eat the deadline: save the current step instead, which
            // may not need what that GC holds, and in any case never waits past the deadline.
            out.printf("ckpt-train: the save of step %d is waiting for a GC; abandoning it%s to save step %d by the deadline%n",
                    waitingForGc.step(), pending.size() > 1 ? " (and the saves in flight with it)" : "", state.step);
            cancelPending();
        }
        if (!finishPending(deadline - System.nanoTime())) {
            Pending p = pending.peekFirst();
            cancelPending();
            return abandoned(why, "the save of step " + p.step() + " had not committed" + p.waitingFor());
        }
        Pending last = null; // the stop's own save, once started: what it waited for goes in the line
        if (lastCommittedStep != state.step) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return abandoned(why, "no time was left to save step " + state.step);
            }
            Optional<SaveTimes.Estimate> estimate = saveTimes.estimate(expectedUploadBytes());
            if (estimate.isPresent() && !estimate.get().fitsIn(Duration.ofNanos(left))) {
                return skipped(why, estimate.get(), left);
            }
            out.println(estimate.map(e -> String.format(Locale.ROOT, "saving step %d: estimated %s, deadline in %s (%s)",
                            state.step, SaveTimes.seconds(e.total()), SaveTimes.seconds(Duration.ofNanos(left)), e.breakdown()))
                    .orElse(String.format(Locale.ROOT, "saving step %d: no estimate (no save of this process has committed "
                            + "yet), deadline in %s; if it has not committed by then it is abandoned", state.step,
                            SaveTimes.seconds(Duration.ofNanos(left)))));
            long s0 = System.nanoTime();
            try {
                saveAsync(deadlineAt);
            } catch (Staging.Failed e) {
                return cannotStageAtStop(e);
            }
            Pending p = pending.peekLast();
            last = p;
            if (!finishPending(deadline - System.nanoTime())) {
                cancelPending();
                return abandoned(why, "the save of step " + state.step + " had not committed" + p.waitingFor());
            }
            if (lastCommittedStep == state.step) {
                out.printf(Locale.ROOT, "saving step %d: committed in %s%s%n", state.step,
                        SaveTimes.seconds(Duration.ofNanos(System.nanoTime() - s0)),
                        estimate.map(e -> " (estimated " + SaveTimes.seconds(e.total()) + ")").orElse(""));
            }
        }
        if (lastCommittedStep != state.step) {
            String failure = lastSaveFailure;
            if (System.nanoTime() < deadline) { // it failed for a reason of its own, not for want of time
                out.printf("preempted: %s at step %d; the save of step %d failed%s; the latest checkpoint stays %s; "
                                + "exiting %d%n", why, state.step, state.step, failure == null ? "" : ": " + failure,
                        latest("none (nothing committed yet)"), EXIT_PREEMPTED);
                runPreemptHook();
                return EXIT_PREEMPTED;
            }
            // the GC it waited for, if any: a deadline that struck as the wait read ROOT said only "at read ROOT" (CI)
            return abandoned(why, "the save of step " + state.step + " failed" + (last == null ? "" : last.waitingFor())
                    + (failure == null ? "" : ": " + failure));
        }
        out.printf("preempted: %s at step %d; committed checkpoint %s in %.1f s%s; exiting %d (requeue, then --auto-resume)%n",
                why, state.step, lastCommitted, (System.nanoTime() - t0) / 1e9,
                preemption.requested() ? " from the signal" : "", EXIT_PREEMPTED);
        runPreemptHook();
        return EXIT_PREEMPTED;
    }

    /** $CKPT_ON_PREEMPT (e.g. {@code scontrol requeue $SLURM_JOB_ID}), after the save, before exit 75. */
    private void runPreemptHook() {
        if (o.onPreempt == null) {
            return;
        }
        try {
            Process p = new ProcessBuilder("/bin/sh", "-c", o.onPreempt).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                err.println("ckpt-train: CKPT_ON_PREEMPT did not finish in 30 s and was stopped: " + Printable.of(String.valueOf(o.onPreempt)));
            } else {
                out.println("ckpt-train: ran CKPT_ON_PREEMPT (" + Printable.of(String.valueOf(o.onPreempt)) + "): exit " + p.exitValue());
            }
        } catch (IOException e) {
            err.println("ckpt-train: could not run CKPT_ON_PREEMPT (" + Printable.of(String.valueOf(o.onPreempt)) + "): "
                    + Printable.message(e.getMessage()));
        } catch (OutOfMemoryError e) { // the checkpoint is committed: still exit 75, saying what the hook could not do
            err.println("ckpt-train: could not run CKPT_ON_PREEMPT (" + Printable.of(String.valueOf(o.onPreempt)) + "), or not wait for it: "
                    + dev.ckpt.store.error.OutOfMemory.explain(e, false));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * For a failed rank's stop point written before this process started: that it may be an earlier
     * job's with the same job id (helper-107: a second srun in one allocation, whose job id is the
     * same, stopped at the first one's failure, every time), else "".
     */
    private String earlierJob(StopPoint stop) {
        if (stop.deadline() == null || startedAt == null || !stop.deadline().isBefore(startedAt.minusSeconds(2))) {
            return "";
        }
        return " (rank " + stop.rank() + " failed at " + stop.deadline().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                + ", before this rank started: if that was an earlier job given the same --job-id " + o.jobId
                + ", this job stopped because of it, and needs a job id of its own)";
    }

    /** Whether the next save hard-links the frozen block from a staged copy (so it takes no new space). */
    private boolean frozenLinks() {
        if (frozenSource == null) {
            return false;
        }
        Path at = linkedFrom(frozenSource);
        if (Files.isRegularFile(at, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return true;
        }
        // a save staged behind an upload links its frozen block as it starts: until then, where it links from stands
        // for it (helper-149: a space check made as that save began counted the whole block, and waited for nothing)
        for (Pending p : pending) {
            if (p.frozenFrom() != null && at.equals(part.dirIn(staging.pathOf(p.step())).resolve(Model.FROZEN + ".safetensors"))) {
                return Files.isRegularFile(linkedFrom(p.frozenFrom()), java.nio.file.LinkOption.NOFOLLOW_LINKS);
            }
        }
        return false;
    }

    /** Whether this process is stopping: a signal (or spot notice) came, or, with ranks, a stop was agreed. */
    private boolean stopping() {
        return preemption.requested() || o.ranked() && agreedStop != null;
    }

    /**
     * The stop's save cannot be staged (the staging disk is full even after the saves before it
     * committed): the stop promised 75, and a requeue resumes from the latest checkpoint, which
     * this says (helper-104: it exited 1 after "exiting 75").
     */
    private int cannotStageAtStop(Staging.Failed e) {
        StopPoint stop = agreedStop;
        String why = preemption.requested() || stop == null ? preemption.reason() : stopReason(stop);
        out.printf("preempted: %s at step %d; step %d cannot be saved: %s; exiting %d (requeue, then --auto-resume)%n",
                why, state.step, state.step, e.now(lastCommitted).getMessage(), EXIT_PREEMPTED);
        runPreemptHook();
        return EXIT_PREEMPTED;
    }

    private int abandoned(String why, String what) {
        StopPoint stop = agreedStop;
        if (o.ranked() && stop != null && stop.proposerHasFailed() && !preemption.requested()) {
            // not 75: a requeue would meet the failure again; that rank exits 1 too, saying what failed
            out.printf("stopped: %s. No checkpoint of this job can be completed without that rank, so this rank stopped"
                            + " at step %d%s; the latest checkpoint stays %s. Once rank %d's problem is fixed, start the job"
                            + " again, every rank with --auto-resume and a new --job-id%s; exiting %d%n", stop.reason(),
                    state.step, what.startsWith("this rank trained towards") ? "" : ", where " + what,
                    latest("none (nothing committed yet)"), stop.rank(), earlierJob(stop), EXIT_ERROR);
            return EXIT_ERROR;
        }
        if (o.ranked() && stop != null && stop.noCheckpointCanComplete()) {
            out.printf("preempted: %s at step %d; rank %d saves no part (%s), so no"
                            + " checkpoint of this job can be completed: this rank stops now, where %s; the latest"
                            + " checkpoint stays %s; exiting %d%n", why, state.step, stop.rank(),
                    stop.proposerHasFailed() ? stop.reason() : "the stop came during its start-up", what,
                    latest("none (nothing committed yet)"), EXIT_PREEMPTED);
            runPreemptHook();
            return EXIT_PREEMPTED;
        }
        // a rank that only heard of the stop is held to the stop point's deadline, not its own --preempt-deadline
        String deadline = o.ranked() && stop != null && stop.rank() != o.rank && !preemption.requested()
                ? "the stop's deadline (set by rank " + stop.rank() + ")" : "--preempt-deadline " + human(o.preemptDeadline);
        out.printf("preempted: %s at step %d; %s passed while %s; it was abandoned and the latest "
                        + "checkpoint stays %s%s; exiting %d%n", why, state.step, deadline, what,
                latest("none (nothing committed yet)"),
                // this rank's part may be stored: rank 0, if it is only late, can still commit that step
                o.ranked() && o.rank != 0 ? " unless rank 0 still commits a step whose part this rank stored (ckpt-tool"
                        + " ls shows the latest)" : "", EXIT_PREEMPTED);
        runPreemptHook();
        return EXIT_PREEMPTED;
    }

    /** The estimate says the save of the current step cannot commit in time: none is started. */
    private int skipped(String why, SaveTimes.Estimate e, long leftNanos) {
        out.printf(Locale.ROOT, "preempted: %s at step %d; not saving step %d: it would take an estimated %s (%s), more "
                        + "than the %s left of --preempt-deadline %s; the latest checkpoint stays %s; exiting %d%n",
                why, state.step, state.step, SaveTimes.seconds(e.total()), e.breakdown(),
                SaveTimes.seconds(Duration.ofNanos(leftNanos)), human(o.preemptDeadline),
                lastCommitted == null ? "none (nothing committed yet)" : lastCommitted, EXIT_PREEMPTED);
        runPreemptHook();
        return EXIT_PREEMPTED;
    }

    /**
     * What the save of the current step uploads: every trained tensor and its optimizer
     * moments change each step; the frozen block is already in the store once a checkpoint of
     * the run is (written by this process or resumed from).
     */
    private long expectedUploadBytes() {
        return CheckpointFiles.changingBytes(model) + (lastCommitted == null ? frozenBytes() : 0);
    }

    /** A duration as the options take it ({@code 2m}, not "120s"). */
    private static String human(Duration d) {
        return dev.ckpt.store.util.Durations.format(d);
    }

    /**
     * On a staging disk too full for the resume's restore (a second copy of the newest
     * checkpoint beside its staged copy; a break test's case), the staged copy itself, when this
     * process (one, not a rank) staged it and it is still as committed ({@link StagedCopy}): it
     * is loaded from there, nothing is restored or downloaded. The store's chunks are not read,
     * so the checkpoint is not recorded as verified; with room, the resume restores and verifies
     * as before. Returns false when the restore fits, or the copy is absent or differs (said),
     * or the manifest cannot be read: then the resume restores.
     */
    private boolean resumeFromStagedCopy(CheckpointEntry newest, long t0) throws IOException {
        Path staged = staging.pathOf(newest.step());
        if (o.ranked() || !Files.isDirectory(staged, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        dev.ckpt.store.manifest.Manifest m;
        try {
            m = store.manifest(newest);
        } catch (CkptException e) {
            return false; // the restore reads it again, and falls back or says what is wrong
        }
        long free;
        try {
            free = staging.free();
        } catch (IOException e) {
            return false; // the restore, then the start-up's own check, say what is wrong there
        }
        if (staging.fits(m.logicalBytes(), free)) {
            return false;
        }
        // --min-free-mb named when it is what makes the room too little (helper-108: 73 GB free read "too little")
        String tooFull = String.format("the staging directory has %s free, too little for a second copy of checkpoint"
                + " %s (%s)%s", Staging.mib(free), newest.id(), Staging.mib(m.logicalBytes()), staging.keeping());
        Optional<String> differs = StagedCopy.mismatch(m, staged);
        if (differs.isPresent()) {
            out.printf("auto-resume: %s, and its staged copy %s is not the checkpoint as committed (%s); restoring it"
                    + " all the same%n", tooFull, Printable.of(String.valueOf(staged)), Printable.message(differs.get()));
            return false;
        }
        CheckpointFiles.LoadReport rep = CheckpointFiles.load(staged, newest.id(), model, state, o.lenientResume);
        for (String s : rep.skipped()) {
            out.println("lenient-resume: " + s);
        }
        order.seek(state.epoch, state.dataCursor);
        keepOnlyStaged(staged::equals, "auto-resume: resuming from " + staged);
        frozenSource = CheckpointFiles.frozenFileIn(staged); // every byte's SHA-256 matched the manifest's
        lastCommitted = newest.id();
        lastCommittedStep = state.step;
        out.printf("auto-resume: %s: resumed from its staged copy in %s (step %d, epoch %d) in %.1f s, every file's"
                        + " SHA-256 matching the checkpoint's; nothing downloaded, and the checkpoint is not recorded as"
                        + " verified (the store's chunks were not read)%n", tooFull, Printable.of(String.valueOf(staged)), state.step, state.epoch,
                (System.nanoTime() - t0) / 1e9);
        return true;
    }

    /** --auto-resume: restore the newest checkpoint that verifies (reusing staged chunks) and load it. */
    private void resume() throws IOException {
        List<CheckpointEntry> cps = store.list(o.run);
        resumeStep = cps.isEmpty() ? 0 : cps.get(cps.size() - 1).step();
        if (cps.isEmpty()) {
            // the runs that have some: a mistyped --run starts a new training from step 0 (helper-151: no word of it)
            List<String> others = newLocalStore ? List.of()
                    : store.list(null).stream().map(CheckpointEntry::run).distinct().toList();
            out.println("auto-resume: run " + o.run + " has no checkpoint yet; starting from step 0" + (newLocalStore
                    ? " (--store " + o.store + " did not exist: a new store was made there; if you meant to resume from"
                    + " another, check the path)" : others.isEmpty() ? "" : " (the runs with checkpoints in this store: "
                    + Printable.firstOf(others, 10) + "; if you meant one of them, stop and give its --run)"));
            return;
        }
        Path target = staging.dir().resolve("restore.tmp");
        LocalFiles.deleteTree(target);
        long t0 = System.nanoTime();
        if (resumeFromStagedCopy(cps.get(cps.size() - 1), t0)) {
            return;
        }
        RestoreResult r;
        try {
            r = store.restoreLatestGood(o.run, target, staging.complete());
        } catch (dev.ckpt.store.error.CorruptObjectException e) {
            if (!"".equals(e.key())) {
                throw e;
            }
            // every checkpoint of the run failed: not the restore's advice about its target, the resume's own temporary
            // (helper-114), but what the run can do
            dev.ckpt.store.error.CorruptObjectException none = new dev.ckpt.store.error.CorruptObjectException("",
                    e.reason(), e.getCause());
            none.addNote("; nothing was trained. ckpt-tool verify --read-data " + dev.ckpt.store.util.ShellWords.word(
                    store.objectStore().describe()) + " says what is wrong with each and what to do; or train run " + o.run
                    + " from step 0: run again without --auto-resume (its saves write again the chunks they hold)");
            throw none;
        }
        for (String f : r.fallbacks()) {
            err.println("auto-resume: WARNING " + Printable.message(f) + "; fell back to an older checkpoint");
        }
        if (!r.fallbacks().isEmpty()) {
            // helper-106: the fall-back gave no next step; the damaged checkpoints stay in ROOT and in retention's count
            String url = dev.ckpt.store.util.ShellWords.word(store.objectStore().describe());
            // what mends one depends on its damage (helper-112: a save mends no manifest), and verify says it per kind
            err.println("auto-resume: the checkpoints above stay in the store and count toward retention; after this run's"
                    + " first save (it writes again the chunks it holds), ckpt-tool verify --read-data " + url + " says"
                    + " which are still damaged and what to do about each");
        }
        CheckpointFiles.LoadReport rep;
        try {
            rep = CheckpointFiles.load(target, r.checkpointId(), model, state, o.lenientResume);
        } catch (IOException | RuntimeException e) {
            // the whole checkpoint restored for nothing: not left in the staging directory until the next start
            // (helper-151: 65 MB of restore.tmp after options that did not match the run's)
            try {
                LocalFiles.deleteTree(target);
            } catch (IOException ignored) {
                // the next start removes it, and says so
            }
            throw e;
        }
        for (String s : rep.skipped()) {
            out.println("lenient-resume: " + s);
        }
        // Only a restore that read every chunk from the store verified the store's copy; one that took chunks from the
        // staged copy did not (helper-106: a chunk corrupt in the store was marked verified, and retention protects
        // the newest verified checkpoint). One ROOT update per job, not one per rank.
        boolean verified = r.chunksReused() == 0;
        if (verified && (o.rank == null || o.rank == 0)) {
            store.recordVerified(List.of(r.checkpointId())); // every chunk and file hash matched
        }
        order.seek(state.epoch, state.dataCursor);
        Path dir = staging.adopt(target, state.step, r.checkpointId());
        keepOnlyStaged(dir::equals, "auto-resume: resuming from " + dir);
        frozenSource = CheckpointFiles.frozenFileIn(dir); // every byte was verified by the restore
        lastCommitted = r.checkpointId();
        lastCommittedStep = state.step;
        out.printf("auto-resume: restored checkpoint %s (step %d, epoch %d) in %.1f s: %s downloaded, %d reused from staging%s%n",
                r.checkpointId(), state.step, state.epoch, (System.nanoTime() - t0) / 1e9,
                SaveResult.count(r.chunksDownloaded(), "chunk"), r.chunksReused(), !verified
                        ? " (so the store's copy was not read whole, and the checkpoint is not recorded as verified)"
                        // said, as the other case is (helper-115: the line did not say what the resume recorded)
                        : o.rank == null || o.rank == 0 ? "; every chunk and file hash matched: recorded as verified"
                        : "; every chunk and file hash matched");
    }
}

package dev.ckpt.store;

import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.util.RetryPolicy;
import dev.ckpt.store.util.ThreadPools;
import dev.ckpt.store.util.TransferListener;
import dev.ckpt.store.commit.NewerThanRoot;
import dev.ckpt.store.commit.Outcome;
import dev.ckpt.store.commit.RecoveryReport;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RetentionResult;
import dev.ckpt.store.commit.RootRecovery;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.StopPoint;
import dev.ckpt.store.commit.Transitions;
import dev.ckpt.store.commit.Saver;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.gc.GarbageCollector;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Ids;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;
import dev.ckpt.store.objectstore.DeadlineObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.Restorer;
import dev.ckpt.store.restore.Verifier;
import dev.ckpt.store.restore.VerifyReport;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;

/**
 * A checkpoint store: the entry point of the library. Saves directories as checkpoints,
 * commits them atomically through ROOT, restores and verifies them, and collects garbage.
 * Thread-safe; one instance per process and store is enough.
 *
 * <p>Guarantees: a checkpoint is visible if and only if its ROOT update succeeded; a
 * fenced (superseded) writer can never commit; a committed checkpoint never loses a chunk
 * to GC, even with saves and GC running at once in different processes; every byte read
 * back is checked against its SHA-256.
 */
public final class CheckpointStore implements AutoCloseable {
    private final ObjectStore store;
    private final StoreConfig config;
    private final RootStore root;
    private final ManifestLoader manifests;
    private final ExecutorService cpu;
    private final ExecutorService io;
    private final Saver saver;
    private final Restorer restorer;
    private final Verifier verifier;

    private CheckpointStore(ObjectStore store, StoreConfig config, boolean existingOnly) {
        this.store = store;
        this.config = config;
        RootStore r = new RootStore(store, config.clock(), config.sleeper(), RetryPolicy.ROOT);
        this.root = existingOnly ? r.existingOnly() : r;
        this.manifests = new ManifestLoader(store);
        this.cpu = pool(config.parallelism(), "ckpt-cpu-");
        this.io = pool(config.ioConcurrency(), "ckpt-io-");
        // chunks a restore finds missing or corrupt are written again by the next save, not deduplicated against
        dev.ckpt.store.chunk.SuspectChunks suspects = new dev.ckpt.store.chunk.SuspectChunks();
        this.saver = new Saver(store, root, manifests, config, cpu, io).withSuspects(suspects);
        this.restorer = new Restorer(store, manifests, config, cpu, io).withSuspects(suspects);
        this.verifier = new Verifier(store, manifests, config, cpu, io);
    }

    /**
     * Daemon threads, started with the first task (a command that transfers no chunk starts
     * none), all at once: see {@link ThreadPools} for why a pool never queues a task while one
     * of its threads could not start.
     */
    private static ExecutorService pool(int threads, String prefix) {
        return ThreadPools.fixed(threads, prefix);
    }

    public static CheckpointStore open(ObjectStore store, StoreConfig config) {
        return new CheckpointStore(store, config, false);
    }

    /**
     * As {@link #open(ObjectStore, StoreConfig)}, for reading or changing a store that exists:
     * where {@code store} holds no ROOT, manifests/ or chunks/, the first read of ROOT throws
     * {@link dev.ckpt.store.error.BadConfigurationException} naming it, rather than reading an
     * empty store ({@link RootStore#existingOnly()}).
     */
    public static CheckpointStore openExisting(ObjectStore store, StoreConfig config) {
        return new CheckpointStore(store, config, true);
    }

    /** Opens a store URL ({@code file:///path}, a path, {@code s3://bucket/prefix}) with default settings. */
    public static CheckpointStore open(String url) {
        return open(ObjectStores.open(url), StoreConfig.defaults());
    }

    public ObjectStore objectStore() {
        return store;
    }

    public StoreConfig config() {
        return config;
    }

    /** Creates ROOT if the store has none. Idempotent. */
    public RootState init() {
        RootStore.Versioned v = root.read();
        if (v.etag() != null) {
            return v.state();
        }
        Outcome<RootState> o = root.update(Transitions::init);
        return o instanceof Outcome.Write<RootState> w ? w.next() : o.value();
    }

    /** The current ROOT (one GET). */
    public RootState root() {
        return root.read().state();
    }

    /** Committed checkpoints, optionally of one run, sorted by run then step. */
    public List<CheckpointEntry> list(String run) {
        return list(root(), run);
    }

    static List<CheckpointEntry> list(RootState s, String run) {
        List<CheckpointEntry> out = new ArrayList<>();
        for (CheckpointEntry e : s.checkpoints().values()) {
            if (run == null || e.run().equals(run)) {
                out.add(e);
            }
        }
        out.sort(Comparator.comparing(CheckpointEntry::run).thenComparing(RootState.ORDER));
        return out;
    }

    /**
     * Resolves a checkpoint selector against ROOT: an id, {@code latest} (newest of any
     * run), {@code RUN:latest} or {@code RUN@STEP}. One read of ROOT, no listing.
     *
     * @throws NotFoundException naming the selector when nothing matches
     */
    public CheckpointEntry resolve(String selector) {
        return Selectors.resolve(root(), selector, store.describe());
    }

    /**
     * What is wrong with the shape of a checkpoint selector, before any store is read (a
     * command line refuses it as a usage error); empty when {@link #resolve} can take it.
     * E.g. {@code RUN@x}: "the step after '@' must be a whole number, 0 or more".
     */
    public static java.util.Optional<String> selectorProblem(String selector) {
        if (selector == null || selector.isBlank()) {
            return java.util.Optional.of("no checkpoint given: use an id, latest, RUN:latest or RUN@STEP");
        }
        return Selectors.problem(selector);
    }

    /**
     * {@link #resolve(String)} by {@code deadline} (null = none): a read of ROOT still in flight
     * when it passes is abandoned, with {@link dev.ckpt.store.error.DeadlineExceededException}
     * naming ROOT and the time spent (a server that accepts connections and never answers held a
     * restore's {@code --deadline 3s} for 151 s, the S3 client's own retries, helper-79).
     */
    public CheckpointEntry resolve(String selector, java.time.Instant deadline) {
        if (deadline == null) {
            return resolve(selector);
        }
        DeadlineObjectStore d = DeadlineObjectStore.of(store, deadline, config.clock(),
                "the look-up of checkpoint '" + selector + "'", "nothing was changed; run it again, with more time if the"
                        + " store is slow");
        try {
            return Selectors.resolve(d.call(RootState.KEY, "read", this::root), selector, store.describe());
        } finally {
            d.close();
        }
    }

    /**
     * The ROOT transactions of a claim or join that must be over by {@code deadline}: every
     * request of theirs, the probe of conditional writes and ROOT's own conditional write
     * included, is abandoned when it passes. Unlike a commit's, a claim's write may be abandoned
     * in flight: it lands whole or not at all, and landing only fences the run's earlier writers,
     * which the claim was made to do; the message says it may still land.
     */
    private <T> T withRootBy(java.time.Instant deadline, String claim, java.util.function.Function<RootStore, T> f) {
        if (deadline == null) {
            return f.apply(root);
        }
        String again = "; save again, with more time if the store is slow";
        DeadlineObjectStore d = DeadlineObjectStore.of(store, deadline, config.clock(), claim,
                "nothing was committed" + again, "nothing was committed (the claim's write of ROOT may still land: it"
                        + " only fences the run's earlier writers, as the claim would have)" + again);
        try {
            if (store instanceof dev.ckpt.store.objectstore.ProbingObjectStore p) {
                // first, under its own name: inside the write of ROOT a stuck probe was reported as that write
                d.call(dev.ckpt.store.objectstore.ConditionalWriteProbe.PREFIX, "conditional-write probe", p::probe);
            }
            return f.apply(root.over(d));
        } catch (dev.ckpt.store.error.CommitStateUnknownException e) {
            if (e.getCause() instanceof dev.ckpt.store.error.DeadlineExceededException late) {
                throw late; // a claim in doubt is no commit in doubt: its message says the write may still land
            }
            throw e;
        } finally {
            d.close();
        }
    }

    /**
     * Claims the run for a new writer: increments the run's writer epoch, so that every
     * earlier writer of the run is fenced from now on.
     */
    public WriterToken claimWriter(String run, String writerId) {
        return claimWriter(run, writerId, null);
    }

    /**
     * {@link #claimWriter(String, String)} by {@code deadline} (null = none): no retry of the write
     * starts after it, and a wait for a local store's lock ends at it
     * ({@link dev.ckpt.store.error.DeadlineExceededException}).
     */
    public WriterToken claimWriter(String run, String writerId, java.time.Instant deadline) {
        Ids.checkRunName(run);
        long epoch = withRootBy(deadline, "the claim of run '" + run + "'", rs -> {
            refuseClaimOverOlderRoot(rs, run);
            return rs.update(r -> Transitions.claim(r, run, writerId, config.clock().instant()), deadline);
        }).value();
        return new WriterToken(run, epoch, writerId);
    }

    /**
     * Refuses a claim of {@code run} while the store holds a checkpoint of the run that an older
     * ROOT does not know ({@link NewerThanRoot#forClaim}): the claim would take that checkpoint's
     * writer epoch, and GC would then delete it without a word (helper-124).
     */
    private void refuseClaimOverOlderRoot(RootStore rs, String run) {
        // through the claim's own view of the store: its deadline bounds these reads too (a stalled server held a push
        // with --deadline past it here, in CI's DeadlineCliTest)
        java.util.Optional<NewerThanRoot> found = NewerThanRoot.forClaim(rs.objectStore(), () -> rs.read().state(), run);
        found.ifPresent(n -> {
            throw new dev.ckpt.store.error.CorruptObjectException(RootState.KEY, "cannot claim run '" + run + "': "
                    + n.describe() + "; a claim now would hide those checkpoints, and GC would delete them. "
                    + n.advice(dev.ckpt.store.util.ShellWords.word(store.describe())));
        });
    }

    public WriterToken claimWriter(String run) {
        return claimWriter(run, RandomIds.hex(6));
    }

    /**
     * A rank of job {@code jobId} joins the run: every rank of one job gets the same writer
     * epoch (the first to join claims the run, fencing the previous job and its zombies; the
     * others find the job already there). A rank of a job that has since been replaced is
     * refused. The job id must be unique per job incarnation — e.g. SLURM's job id with its
     * restart count — and the same on every rank.
     *
     * @throws dev.ckpt.store.error.FencedException when this job was replaced by a newer one
     */
    public WriterToken joinRun(String run, String jobId) {
        return joinRun(run, jobId, null);
    }

    /** {@link #joinRun(String, String)} by {@code deadline} (null = none), as {@link #claimWriter(String, String, java.time.Instant)}. */
    public WriterToken joinRun(String run, String jobId, java.time.Instant deadline) {
        Ids.checkRunName(run);
        String writerId = RunState.JOB_PREFIX + Ids.checkJobId(jobId);
        Outcome<Long> o = withRootBy(deadline, "the claim of run '" + run + "' by job " + jobId, rs -> {
            refuseClaimOverOlderRoot(rs, run);
            return rs.update(r -> Transitions.join(r, run, writerId, config.clock().instant()), deadline);
        });
        if (o instanceof Outcome.Refused<Long> refused) {
            throw refused.reason();
        }
        return new WriterToken(run, o.value(), writerId);
    }

    /**
     * Proposes where the ranks of {@code writer}'s job stop; returns the stop point they agree
     * on (this one if it was the first, else the first one written). See {@link StopPoint}.
     */
    public StopPoint proposeStop(WriterToken writer, StopPoint proposal) {
        return StopPoint.propose(store, writer, proposal);
    }

    /** The stop point of {@code writer}'s job, if a rank proposed one: one GET, no LIST. */
    public java.util.Optional<StopPoint> readStop(WriterToken writer) {
        return StopPoint.read(store, writer);
    }

    /**
     * Scans a directory as a save of it would, before a store is opened or a run claimed:
     * throws {@link dev.ckpt.store.error.InvalidInputException} naming every entry a save would
     * refuse (links, special files, unreadable files, names a checkpoint cannot hold), and
     * writes nothing. Pass the result to the save ({@link SaveRequest#withScan}) so that it does
     * not walk the directory again; a save of a request without one scans on its own.
     *
     * @return the scan; {@link dev.ckpt.store.commit.SourceDir#fileCount()} says how many files a
     *         save of it holds (0: only empty directories, or nothing)
     */
    public static dev.ckpt.store.commit.SourceDir scanSource(java.nio.file.Path dir) {
        return dev.ckpt.store.commit.SourceDir.scan(dir);
    }

    /**
     * {@link #scanSource}, keeping what an interrupted ckpt command leaves
     * ({@link dev.ckpt.store.commit.SourceDir#leftOut()}) as any other file: for a directory
     * every file of which belongs to the checkpoint (an import's unpacked archive).
     */
    public static dev.ckpt.store.commit.SourceDir scanEverything(java.nio.file.Path dir) {
        return dev.ckpt.store.commit.SourceDir.scan(dir, false);
    }

    /** Saves a directory and commits it; see {@link Saver}. */
    public SaveResult save(WriterToken writer, SaveRequest request) {
        return saver.save(writer, request);
    }

    /** Saves, reporting progress in bytes to {@code listener}. */
    public SaveResult save(WriterToken writer, SaveRequest request, TransferListener listener) {
        return saver.save(writer, request, listener);
    }

    public Manifest manifest(CheckpointEntry e) {
        return manifests.load(e);
    }

    /** The keys of {@code e}'s part manifests, from its top manifest (see {@link ManifestLoader#partKeys}). */
    public List<String> partKeys(CheckpointEntry e) {
        return manifests.partKeys(e);
    }

    /** Restores the checkpoint named by {@code selector} into {@code dir}. */
    public RestoreResult restore(String selector, Path dir) {
        return restorer.restore(resolve(selector), dir, List.of());
    }

    public RestoreResult restore(CheckpointEntry e, Path dir, List<Path> reuse) {
        return restorer.restore(e, dir, reuse);
    }

    /** Restores, reporting progress in bytes to {@code listener}. */
    public RestoreResult restore(CheckpointEntry e, Path dir, List<Path> reuse, TransferListener listener) {
        return restorer.restore(e, dir, reuse, listener);
    }

    /** Restores one rank's part of a checkpoint saved by several ranks; see {@link Restorer#restorePart}. */
    public RestoreResult restorePart(CheckpointEntry e, int rank, Path dir, List<Path> reuse, TransferListener listener) {
        return restorer.restorePart(e, rank, dir, reuse, listener);
    }

    /**
     * Restores only the tensors matching {@code patterns} (of rank {@code rank}'s part, or of the whole
     * checkpoint when null); see {@link Restorer#restoreTensors}.
     */
    public dev.ckpt.store.restore.TensorRestoreResult restoreTensors(CheckpointEntry e, Integer rank,
                                                                     List<String> patterns, Path dir) {
        return restorer.restoreTensors(e, rank, patterns, dir, null);
    }

    /** {@link #restoreTensors(CheckpointEntry, Integer, List, Path)} by {@code deadline} (null = none), as {@link #restore}. */
    public dev.ckpt.store.restore.TensorRestoreResult restoreTensors(CheckpointEntry e, Integer rank,
                                                                     List<String> patterns, Path dir,
                                                                     java.time.Instant deadline) {
        return restorer.restoreTensors(e, rank, patterns, dir, deadline);
    }

    /** The manifest of one rank's part (for a checkpoint of one writer, rank 0 is the whole manifest). */
    public Manifest manifestPart(CheckpointEntry e, int rank) {
        return manifests.loadPart(e, rank);
    }

    /** The checkpoint's manifest as stored: for a checkpoint of several ranks, the top manifest listing its parts. */
    public Manifest manifestTop(CheckpointEntry e) {
        return manifests.loadTop(e);
    }

    /**
     * Restores, abandoned when {@code deadline} passes first (null = none): then it fails with
     * {@link dev.ckpt.store.error.DeadlineExceededException} naming the stuck object, and {@code dir}
     * is as it was.
     */
    public RestoreResult restore(CheckpointEntry e, Path dir, List<Path> reuse, TransferListener listener,
                                 java.time.Instant deadline) {
        return restorer.restore(e, dir, reuse, listener, deadline);
    }

    /** As {@link #restore(CheckpointEntry, Path, List, TransferListener, java.time.Instant)}, of one rank's part when {@code rank} is not null. */
    public RestoreResult restore(CheckpointEntry e, Integer rank, Path dir, List<Path> reuse, TransferListener listener,
                                 java.time.Instant deadline) {
        return restorer.restore(e, rank, dir, reuse, listener, deadline);
    }

    /**
     * Auto-resume: restores the newest checkpoint of {@code run} that verifies, falling
     * back to older ones and saying so in {@link RestoreResult#fallbacks()}.
     *
     * @throws NotFoundException if the run has no checkpoint
     */
    public RestoreResult restoreLatestGood(String run, Path dir, List<Path> reuse) {
        List<CheckpointEntry> cps = new ArrayList<>(root().checkpointsOf(run));
        if (cps.isEmpty()) {
            throw new NotFoundException(run, "run '" + run + "' has no checkpoints in " + store.describe());
        }
        java.util.Collections.reverse(cps);
        return restorer.restoreFirstGood(cps, dir, reuse);
    }

    /** Runs a GC, or with {@link GcRequest#preview()} a dry run that changes nothing. */
    public GcResult gc(GcRequest request) {
        return new GarbageCollector(store, root, manifests, config, request.progress()).run(request.dryRun());
    }

    /**
     * Verifies the request's checkpoints (all when it names none): structural when its
     * {@link VerifyRequest#fraction() fraction} is 0, deep otherwise (1 = every chunk and whole file).
     */
    public VerifyReport verify(VerifyRequest request) {
        List<String> selectors = request.checkpoints();
        double fraction = request.fraction();
        RootState s;
        try {
            s = root();
        } catch (dev.ckpt.store.error.CorruptObjectException e) {
            // a damaged ROOT is damage found by verify, like a damaged manifest
            return new VerifyReport(fraction > 0, List.of(), 0, 0, List.of(new VerifyReport.Problem(RootState.KEY, RootState.KEY,
                    VerifyReport.Kind.ROOT_UNREADABLE, e.getMessage())));
        }
        List<CheckpointEntry> which = new ArrayList<>();
        if (selectors == null || selectors.isEmpty()) {
            which.addAll(list(s, null));
        } else {
            for (String sel : selectors) {
                CheckpointEntry e = Selectors.resolve(s, sel, store.describe());
                if (!which.contains(e)) { // r@1 and its id name one checkpoint: verified and counted once
                    which.add(e);
                }
            }
        }
        VerifyReport r = verifier.verify(which, fraction);
        if (selectors != null && !selectors.isEmpty()) {
            return r;
        }
        // the whole store: also whether ROOT is older than its checkpoints (helper-121: verify said all was well
        // where GC would delete the checkpoints an older ROOT put back lacks)
        return NewerThanRoot.find(store, s, this::root).map(n -> {
            List<VerifyReport.Problem> problems = new ArrayList<>(r.problems());
            problems.add(new VerifyReport.Problem(RootState.KEY, n.manifest(), VerifyReport.Kind.ROOT_OLDER, n.describe()
                    + ". " + n.advice(dev.ckpt.store.util.ShellWords.word(store.describe()))));
            return new VerifyReport(r.deep(), r.checkpointIds(), r.chunksChecked(), r.bytesChecked(), problems);
        }).orElse(r);
    }

    /**
     * A checkpoint in the store written after ROOT, by a writer ROOT does not know: ROOT is older
     * than the store's checkpoints, or missing ({@link NewerThanRoot#find}). Lists {@code manifests/}
     * and reads each manifest ROOT does not reference.
     */
    public java.util.Optional<NewerThanRoot> newerThanRoot() {
        return NewerThanRoot.find(store, this::root);
    }

    /**
     * Records in ROOT that these checkpoints were read back in full and every hash matched
     * (a deep verify of all data, or a restore). Retention never drops a run's newest
     * verified checkpoint. Checkpoints no longer in ROOT are skipped.
     */
    public void recordVerified(List<String> ids) {
        java.time.Instant now = config.clock().instant();
        root.update(r -> Transitions.recordVerified(r, ids, now)).value();
    }

    /**
     * Pins or unpins a checkpoint: retention never drops a pinned one. Returns the checkpoint
     * after the change and whether ROOT changed (false: it was already pinned, or not pinned).
     */
    public PinResult pin(String selector, boolean pinned) {
        String id = resolve(selector).id();
        dev.ckpt.store.commit.Outcome<CheckpointEntry> done = root.update(r -> Transitions.pin(r, id, pinned));
        return new PinResult(done.value(), done instanceof dev.ckpt.store.commit.Outcome.Write);
    }

    /** What {@link #pin} did: the checkpoint as ROOT now holds it, and whether its pin changed. */
    public record PinResult(CheckpointEntry checkpoint, boolean changed) {
    }

    /**
     * Removes checkpoints from ROOT; their objects become garbage that GC deletes after
     * the grace age. Pinned checkpoints are refused (unpin them first).
     *
     * @param request ids or other selectors (see {@link #resolve}), and whether it is a dry run
     * @return the ids removed (or that would be, with {@link ForgetRequest#dryRun()})
     */
    public List<String> forget(ForgetRequest request) {
        List<String> selectors = request.checkpoints();
        boolean dryRun = request.dryRun();
        RootState s = root();
        List<String> ids = new ArrayList<>();
        for (String sel : selectors) {
            CheckpointEntry e = Selectors.resolve(s, sel, store.describe());
            if (e.pinned()) {
                throw new InvalidInputException("checkpoint " + e.id() + " is pinned; unpin it first (ckpt-tool unpin "
                        + dev.ckpt.store.util.ShellWords.word(store.describe()) + " " + e.id() + ")");
            }
            if (!ids.contains(e.id())) { // named twice (by id and RUN@STEP): forgotten and counted once (helper-120)
                ids.add(e.id());
            }
        }
        if (!dryRun && !ids.isEmpty()) {
            root.update(r -> Transitions.forget(r, ids)).value();
        }
        return ids;
    }

    /**
     * Applies a retention policy to one run (or every run when the request names none): what
     * the policy does not keep is removed from ROOT. Pinned checkpoints and the newest
     * verified one of each run are always kept. A policy whose rules keep no checkpoint of
     * some run (a metric none of them carries, a step interval none matches) is refused for
     * the whole call: nothing changes and {@link RetentionResult#refusals()} says why.
     */
    public RetentionResult forget(RetentionRequest request) {
        String run = request.run();
        Retention policy = request.policy();
        boolean dryRun = request.dryRun();
        RootState snapshot = root();
        java.util.Map<String, String> unrestorable = unrestorableKept(snapshot, run, policy);
        if (dryRun) {
            return RetentionResult.plan(snapshot, run, policy, true, unrestorable);
        }
        return root.update(r -> Transitions.retention(r, run, policy, unrestorable)).value();
    }

    /**
     * The checkpoints {@code policy} would keep of {@code run} (every run when null) that cannot
     * be restored, with why: a manifest missing or damaged, a chunk missing or of the wrong size
     * (verify's structural check: one listing of the chunks, no chunk read). The rules then judge
     * the others ({@link Retention#plan}), so a damaged newest checkpoint does not take the place
     * of the last restorable one (helper-145: a lost manifest; helper-147: a lost chunk). Checks
     * each checkpoint a plan keeps, planning again while it finds one; those it drops are not
     * checked.
     */
    private java.util.Map<String, String> unrestorableKept(RootState snapshot, String run, Retention policy) {
        java.util.Map<String, String> unrestorable = new java.util.TreeMap<>();
        if (policy.keepsEverything()) {
            return unrestorable; // nothing dropped: nothing to check
        }
        java.util.Set<String> checked = new java.util.HashSet<>();
        while (true) {
            java.util.Set<String> dropped = new java.util.HashSet<>(RetentionResult.plan(snapshot, run, policy, true, unrestorable)
                    .forgotten());
            List<CheckpointEntry> kept = new ArrayList<>();
            for (CheckpointEntry e : list(snapshot, run)) {
                if (!dropped.contains(e.id()) && checked.add(e.id())) {
                    kept.add(e);
                }
            }
            if (kept.isEmpty()) {
                return unrestorable;
            }
            boolean found = false;
            for (VerifyReport.Problem p : verifier.verify(kept, 0).problems()) {
                if (p.checkpointId() != null && unrestorable.putIfAbsent(p.checkpointId(), p.message()) == null) {
                    found = true;
                }
            }
            if (!found) {
                return unrestorable;
            }
        }
    }

    /**
     * Rebuilds a damaged or missing ROOT from the manifests in the store; see
     * {@link RootRecovery}. A dry run unless {@code apply}; a healthy ROOT is never replaced.
     *
     * @param quietPeriod refuse when any object was written more recently (a save or GC may be running)
     * @param force       rebuild despite recent writes
     */
    public RecoveryReport recover(boolean apply, java.time.Duration quietPeriod, boolean force) {
        return new RootRecovery(store, config).run(apply, quietPeriod, force);
    }

    @Override
    public void close() {
        cpu.shutdownNow();
        io.shutdownNow();
        store.close();
    }
}

package dev.ckpt.tools.torture;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.GcRequest;
import dev.ckpt.store.RetentionRequest;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RetentionResult;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.CommitStateUnknownException;
import dev.ckpt.store.error.ConditionalWritesUnsupportedException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.VerifyReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * S3 faults at scale (docs/reliability.md): saves, restores, GCs and retention through the
 * store API, one after another, against a real S3 server behind a {@link FaultProxy} that
 * throttles (503 SlowDown storms), resets connections in the middle of requests and answers,
 * stores writes and drops their answers, delays answers and plays dead. The store under test
 * talks to the server through the proxy, with its request timeout shorter than the longest
 * delay, so delayed and dead answers become the S3 client's retries or the store's errors.
 * A second store, straight to the server, checks after every operation:
 *
 * <ul>
 * <li>a restore that succeeded holds exactly the bytes saved (regenerated from run and step);
 *     one that failed left no file in its target;</li>
 * <li>every committed checkpoint (its save returned) is in ROOT, unless retention dropped it
 *     as its policy says; a save that failed with {@link CommitStateUnknownException} may or may
 *     not be in ROOT (when it is, it is committed from then on); one that failed otherwise is
 *     not in ROOT;</li>
 * <li>every failure is one of the store's errors ({@link CkptException}) with a message that
 *     names the object or the store, not another exception, and never a misleading one: a
 *     chunk reported missing or corrupt, or conditional writes reported unsupported, while the
 *     server holds the chunk and honours them, is a violation;</li>
 * <li>no operation hangs (each has a time bound);</li>
 * </ul>
 * and at the end, without the proxy: a GC, a deep verify of the whole store (clean), and every
 * checkpoint in ROOT restored and compared. Prints the figures; exits 1 on any violation.
 *
 * <p>Run it with {@code bin/ckpt-s3-faults} (see docs/reliability.md).
 */
@Command(name = "ckpt-s3-faults", mixinStandardHelpOptions = true,
        description = "Saves and restores through a fault-injecting proxy in front of a real S3 server and checks that no"
                + " byte is wrong, no committed checkpoint lost and every failure a clear error.")
public final class S3Faults implements Callable<Integer> {
    @Option(names = "--target", defaultValue = "s3proxy", description = "s3proxy or rgw (default: ${DEFAULT-VALUE})")
    String target;

    @Option(names = "--saves", defaultValue = "300", description = "saves in all (default: ${DEFAULT-VALUE})")
    int saves;

    @Option(names = "--restores", defaultValue = "220", description = "restores in all (default: ${DEFAULT-VALUE})")
    int restores;

    @Option(names = "--gc-every", defaultValue = "25", description = "a GC after every N saves and restores (default: ${DEFAULT-VALUE})")
    int gcEvery;

    @Option(names = "--retention-every", defaultValue = "15",
            description = "a retention (keep-last 2-5 of a run) after every N saves and restores (default: ${DEFAULT-VALUE})")
    int retentionEvery;

    @Option(names = "--reopen-every", defaultValue = "20",
            description = "open the store anew after every N operations, as each ckpt-tool command does (default: ${DEFAULT-VALUE})")
    int reopenEvery;

    @Option(names = "--kib", defaultValue = "3072", description = "size of each checkpoint in KiB (default: ${DEFAULT-VALUE})")
    int kib;

    @Option(names = "--chunk-kib", defaultValue = "256", description = "chunk size in KiB (default: ${DEFAULT-VALUE})")
    int chunkKib;

    @Option(names = "--seed", description = "seed of the data, the operations and the faults (default: random, printed)")
    Long seed;

    @Option(names = "--slow-down", defaultValue = "0.004", description = "rate of 503 SlowDown storms per request (default: ${DEFAULT-VALUE})")
    double slowDown;

    @Option(names = "--storm-max", defaultValue = "12", description = "503 answers in a storm at most (default: ${DEFAULT-VALUE})")
    int stormMax;

    @Option(names = "--reset-request", defaultValue = "0.004", description = "rate of resets in the middle of a request (default: ${DEFAULT-VALUE})")
    double resetRequest;

    @Option(names = "--reset-response", defaultValue = "0.004", description = "rate of resets in the middle of an answer (default: ${DEFAULT-VALUE})")
    double resetResponse;

    @Option(names = "--lost-response", defaultValue = "0.004",
            description = "rate of requests processed by the server whose answer is dropped (default: ${DEFAULT-VALUE})")
    double lostResponse;

    @Option(names = "--delay", defaultValue = "0.001", description = "rate of delayed answers (default: ${DEFAULT-VALUE})")
    double delay;

    @Option(names = "--delay-ms", defaultValue = "30000", description = "longest delay of an answer; each is delayed between half"
            + " of it and all of it (default: ${DEFAULT-VALUE})")
    long delayMs;

    @Option(names = "--dead", defaultValue = "0.0005", description = "rate of periods when the server stops answering (default: ${DEFAULT-VALUE})")
    double dead;

    @Option(names = "--dead-ms", defaultValue = "60000", description = "longest period without answers; each lasts between half of it"
            + " and all of it (default: ${DEFAULT-VALUE})")
    long deadMs;

    @Option(names = "--request-timeout-ms", defaultValue = "20000",
            description = "the S3 client's timeout per request attempt (default: ${DEFAULT-VALUE}, below --delay-ms: some delayed answers"
                    + " are waited for, others time out)")
    long requestTimeoutMs;

    @Option(names = "--connect-timeout-ms", defaultValue = "2000", description = "the S3 client's connect timeout (default: ${DEFAULT-VALUE})")
    long connectTimeoutMs;

    @Option(names = "--max-attempts", defaultValue = "5", description = "attempts of the S3 client per request (default: ${DEFAULT-VALUE})")
    int maxAttempts;

    @Option(names = "--client", defaultValue = "aws", description = "S3 client of the store under test: aws or minio (default: ${DEFAULT-VALUE})")
    String client = "aws";

    @Option(names = "--http", defaultValue = "apache",
            description = "HTTP client under the AWS SDK: apache or url-connection (default: ${DEFAULT-VALUE})")
    String http = "apache";

    @Option(names = "--op-timeout-s", defaultValue = "900", description = "an operation that takes longer hangs: a violation (default: ${DEFAULT-VALUE})")
    long opTimeoutS;

    @Option(names = "--work", description = "working directory (default: a new directory under target/); removed at the"
            + " end of a run without violations only if the run made it")
    Path work;

    /** Whether the run made {@link #work} (and so may remove it). */
    private boolean madeWork;

    @Option(names = "--keep", description = "keep the working directory even when no violation was found")
    boolean keep;

    @Option(names = "--classpath", description = "class path of the S3 server's JVM (default: this JVM's)")
    String classpath;

    @Option(names = "--every-fault-by", defaultValue = "3000",
            description = "inject each kind of fault at least once by this request, whatever the rates (default: ${DEFAULT-VALUE}; 0: leave it to the rates)")
    long everyFaultBy;

    @Option(names = "--unknown-commit-at", defaultValue = "0",
            description = "lose the answer of this ROOT write (counting from 1) and play dead for --unknown-dead-ms after it,"
                    + " so that the commit's fate stays unknown to the writer (default: ${DEFAULT-VALUE}, off)")
    int unknownCommitAt;

    @Option(names = "--unknown-dead-ms", defaultValue = "90000", description = "see --unknown-commit-at (default: ${DEFAULT-VALUE})")
    long unknownDeadMs;

    @Option(names = "--sabotage", hidden = true,
            description = "self-test: now and then delete a chunk of a committed checkpoint behind the store's back; the run must"
                    + " report violations")
    boolean sabotage;

    @Option(names = "--verbose", description = "print every operation")
    boolean verbose;

    PrintStream out = System.out;

    private static final List<String> RUNS = List.of("a", "b");

    /** The figures of a run. */
    public record Report(String target, long seed, int ops, int saves, int savesCommitted, int savesFailed, int savesUnknown,
                         int unknownInRoot, int restores, int restoresOk, int restoresFailed, int fallbacks, int gcs,
                         int gcsFailed, int retentions, int retentionsFailed, int droppedByRetention, int reopens,
                         long requests, Map<FaultProxy.Fault, Long> faults, Map<FaultProxy.Fault, Long> onConditionalWrites,
                         long storms, long heldByDeadServer,
                         Map<String, Integer> failuresByKind, Map<String, String> sampleMessages,
                         int finalCheckpoints, int finalChunksChecked, long maxOpMillis, List<String> violations,
                         long seconds) {
        public int savesAndRestores() {
            return saves + restores;
        }

        public String summary() {
            StringBuilder f = new StringBuilder();
            faults.forEach((k, v) -> f.append(f.length() == 0 ? "" : " ").append(k.name().toLowerCase().replace('_', '-'))
                    .append('=').append(v));
            return String.format("s3-faults target=%s seed=%d ops=%d saves=%d (committed %d, failed %d, of which commit-unknown %d,"
                            + " %d of those in ROOT) restores=%d (ok %d, failed %d, fallbacks %d) gc=%d (failed %d)"
                            + " retention=%d (failed %d, dropped %d) reopens=%d requests=%d faults: %s (storms %d, requests held by"
                            + " the dead server %d; on conditional writes %s) failures-by-kind=%s final: %d checkpoints restored, deep verify %d chunks;"
                            + " longest operation %d ms; violations=%d time=%ds",
                    target, seed, ops, saves, savesCommitted, savesFailed, savesUnknown, unknownInRoot, restores, restoresOk,
                    restoresFailed, fallbacks, gcs, gcsFailed, retentions, retentionsFailed, droppedByRetention, reopens,
                    requests, f, storms, heldByDeadServer, onConditionalWrites, failuresByKind, finalCheckpoints, finalChunksChecked, maxOpMillis,
                    violations.size(), seconds);
        }
    }

    /** A checkpoint the store said it committed (or that a save of unknown fate turned out to have). */
    private record Committed(String id, String run, long step) {
    }

    // the run's state, filled by run()
    private Random rnd;
    private Path dir;
    private CheckpointStore viaProxy;
    private CheckpointStore direct;
    private final Map<String, WriterToken> writers = new HashMap<>();
    private final Map<String, Long> nextStep = new HashMap<>();
    private final Map<String, Committed> committed = new LinkedHashMap<>();
    private final Set<String> dropped = new LinkedHashSet<>();
    private final Set<String> reportedLost = new LinkedHashSet<>();
    private final Set<String> unknown = new LinkedHashSet<>();     // "run/step" of saves of unknown fate not seen in ROOT
    private final Set<String> failedSaves = new LinkedHashSet<>();     // "run/step" of saves that failed otherwise
    private final List<String> violations = new ArrayList<>();
    private final Map<String, Integer> failuresByKind = new TreeMap<>();
    private final Map<String, String> sampleMessages = new TreeMap<>();
    private int ops, savesDone, savesCommitted, savesFailed, savesUnknown, unknownInRoot, restoresDone, restoresOk,
            restoresFailed, fallbacks, gcs, gcsFailed, retentions, retentionsFailed, reopens;
    private long maxOpMillis;

    public static void main(String[] args) {
        System.exit(new CommandLine(new S3Faults()).execute(args));
    }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        // bad options are usage errors before anything starts (helper-144: a stack trace after the banner, a work
        // directory left behind, and --kib under 8 a false violation)
        java.util.List<String> bad = new java.util.ArrayList<>();
        if (!List.of("s3proxy", "rgw").contains(target)) {
            bad.add("--target must be s3proxy or rgw, got '" + target + "'");
        }
        if (!List.of("aws", "minio").contains(client)) {
            bad.add("--client must be aws or minio, got '" + client + "'");
        }
        if (!List.of("apache", "url-connection").contains(http)) {
            bad.add("--http must be apache or url-connection, got '" + http + "'");
        }
        if (kib < 8 || saves < 0 || restores < 0) {
            bad.add("--kib must be at least 8 and --saves, --restores at least 0");
        }
        double sum = slowDown + resetRequest + resetResponse + lostResponse + delay + dead;
        if (Math.min(Math.min(Math.min(slowDown, resetRequest), Math.min(resetResponse, lostResponse)), Math.min(delay, dead)) < 0
                || sum > 1) {
            bad.add("the fault rates must be at least 0 and add up to at most 1, got " + sum);
        }
        if (!bad.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), String.join("; ", bad));
        }
        Report r = run();
        return r.violations().isEmpty() ? 0 : 1;
    }

    Report run() throws Exception {
        long t0 = System.nanoTime();
        if (seed == null) {
            seed = new Random().nextLong();
        }
        rnd = new Random(seed);
        if (work == null) {
            work = Path.of("target", "s3-faults-" + System.currentTimeMillis()).toAbsolutePath();
        }
        // only a directory the run made is removed at its end: --work ~/x lost what x held (helper-144), as
        // ckpt-torture never did
        madeWork = !Files.exists(work, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.createDirectories(work);
        dir = work;
        String cp = classpath != null ? classpath : System.getProperty("java.class.path");
        FaultProxy.Rates rates = new FaultProxy.Rates(slowDown, stormMax, resetRequest, resetResponse, lostResponse, delay,
                Duration.ofMillis(delayMs), dead, Duration.ofMillis(deadMs));
        out.printf("s3-faults: target %s (client %s over %s), seed %d, %d saves and %d restores of %d KiB checkpoints, work %s%n", target, client, http, seed, saves,
                restores, kib, work);
        out.printf("s3-faults: per request: slow-down storms %.4f (up to %d answers), reset request %.4f, reset answer %.4f,"
                        + " lost answer %.4f, delay %.4f (up to %d ms), dead server %.4f (up to %d ms); client: request timeout %d ms,"
                        + " connect timeout %d ms, %d attempts%n", slowDown, stormMax, resetRequest, resetResponse, lostResponse,
                delay, delayMs, dead, deadMs, requestTimeoutMs, connectTimeoutMs, maxAttempts);
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "s3-faults-op");
            t.setDaemon(true);
            return t;
        });
        FaultProxy proxy = null;
        int finalCheckpoints = 0;
        int finalChunks = 0;
        try (Target server = Target.open(target, work, cp)) {
            URI endpoint = URI.create(server.env.get("AWS_ENDPOINT_URL"));
            proxy = new FaultProxy(new InetSocketAddress(endpoint.getHost(), endpoint.getPort()), rates, seed);
            if (unknownCommitAt > 0) {
                proxy.loseRootWriteThenDie(unknownCommitAt, Duration.ofMillis(unknownDeadMs));
            }
            FaultProxy.Fault[] kinds = FaultProxy.Fault.values();
            for (int i = 0; everyFaultBy > 0 && i < kinds.length; i++) {
                proxy.force(everyFaultBy * (i + 1) / (kinds.length + 1), kinds[i]);
            }
            Map<String, String> env = new HashMap<>(server.env);
            env.put("AWS_ENDPOINT_URL", proxy.endpoint().toString());
            env.put("CKPT_S3_CLIENT", client);
            env.put("CKPT_S3_HTTP_CLIENT", http);
            S3Config faulty = S3Config.fromUrl(server.store, env).withTimeouts(Duration.ofMillis(connectTimeoutMs),
                    Duration.ofMillis(requestTimeoutMs), maxAttempts);
            direct = CheckpointStore.open(S3ObjectStores.open(S3Config.fromUrl(server.store, server.env)), config());
            direct.init();
            viaProxy = CheckpointStore.open(S3ObjectStores.open(faulty), config());
            for (String run : RUNS) {
                nextStep.put(run, 1L);
            }
            int done = 0;
            boolean hung = false;
            while (!hung && (savesDone < saves || restoresDone < restores)) {
                if (ops > 0 && ops % reopenEvery == 0) {
                    viaProxy.close();
                    viaProxy = CheckpointStore.open(S3ObjectStores.open(faulty), config());
                    reopens++;
                }
                String kind = next(done);
                hung = !timed(worker, kind);
                if (kind.equals("save") || kind.equals("restore")) {
                    done++;
                }
                if (!hung) {
                    check("after " + kind + " (operation " + ops + ")");
                }
                if (done > 0 && done % 50 == 0 && (kind.equals("save") || kind.equals("restore"))) {
                    out.printf("s3-faults: %d saves and restores, %d requests, faults %s, failures %s, violations %d%n", done,
                            proxy.requests.sum(), proxy.injected(), failuresByKind, violations.size());
                }
            }
            proxy.rates(FaultProxy.Rates.none());
            if (!hung) {
                int[] fin = finalCheck();
                finalCheckpoints = fin[0];
                finalChunks = fin[1];
            }
            viaProxy.close();
            direct.close();
        } finally {
            if (proxy != null) {
                proxy.close();
            }
            worker.shutdownNow();
        }
        Report r = new Report(target + " (" + client + "/" + http + ")", seed, ops, savesDone, savesCommitted, savesFailed, savesUnknown, unknownInRoot,
                restoresDone, restoresOk, restoresFailed, fallbacks, gcs, gcsFailed, retentions, retentionsFailed,
                dropped.size(), reopens, proxy.requests.sum(), proxy.injected(), proxy.onConditionalWrites(), proxy.storms.sum(),
                proxy.heldByDeadServer.sum(), Map.copyOf(failuresByKind), Map.copyOf(sampleMessages), finalCheckpoints,
                finalChunks, maxOpMillis, List.copyOf(violations), (System.nanoTime() - t0) / 1_000_000_000);
        sampleMessages.forEach((k, v) -> out.println("s3-faults: failure " + k + ", e.g.: " + v));
        for (String v : violations) {
            out.println("s3-faults: VIOLATION " + v);
        }
        out.println(r.summary());
        if (violations.isEmpty() && !keep && madeWork) {
            TortureChild.deleteTree(work);
        } else {
            out.println("s3-faults: working directory kept: " + work);
        }
        return r;
    }

    /** Small chunks (many requests per checkpoint), GC grace 0 (operations run one at a time), a short GC lease. */
    StoreConfig config() {
        return StoreConfig.builder().chunkSize(chunkKib * 1024).gcGrace(Duration.ZERO).gcLease(Duration.ofSeconds(20))
                .commitWait(Duration.ofSeconds(30)).gcDeleteBatch(50).build();
    }

    /** The next operation: saves and restores in proportion to what is left, a GC or a retention now and then. */
    private String next(int done) {
        if (done > 0 && gcEvery > 0 && done % gcEvery == 0 && !"gc".equals(lastKind)) {
            return lastKind = "gc";
        }
        if (done > 0 && retentionEvery > 0 && done % retentionEvery == 0 && !"retention".equals(lastKind)
                && !"gc".equals(lastKind)) {
            return lastKind = "retention";
        }
        int savesLeft = saves - savesDone;
        int restoresLeft = restores - restoresDone;
        boolean restorable = committed.keySet().stream().anyMatch(id -> !dropped.contains(id) && !reportedLost.contains(id));
        if (restoresLeft > 0 && restorable && (savesLeft == 0 || rnd.nextInt(savesLeft + restoresLeft) < restoresLeft)) {
            return lastKind = "restore";
        }
        if (savesLeft > 0) {
            return lastKind = "save";
        }
        return lastKind = "save"; // restores left but nothing to restore: one more save makes something
    }

    private String lastKind = "";

    /** Runs one operation with its time bound; false when it hung. */
    private boolean timed(ExecutorService worker, String kind) throws InterruptedException {
        ops++;
        long t0 = System.nanoTime();
        Future<?> f = worker.submit(() -> {
            switch (kind) {
                case "save" -> save(RUNS.get(rnd.nextInt(RUNS.size())));
                case "restore" -> restore();
                case "gc" -> gc();
                case "retention" -> retention();
                default -> throw new IllegalStateException(kind);
            }
            return null;
        });
        try {
            f.get(opTimeoutS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            violations.add(kind + " (operation " + ops + ") did not finish within " + opTimeoutS + " s: a hang");
            f.cancel(true);
            return false;
        } catch (ExecutionException e) {
            violations.add(kind + " (operation " + ops + ") failed in the harness: " + e.getCause());
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        maxOpMillis = Math.max(maxOpMillis, ms);
        return true;
    }

    private WriterToken writer(String run) {
        WriterToken w = writers.get(run);
        for (int i = 0; w == null && i < 20; i++) {
            try {
                w = viaProxy.claimWriter(run, "s3-faults");
                writers.put(run, w);
            } catch (CkptException e) {
                failure("claim", e, "run '" + run + "'");
            }
        }
        if (w == null) {
            throw new IllegalStateException("could not claim run " + run + " in 20 attempts");
        }
        return w;
    }

    private void save(String run) {
        WriterToken w = writer(run);
        long step = nextStep.merge(run, 1L, Long::sum) - 1;
        savesDone++;
        Path staging = dir.resolve("staging");
        TortureChild.deleteTree(staging);
        write(staging, content(seed, run, step, kib * 1024));
        String what = "save of run " + run + " step " + step;
        try {
            SaveResult r = viaProxy.save(w, SaveRequest.of(staging, run, step));
            savesCommitted++;
            committed.put(r.checkpointId(), new Committed(r.checkpointId(), run, step));
            log(what + ": committed " + r.checkpointId());
            if (sabotage && rnd.nextInt(3) == 0) {
                sabotage();
            }
        } catch (CommitStateUnknownException e) {
            savesFailed++;
            savesUnknown++;
            failure("save", e, null);
            unknown.add(run + "/" + step);
            log(what + ": fate unknown: " + e.getMessage());
        } catch (CkptException e) {
            savesFailed++;
            failure("save", e, null);
            if (e instanceof FencedException) {
                violations.add(what + " was refused as fenced, but no other writer claimed the run: " + e.getMessage());
            }
            failedSaves.add(run + "/" + step);
            log(what + ": failed: " + e.getMessage());
        } catch (RuntimeException e) {
            savesFailed++;
            unexpected(what, e);
            failedSaves.add(run + "/" + step);
        } finally {
            TortureChild.deleteTree(staging);
        }
    }

    /** Not a fault the store can survive but a bug: deletes a chunk of a committed checkpoint (the self-test). */
    private void sabotage() {
        List<Committed> live = committed.values().stream().filter(c -> !dropped.contains(c.id())).toList();
        Committed c = live.get(rnd.nextInt(live.size()));
        List<String> chunks = new ArrayList<>(direct.manifest(direct.resolve(c.id())).chunks());
        String key = dev.ckpt.store.chunk.ChunkRef.keyOf(chunks.get(rnd.nextInt(chunks.size())));
        direct.objectStore().delete(key);
        log("sabotage: deleted " + key + " of " + c.id());
    }

    private void restore() {
        restoresDone++;
        List<Committed> live = committed.values().stream()
                .filter(c -> !dropped.contains(c.id()) && !reportedLost.contains(c.id())).toList();
        Committed c = live.get(rnd.nextInt(live.size()));
        boolean latest = rnd.nextInt(3) == 0; // auto-resume: the run's newest checkpoint that verifies
        Path target = dir.resolve("restore");
        TortureChild.deleteTree(target);
        String what = latest ? "restore of the latest good checkpoint of run " + c.run() : "restore of " + c.id();
        try {
            RestoreResult r = latest ? viaProxy.restoreLatestGood(c.run(), target, List.of()) : viaProxy.restore(c.id(), target);
            String diff = Content.difference(content(seed, r.run(), r.step(), kib * 1024), Content.read(target));
            if (diff != null) {
                violations.add(what + " (" + r.checkpointId() + ", step " + r.step() + ") restored wrong bytes: " + diff);
            } else {
                restoresOk++;
            }
            if (!r.fallbacks().isEmpty()) {
                fallbacks++;
                violations.add(what + " fell back past checkpoints that restore without the proxy: " + r.fallbacks());
            } else if (latest) {
                Committed newest = committed.values().stream().filter(x -> x.run().equals(c.run()) && !dropped.contains(x.id())
                        && !reportedLost.contains(x.id())).max(java.util.Comparator.comparingLong(Committed::step)).orElseThrow();
                if (!newest.id().equals(r.checkpointId())) {
                    violations.add(what + " restored " + r.checkpointId() + " (step " + r.step() + "), not the newest committed "
                            + newest.id() + " (step " + newest.step() + ")");
                }
            }
            log(what + ": ok, " + r.checkpointId());
        } catch (CkptException e) {
            restoresFailed++;
            failure("restore", e, null);
            List<String> left = files(target);
            if (!left.isEmpty()) {
                violations.add(what + " failed (" + e.getMessage() + ") and left files in its target: " + left);
            }
            if (e instanceof NotFoundException || e instanceof CorruptObjectException) {
                misleadingUnlessBroken(what, c, e);
            }
            log(what + ": failed: " + e.getMessage());
        } catch (RuntimeException e) {
            restoresFailed++;
            unexpected(what, e);
        } finally {
            TortureChild.deleteTree(target);
        }
    }

    /**
     * A restore through the proxy said an object is missing or damaged. If the checkpoint restores
     * straight from the server, the error misled (a transport fault reported as damage); if not, a
     * committed checkpoint is broken. Either way a violation.
     */
    private void misleadingUnlessBroken(String what, Committed c, CkptException e) {
        Path again = dir.resolve("restore-direct");
        TortureChild.deleteTree(again);
        try {
            direct.restore(c.id(), again);
            violations.add(what + " failed with " + e.getClass().getSimpleName() + " (" + e.getMessage()
                    + "), but the checkpoint restores without the proxy: a transport fault reported as missing or damaged data");
        } catch (RuntimeException x) {
            violations.add(what + " failed (" + e.getMessage() + ") and the checkpoint does not restore without the proxy either: "
                    + x.getMessage());
        } finally {
            TortureChild.deleteTree(again);
        }
    }

    private void gc() {
        gcs++;
        try {
            var r = viaProxy.gc(GcRequest.collect());
            log("gc: deleted " + r.deletedKeys().size());
        } catch (CkptException e) {
            gcsFailed++;
            failure("gc", e, null);
            log("gc: failed: " + e.getMessage());
        } catch (RuntimeException e) {
            gcsFailed++;
            unexpected("gc", e);
        }
    }

    private void retention() {
        retentions++;
        String run = RUNS.get(rnd.nextInt(RUNS.size()));
        Retention policy = Retention.keepLast(2 + rnd.nextInt(4));
        RootState before = direct.root();
        Set<String> allowed = Set.copyOf(RetentionResult.plan(before, run, policy, true, java.util.Map.of()).forgotten());
        String what = "retention keep-last " + policy.keepLast() + " of run " + run;
        try {
            RetentionResult r = viaProxy.forget(RetentionRequest.of(policy).forRun(run));
            for (String id : r.forgotten()) {
                if (!allowed.contains(id)) {
                    violations.add(what + " dropped " + id + ", which the policy keeps (plan: " + allowed + ")");
                }
                dropped.add(id);
            }
            log(what + ": dropped " + r.forgotten());
        } catch (CkptException e) {
            retentionsFailed++;
            failure("retention", e, null);
            // its fate: whatever of the plan is gone from ROOT was dropped by it; anything else gone is checked as lost
            Set<String> now = direct.root().checkpoints().keySet();
            for (String id : allowed) {
                if (!now.contains(id)) {
                    dropped.add(id);
                }
            }
            log(what + ": failed: " + e.getMessage());
        } catch (RuntimeException e) {
            retentionsFailed++;
            unexpected(what, e);
        }
    }

    /** After every operation, straight to the server: nothing committed lost, nothing failed visible. */
    private void check(String when) {
        RootState root;
        try {
            root = direct.root();
        } catch (RuntimeException e) {
            violations.add("ROOT does not read without the proxy " + when + ": " + e);
            return;
        }
        for (var it = unknown.iterator(); it.hasNext(); ) {
            Optional<CheckpointEntry> e = find(root, it.next());
            if (e.isPresent()) { // the save of unknown fate did commit: from now on it must stay
                committed.put(e.get().id(), new Committed(e.get().id(), e.get().run(), e.get().step()));
                unknownInRoot++;
                it.remove();
            }
        }
        for (Committed c : committed.values()) {
            if (!dropped.contains(c.id()) && !reportedLost.contains(c.id()) && !root.checkpoints().containsKey(c.id())) {
                reportedLost.add(c.id());
                violations.add("committed checkpoint " + c.id() + " (run " + c.run() + ", step " + c.step()
                        + ") is no longer in ROOT " + when + ", and no retention dropped it");
            }
        }
        for (var it = failedSaves.iterator(); it.hasNext(); ) {
            String f = it.next();
            Optional<CheckpointEntry> e = find(root, f);
            if (e.isPresent()) {
                violations.add("the save of run/step " + f + " failed with an error that says nothing was committed, yet "
                        + e.get().id() + " is in ROOT " + when);
                it.remove();
            }
        }
    }

    /** The checkpoint of "run/step" in ROOT, if there is one. */
    private static Optional<CheckpointEntry> find(RootState root, String runStep) {
        String[] rs = runStep.split("/");
        return root.checkpointsOf(rs[0]).stream().filter(e -> e.step() == Long.parseLong(rs[1])).findFirst();
    }

    /** Without the proxy: a GC, a deep verify of everything, and every checkpoint in ROOT restored and compared. */
    private int[] finalCheck() {
        check("at the end");
        try {
            try {
                direct.gc(GcRequest.collect());
            } catch (dev.ckpt.store.error.GcLeaseHeldException held) {
                // a GC through the proxy that lost its answers may leave its lease until it expires: the store is
                // right to refuse a second GC meanwhile; wait for the expiry (bounded) and collect then
                long wait = java.time.Duration.between(java.time.Instant.now(), held.leaseExpiry()).toMillis() + 1000;
                Thread.sleep(Math.max(0, Math.min(wait, 120_000)));
                direct.gc(GcRequest.collect());
            }
        } catch (RuntimeException e) {
            violations.add("the final GC without the proxy failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            violations.add("interrupted while waiting for a GC lease to expire before the final GC");
        }
        int chunks = 0;
        try {
            VerifyReport v = direct.verify(VerifyRequest.deep());
            chunks = v.chunksChecked();
            for (VerifyReport.Problem p : v.problems()) {
                violations.add("the final deep verify found " + p.kind() + " " + p.key() + " of " + p.checkpointId() + ": "
                        + p.message());
            }
        } catch (RuntimeException e) {
            violations.add("the final deep verify failed: " + e);
        }
        int restored = 0;
        Path target = dir.resolve("final");
        for (CheckpointEntry e : direct.root().checkpoints().values()) {
            TortureChild.deleteTree(target);
            try {
                direct.restore(e.id(), target);
                String diff = Content.difference(content(seed, e.run(), e.step(), kib * 1024), Content.read(target));
                if (diff != null) {
                    violations.add("checkpoint " + e.id() + " restores wrong bytes at the end: " + diff);
                }
                restored++;
            } catch (RuntimeException x) {
                violations.add("checkpoint " + e.id() + " in ROOT does not restore at the end: " + x.getMessage());
            }
        }
        TortureChild.deleteTree(target);
        check("at the end, after the final GC");
        out.printf("s3-faults: final check without the proxy: %d checkpoints in ROOT restored and compared, deep verify of %d"
                + " chunks%n", restored, chunks);
        return new int[]{restored, chunks};
    }

    /**
     * A failure of an operation: one of the store's errors, counted by kind; its message must say
     * what failed (name the store, an object or the run) and must not be a misleading verdict.
     */
    private void failure(String op, CkptException e, String context) {
        String kind = e.getClass().getSimpleName();
        failuresByKind.merge(op + ":" + kind, 1, Integer::sum);
        sampleMessages.putIfAbsent(kind, e.getMessage());
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            violations.add(op + (context == null ? "" : " of " + context) + " failed with " + kind + " without a message");
        } else if (!(m.contains("s3://") || m.contains("ROOT") || m.contains("run '") || m.contains("checkpoint"))) {
            violations.add(op + " failed with a message that names neither the store nor an object: " + kind + ": " + m);
        }
        if (e instanceof ConditionalWritesUnsupportedException) {
            violations.add(op + " failed saying the server does not honour conditional writes, which it does (a transport"
                    + " fault taken for a verdict): " + m);
        }
    }

    private void unexpected(String what, RuntimeException e) {
        failuresByKind.merge("unexpected:" + e.getClass().getSimpleName(), 1, Integer::sum);
        java.io.StringWriter sw = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(sw));
        violations.add(what + " failed with an exception that is not one of the store's errors: " + sw);
    }

    private void log(String s) {
        if (verbose) {
            out.println("s3-faults: " + s);
        }
    }

    /** Relative paths of the regular files below {@code d}, hidden temporaries included. */
    private static List<String> files(Path d) {
        if (!Files.exists(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(d)) {
            return s.filter(Files::isRegularFile).map(p -> d.relativize(p).toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The checkpoint (seed, run, step) of about {@code bytes} bytes: a frozen block constant
     * within a run, weights in eight blocks that change every 1, 2, 4 or 8 steps, optimizer
     * state that changes every step (and its size with it), a small JSON file and an empty one.
     */
    static Map<String, byte[]> content(long seed, String run, long step, int bytes) {
        Map<String, byte[]> files = new TreeMap<>();
        files.put("frozen.bin", random(Content.mix(seed, "frozen/" + run, 0), bytes / 4));
        int block = bytes / 16;
        byte[] weights = new byte[block * 8];
        for (int i = 0; i < 8; i++) {
            byte[] b = random(Content.mix(seed, run + "/w" + i, step >> (i % 4)), block);
            System.arraycopy(b, 0, weights, i * block, block);
        }
        files.put("model/weights.bin", weights);
        files.put("optimizer.bin", random(Content.mix(seed, run + "/opt", step), bytes / 4 - (int) (step % 3) * 1000));
        files.put("state.json", ("{\"run\":\"" + run + "\",\"step\":" + step + "}\n").getBytes(StandardCharsets.UTF_8));
        files.put("empty", new byte[0]);
        return files;
    }

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) {
                b[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return b;
    }

    private static void write(Path d, Map<String, byte[]> files) {
        try {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                Path p = d.resolve(f.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, f.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package dev.ckpt.store.bench;

import dev.ckpt.store.testing.ChildClasspath;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectListing;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.objectstore.StoredObject;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Checkpoints saved by many ranks. Not a test: prints numbers (docs/benchmarks.md, "Many ranks").
 * <ul>
 * <li>{@code -Dmode=kills}: {@code -Dranks=8} rank processes ({@link RankLoopChild}) of one job
 *     on one store save {@code -Dsteps=100} steps, then {@code -Drounds=100} rounds of two steps: in
 *     the first one random rank is SIGKILLed at a random moment of the save and started again, the
 *     second must commit. After every
 *     step: at most one checkpoint of that step, and a committed one has every part and restores
 *     byte-identical; every step without a kill commits; deep verify every 10 rounds and at the end.</li>
 * <li>{@code -Dmode=scale}: for N = {@code -Dns} (default 1,2,4,8,16) ranks as threads (each its own
 *     {@code CheckpointStore} and request counter) against S3Proxy over HTTP: requests per
 *     checkpoint by kind and the commit latency (last part written → commit in ROOT).</li>
 * <li>{@code -Dmode=aggregate}: 4 ranks against one process saving the same bytes, see
 *     {@link RanksAggregateBenchmark}.</li>
 * </ul>
 * Run: {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.ckpt.store.bench.RanksBenchmark -Dmode=kills} (or with {@code java -cp} from
 * {@code dependency:build-classpath}, as bench/compare.sh does).
 */
public final class RanksBenchmark {
    private static final int CHUNK = 64 * 1024;
    private static final PrintStream OUT = System.out;

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory(Path.of(System.getProperty("dir", System.getProperty("java.io.tmpdir"))),
                "ckpt-ranks");
        String mode = System.getProperty("mode", "kills");
        if (mode.equals("kills")) {
            kills(work, Integer.getInteger("ranks", 8), Integer.getInteger("steps", 100), Integer.getInteger("rounds", 100),
                    Long.getLong("seed", 20261201L));
        } else if (mode.equals("aggregate")) {
            RanksAggregateBenchmark.run(work, Path.of(System.getProperty("data", "/tmp/ckpt-perf/data/v1")), Integer.getInteger("reps", 3));
        } else {
            scale(work, Arrays.stream(System.getProperty("ns", "1,2,4,8,16").split(",")).mapToInt(Integer::parseInt)
                    .toArray(), Integer.getInteger("kib", 1024), Integer.getInteger("reps", 3));
        }
    }

    /** Rank R's files at a step: its own shard (changes every step) and a replicated block (changes every 10). */
    static Path rankDir(Path base, int rank, long step, int kib) throws IOException {
        Path d = base.resolve("s" + step + "-r" + rank);
        Path own = d.resolve("rank-" + rank);
        Files.createDirectories(own);
        byte[] b = new byte[kib * 1024];
        new Random(step * 1_000_003L + rank).nextBytes(b);
        Files.write(own.resolve("shard.bin"), b);
        byte[] rep = new byte[kib * 512];
        new Random(step / 10).nextBytes(rep);
        Files.write(own.resolve("replicated.bin"), rep);
        return d;
    }

    // ---------------------------------------------------------------------------------- kills

    private static final class Rank {
        final int rank;
        Process p;
        BufferedReader out;
        PrintStream in;

        Rank(int rank) {
            this.rank = rank;
        }

        void start(String url, int n, Path log) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            p = new ProcessBuilder(java, "-Xmx192m", "-XX:TieredStopAtLevel=1", "-cp", ChildClasspath.get(),
                    RankLoopChild.class.getName(), url, "r", "bench-job", Integer.toString(rank), Integer.toString(n),
                    "5000", Integer.toString(CHUNK)).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            in = new PrintStream(p.getOutputStream(), true, StandardCharsets.UTF_8);
            String ready = out.readLine();
            if (ready == null || !ready.startsWith("ready")) {
                throw new IllegalStateException("rank " + rank + " did not start: " + ready + " (see " + log + ")");
            }
        }
    }

    static void kills(Path work, int n, int steps, int rounds, long seed) throws Exception {
        Path storeDir = work.resolve("store");
        String url = storeDir.toString();
        Random rnd = new Random(seed);
        int kib = Integer.getInteger("kib", 512);
        List<Rank> ranks = new ArrayList<>();
        try (CheckpointStore check = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults().withChunkSize(CHUNK))) {
            check.init();
            for (int r = 0; r < n; r++) {
                Rank rk = new Rank(r);
                rk.start(url, n, work.resolve("rank" + r + ".log"));
                ranks.add(rk);
            }
            int commits = 0;
            int kills = 0;
            int killedCommitted = 0;
            int violations = 0;
            long saveMs = 0;
            long t0 = System.nanoTime();
            // steps clean steps, then rounds pairs: a step with a kill, then a step that must commit
            for (int i = 1; i <= steps + 2 * rounds; i++) {
                long step = i;
                boolean killRound = i > steps && (i - steps) % 2 == 1;
                for (Rank rk : ranks) {
                    rk.in.println("save " + step + " " + rankDir(work.resolve("data"), rk.rank, step, kib));
                }
                Rank victim = null;
                if (killRound) {
                    Thread.sleep(rnd.nextInt(Math.max(1, (int) Math.min(3000, saveMs + 1))));
                    victim = ranks.get(rnd.nextInt(n));
                    victim.p.destroyForcibly();
                    victim.p.waitFor(30, TimeUnit.SECONDS);
                    kills++;
                }
                long s0 = System.nanoTime();
                int ok = 0;
                for (Rank rk : ranks) {
                    if (rk == victim) {
                        continue;
                    }
                    String line = rk.out.readLine();
                    if (line == null) {
                        throw new IllegalStateException("rank " + rk.rank + " exited (see " + work + ")");
                    }
                    if (line.startsWith("ok ")) {
                        ok++;
                    }
                }
                if (!killRound) {
                    saveMs = (System.nanoTime() - s0) / 1_000_000;
                }
                List<CheckpointEntry> atStep = check.list("r").stream().filter(e -> e.step() == step).toList();
                String problem = null;
                if (atStep.size() > 1) {
                    problem = atStep.size() + " checkpoints of step " + step;
                } else if (atStep.size() == 1) {
                    commits++;
                    if (victim != null) {
                        killedCommitted++;
                    }
                    CheckpointEntry e = atStep.get(0);
                    problem = e.ranks() != n ? "step " + step + " committed with " + e.ranks() + " ranks" : restoresExactly(check, e, work, n, kib);
                    if (problem == null && victim == null && ok != n) {
                        problem = "step " + step + " committed but only " + ok + " ranks reported success";
                    }
                } else if (victim == null) {
                    problem = "step " + step + " without a kill did not commit";
                }
                if (problem != null) {
                    violations++;
                    OUT.println("VIOLATION round " + i + ": " + problem);
                }
                if (victim != null) {
                    victim.start(url, n, work.resolve("rank" + victim.rank + ".log"));
                }
                if (i % 10 == 0) {
                    boolean clean = check.verify(VerifyRequest.deep()).ok();
                    if (!clean) {
                        violations++;
                        OUT.println("VIOLATION round " + i + ": deep verify: " + check.verify(VerifyRequest.deep()).problems());
                    }
                    OUT.printf("step %d: %d commits, %d kills (%d of those steps committed anyway: the victim had"
                            + " written its part), %d violations, %.0f s%n", i, commits, kills, killedCommitted, violations,
                            (System.nanoTime() - t0) / 1e9);
                }
                deleteTree(work.resolve("data"));
            }
            OUT.printf("RESULT ranks=%d steps=%d killRounds=%d kills=%d commits=%d committedDespiteKill=%d violations=%d"
                    + " seconds=%.0f%n", n, steps, rounds, kills, commits, killedCommitted, violations,
                    (System.nanoTime() - t0) / 1e9);
        } finally {
            for (Rank rk : ranks) {
                if (rk.p != null) {
                    rk.p.destroyForcibly();
                }
            }
        }
    }

    private static String restoresExactly(CheckpointStore s, CheckpointEntry e, Path work, int n, int kib) throws IOException {
        Path into = work.resolve("restored");
        deleteTree(into);
        s.restore(e, into, List.of());
        for (int r = 0; r < n; r++) {
            Path exp = rankDir(work.resolve("expected"), r, e.step(), kib);
            for (String f : List.of("shard.bin", "replicated.bin")) {
                if (!Arrays.equals(Files.readAllBytes(exp.resolve("rank-" + r).resolve(f)),
                        Files.readAllBytes(into.resolve("rank-" + r).resolve(f)))) {
                    return "step " + e.step() + " rank " + r + " " + f + " restored with other bytes";
                }
            }
        }
        deleteTree(work.resolve("expected"));
        return null;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    // ---------------------------------------------------------------------------------- scale

    /** Counts requests by kind; remembers when the last part manifest was written and when ROOT was last written. */
    static class Counting extends ForwardingObjectStore {
        final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        static final AtomicLong lastPartAt = new AtomicLong();
        volatile long rootWrittenAt;
        volatile boolean afterLastPart;
        final Map<String, AtomicLong> afterPart = new ConcurrentHashMap<>();

        Counting(ObjectStore d) {
            super(d);
        }

        private void count(String op, String key) {
            String kind = key.equals("ROOT") ? "ROOT" : key.startsWith("chunks/") ? "chunk"
                    : key.contains("/part-") ? "part" : key.endsWith("/refused.json") ? "refusal" : key.startsWith("manifests/") ? "top" : key;
            counts.computeIfAbsent(op + " " + kind, k -> new AtomicLong()).incrementAndGet();
            if (afterLastPart) {
                afterPart.computeIfAbsent(op + " " + kind, k -> new AtomicLong()).incrementAndGet();
            }
        }

        @Override
        public StoredObject get(String key) {
            count("GET", key);
            return super.get(key);
        }

        @Override
        public java.util.Optional<dev.ckpt.store.objectstore.ObjectInfo> head(String key) {
            count("HEAD", key);
            return super.head(key);
        }

        @Override
        public String put(String key, byte[] data) {
            count("PUT", key);
            return super.put(key, data);
        }

        @Override
        public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
            count("PUT", key);
            PutResult r = super.putIfAbsent(key, data, offset, length);
            if (key.contains("/part-")) {
                lastPartAt.accumulateAndGet(System.nanoTime(), Math::max);
            }
            if (key.equals("ROOT")) {
                rootWrittenAt = System.nanoTime();
            }
            return r;
        }

        @Override
        public String putIfMatch(String key, byte[] data, String etag) {
            count("PUT", key);
            String r = super.putIfMatch(key, data, etag);
            if (key.equals("ROOT")) {
                rootWrittenAt = System.nanoTime();
            }
            return r;
        }

        @Override
        public ObjectListing list(String prefix) {
            count("LIST", prefix);
            return super.list(prefix);
        }
    }

    static void scale(Path work, int[] ns, int kib, int reps) throws Exception {
        try (S3ProxyServer server = S3ProxyServer.start(work.resolve("s3"))) {
            OUT.println("ranks as threads, each its own CheckpointStore, against S3Proxy (in this JVM) over HTTP;"
                    + " each rank saves " + kib + " KiB own + " + kib / 2 + " KiB replicated; second step of each run"
                    + " measured (" + reps + " reps, median)");
            OUT.println("N | commit latency ms (last part -> commit) | rank 0 ROOT requests after the last part |"
                    + " requests per checkpoint (all ranks) | by kind");
            for (int n : ns) {
                long[] latency = new long[reps];
                Map<String, Long> kinds = new TreeMap<>();
                Map<String, Long> rank0After = new TreeMap<>();
                long total = 0;
                for (int rep = 0; rep < reps; rep++) {
                    String bucket = "b" + n + "x" + rep;
                    server.createBucket(bucket);
                    S3Config cfg = server.config(bucket, "p", S3Config.Client.AWS, S3Config.Http.APACHE);
                    ObjectStore shared = S3ObjectStores.open(cfg);
                    List<Counting> counters = new ArrayList<>();
                    List<CheckpointStore> stores = new ArrayList<>();
                    for (int r = 0; r < n; r++) {
                        Counting c = new Counting(shared) {
                            @Override
                            public void close() {
                                // the shared client is closed once, below
                            }
                        };
                        counters.add(c);
                        stores.add(CheckpointStore.open(c, StoreConfig.defaults().withChunkSize(CHUNK)));
                    }
                    stores.get(0).init();
                    runStep(work, stores, n, 1, kib);
                    counters.forEach(c -> c.counts.clear());
                    Counting.lastPartAt.set(0);
                    counters.get(0).afterPart.clear();
                    Counting rank0 = counters.get(0);
                    // rank 0 counts ROOT requests from the moment the last part lands: a watcher flips the flag
                    Thread watcher = new Thread(() -> {
                        while (!Thread.currentThread().isInterrupted()) {
                            if (partsWritten(counters, n)) {
                                rank0.afterLastPart = true;
                                return;
                            }
                            Thread.onSpinWait();
                        }
                    });
                    watcher.setDaemon(true);
                    watcher.start();
                    runStep(work, stores, n, 2, kib);
                    watcher.interrupt();
                    rank0.afterLastPart = false;
                    latency[rep] = (rank0.rootWrittenAt - Counting.lastPartAt.get()) / 1_000_000;
                    if (rep == reps - 1) {
                        for (Counting c : counters) {
                            c.counts.forEach((k, v) -> kinds.merge(k, v.get(), Long::sum));
                        }
                        rank0.afterPart.forEach((k, v) -> rank0After.merge(k, v.get(), Long::sum));
                        total = kinds.values().stream().mapToLong(Long::longValue).sum();
                    }
                    for (CheckpointStore s : stores) {
                        s.close();
                    }
                    shared.close();
                }
                Arrays.sort(latency);
                OUT.printf("%d | %d | %s | %d | %s%n", n, latency[reps / 2], rank0After, total, kinds);
            }
        }
    }

    private static boolean partsWritten(List<Counting> counters, int n) {
        long parts = 0;
        for (Counting c : counters) {
            AtomicLong v = c.counts.get("PUT part");
            parts += v == null ? 0 : v.get();
        }
        return parts >= n;
    }

    private static void runStep(Path work, List<CheckpointStore> stores, int n, long step, int kib) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                Path dir = rankDir(work.resolve("scale"), rank, step, kib);
                CheckpointStore s = stores.get(r);
                fs.add(pool.submit(() -> s.save(s.joinRun("r", "job"), SaveRequest.of(dir, "r", step)
                        .withShard(new SaveRequest.Shard(rank, n, java.time.Duration.ofMinutes(2))))));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            deleteTree(work.resolve("scale"));
        }
    }
}

package dev.ckpt.store.bench;

import dev.ckpt.store.testing.ChildClasspath;
import dev.ckpt.store.RankChild;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * 4 ranks against one process (issue #13's goal: aggregate time of 4 ranks × 256 MiB ≤ 1.1× one
 * process saving the same 1 GiB). Not a test: prints numbers (docs/benchmarks.md, "Many ranks").
 *
 * <p>The files of {@code -Ddata} (default the gen_ckpt checkpoint, 12 safetensors shards) are
 * dealt to 4 ranks by size (largest first to the least-loaded rank), so each rank holds about a
 * quarter of the bytes; the single process saves the same files under the same paths
 * ({@code rank-R/...}). Each save is a first save into an empty bucket of S3Proxy over HTTP (S3Proxy
 * runs in this JVM; every saver is its own JVM, {@link RankChild}). Per variant and repetition it
 * prints: wall time from starting the processes to the last exit (JVM start included); the save
 * window, from the earliest saver's opening of the store to the last one's commit (what a training
 * job that is already running waits for); the savers' CPU seconds (JVM start included) and this
 * JVM's (S3Proxy's) CPU seconds. {@code -Dreps=3}; {@code -DshareCores=true} gives every rank
 * {@code LOCAL_WORLD_SIZE=4}, as torchrun does for 4 ranks on one machine. {@code -Dwarmup=DIR}: every
 * saver opens the store, joins the run and saves DIR (dealt the same way; make it with another seed,
 * so that nothing of it deduplicates) as step 1, as a running trainer would have; the savers then
 * start the timed save of step 2 together (a barrier). Without it every saver is a cold JVM, timed
 * from opening the store. {@code RANKCHILD_THREAD_CPU=1} in the
 * environment prints each saver's CPU time by thread (JIT compiler, GC, ckpt's pools, main).
 */
public final class RanksAggregateBenchmark {
    private static final PrintStream OUT = System.out;

    /** One saver's report: the {@code committed} line of {@link RankChild}. */
    record Saver(long saveStart, long end, long jvmStart, long cpuMs, long scanMs, long uploadMs, long manifestMs,
                 long commitMs, long openMs, long joinMs, long cpuBeforeSaveMs) {
        static Saver parse(String out) {
            String line = out.lines().filter(l -> l.startsWith("committed ")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("a saver failed: " + out));
            String[] f = line.split(" ");
            return new Saver(Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6]),
                    Long.parseLong(f[7]), Long.parseLong(f[8]), Long.parseLong(f[9]), Long.parseLong(f[10]),
                    Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]));
        }
    }

    /** One variant's run: wall ms, save-window ms, savers' CPU ms, server CPU ms. */
    record Run(long wallMs, long windowMs, long clientCpuMs, long serverCpuMs, List<Saver> savers) {
    }

    static void run(Path work, Path data, int reps) throws Exception {
        Path layout = work.resolve("layout");
        List<Path> rankDirs = deal(data, layout, 4);
        Path all = gather(rankDirs, layout.resolve("all"));
        String warmup = System.getProperty("warmup"); // a smaller checkpoint each saver saves first, into its own bucket
        List<Path> warmDirs = warmup == null ? null : deal(Path.of(warmup), work.resolve("warm"), 4);
        Path warmAll = warmup == null ? null : gather(warmDirs, work.resolve("warm").resolve("all"));
        OUT.println(warmup == null ? "cold: every saver is a new JVM, timed from opening the store"
                : "warm: every saver opens the store, joins the run and saves " + warmup + " as step 1 (as a running"
                        + " trainer would have), then all meet at a barrier; the timed save is step 2");
        List<Run> one = new ArrayList<>();
        List<Run> four = new ArrayList<>();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (S3ProxyServer server = S3ProxyServer.start(work.resolve("s3"))) {
            Map<String, String> env = server.env(S3Config.Client.AWS, S3Config.Http.APACHE);
            for (int rep = 0; rep < reps; rep++) {
                for (int variant = 0; variant < 2; variant++) {
                    String bucket = (variant == 0 ? "one" : "four") + rep;
                    server.createBucket(bucket);
                    String url = "s3://" + bucket + "/p";
                    Map<String, String> childEnv = new java.util.HashMap<>(env);
                    if (warmup != null) {
                        childEnv.put("RANKCHILD_BARRIER", work.resolve("barrier-" + bucket).toString());
                    }
                    System.gc();
                    long serverCpu0 = os.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    List<Process> ps = new ArrayList<>();
                    if (variant == 0) {
                        ps.add(child(url, warmEnv(childEnv, warmAll), 0, 1, all));
                    } else {
                        for (int r = 0; r < 4; r++) {
                            ps.add(child(url, warmEnv(childEnv, warmDirs == null ? null : warmDirs.get(r)), r, 4, rankDirs.get(r)));
                        }
                    }
                    List<Saver> savers = new ArrayList<>();
                    for (Process p : ps) {
                        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                        if (p.waitFor() != 0) {
                            throw new IllegalStateException("a saver failed: " + out);
                        }
                        savers.add(Saver.parse(out));
                        String threads = out.lines().filter(l -> l.startsWith("thread-cpu "))
                                .map(l -> l.substring("thread-cpu ".length()).replace(" ms", ""))
                                .filter(l -> !l.endsWith(" 0")).reduce((x, y) -> x + ", " + y).orElse("");
                        if (!threads.isEmpty()) { // RANKCHILD_THREAD_CPU=1: CPU ms by thread name
                            OUT.println("         threads (CPU ms): " + threads);
                        }
                    }
                    long wall = (System.nanoTime() - t0) / 1_000_000;
                    long serverCpu = (os.getProcessCpuTime() - serverCpu0) / 1_000_000;
                    long window = savers.stream().mapToLong(Saver::end).max().orElseThrow()
                            - savers.stream().mapToLong(Saver::saveStart).min().orElseThrow();
                    Run run = new Run(wall, window, savers.stream().mapToLong(Saver::cpuMs).sum(), serverCpu, savers);
                    (variant == 0 ? one : four).add(run);
                    OUT.printf("rep %d: %-26s wall %6.2f s, save window %6.2f s, savers' CPU %6.2f s, S3Proxy CPU %6.2f s%n",
                            rep + 1, variant == 0 ? "1 process, 12 files" : "4 ranks, 3 files each", wall / 1e3,
                            window / 1e3, run.clientCpuMs() / 1e3, serverCpu / 1e3);
                    for (int i = 0; i < savers.size(); i++) {
                        Saver s = savers.get(i);
                        OUT.printf("         saver %d: JVM start -> open %5d ms, open -> commit %5d ms (open %d, claim/join %d,"
                                        + " scan %d, upload %d, manifest %d, commit %d), CPU %5d ms (%d before the save)%n",
                                i, s.saveStart() - s.jvmStart(), s.end() - s.saveStart(), s.openMs(), s.joinMs(), s.scanMs(),
                                s.uploadMs(), s.manifestMs(), s.commitMs(), s.cpuMs(), s.cpuBeforeSaveMs());
                    }
                    RanksBenchmark.deleteTree(work.resolve("s3").resolve(bucket));
                }
            }
        }
        Run o = median(one, Run::wallMs);
        Run f = median(four, Run::wallMs);
        Run ow = median(one, Run::windowMs);
        Run fw = median(four, Run::windowMs);
        OUT.printf("RESULT wall (JVM start included): 1 process %.2f s, 4 ranks %.2f s, ratio %.2f (medians of %d)%n",
                o.wallMs() / 1e3, f.wallMs() / 1e3, (double) f.wallMs() / o.wallMs(), reps);
        OUT.printf("RESULT save window: 1 process %.2f s, 4 ranks %.2f s, ratio %.2f (medians of %d)%n",
                ow.windowMs() / 1e3, fw.windowMs() / 1e3, (double) fw.windowMs() / ow.windowMs(), reps);
        OUT.printf("RESULT CPU (medians): savers 1 process %.2f s, 4 ranks %.2f s; S3Proxy %.2f s, %.2f s%n",
                median(one, Run::clientCpuMs).clientCpuMs() / 1e3, median(four, Run::clientCpuMs).clientCpuMs() / 1e3,
                median(one, Run::serverCpuMs).serverCpuMs() / 1e3, median(four, Run::serverCpuMs).serverCpuMs() / 1e3);
    }

    private static Map<String, String> warmEnv(Map<String, String> env, Path warmDir) {
        Map<String, String> e = new java.util.HashMap<>(env);
        if (warmDir != null) {
            e.put("RANKCHILD_WARMUP_DIR", warmDir.toString());
        }
        return e;
    }

    /** Hard links of every rank's files under {@code into/rank-R/}: the same files, for one process. */
    private static Path gather(List<Path> rankDirs, Path into) throws IOException {
        for (int r = 0; r < rankDirs.size(); r++) {
            Path to = Files.createDirectories(into.resolve("rank-" + r));
            try (var files = Files.list(rankDirs.get(r).resolve("rank-" + r))) {
                for (Path f : files.toList()) {
                    Files.createLink(to.resolve(f.getFileName()), f);
                }
            }
        }
        return into;
    }

    private static Run median(List<Run> runs, java.util.function.ToLongFunction<Run> by) {
        List<Run> sorted = new ArrayList<>(runs);
        sorted.sort(Comparator.comparingLong(by));
        return sorted.get(sorted.size() / 2);
    }

    /** Deals the files of {@code data} to {@code n} ranks, largest first to the least-loaded: {@code layout/rR/rank-R/}. */
    static List<Path> deal(Path data, Path layout, int n) throws IOException {
        List<Path> files;
        try (var s = Files.list(data)) {
            files = new ArrayList<>(s.filter(Files::isRegularFile).sorted().toList());
        }
        files.sort(Comparator.comparingLong((Path p) -> p.toFile().length()).reversed());
        long[] load = new long[n];
        List<Path> dirs = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            dirs.add(Files.createDirectories(layout.resolve("r" + r).resolve("rank-" + r)).getParent());
        }
        for (Path f : files) {
            int least = 0;
            for (int r = 1; r < n; r++) {
                if (load[r] < load[least]) {
                    least = r;
                }
            }
            load[least] += Files.size(f);
            Files.createLink(dirs.get(least).resolve("rank-" + least).resolve(f.getFileName()), f);
        }
        OUT.printf("bytes per rank: %s%n", Arrays.toString(load));
        return dirs;
    }

    private static Process child(String url, Map<String, String> env, int rank, int n, Path dir) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx" + (n == 1 ? "1g" : "256m"), "-cp",
                ChildClasspath.get(), RankChild.class.getName(), url, "r", "agg",
                System.getProperty("warmup") == null ? "1" : "2", Integer.toString(rank), Integer.toString(n), dir.toString(), "600000").redirectErrorStream(true);
        pb.environment().putAll(env);
        if (n > 1 && Boolean.getBoolean("shareCores")) {
            pb.environment().put("LOCAL_WORLD_SIZE", Integer.toString(n));
        }
        return pb.start();
    }
}

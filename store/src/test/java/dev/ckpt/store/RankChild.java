package dev.ckpt.store;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.objectstore.ObjectStores;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One rank as its own process, for {@link MultiRankProcessTest} and the ranks benchmark:
 * joins the run as a rank of the job and saves its directory as its part of the step
 * (with world size 1: claims the run and saves plainly).
 * Prints {@code committed <id> <ms> <saveStartEpochMs> <endEpochMs> <jvmStartEpochMs> <cpuMs> <scanMs> <uploadMs>
 * <manifestMs> <commitMs> <openMs> <claimOrJoinMs> <cpuMsBeforeSave>} (ms: from opening the store to the
 * commit; cpuMs: this process's CPU time, JVM start included) and exits 0, or prints the error and exits with its
 * {@link ExitCode}. Usage: {@code RankChild STORE_URL RUN JOB STEP RANK WORLD_SIZE DIR TIMEOUT_MS [CHUNK_SIZE]}
 */
public final class RankChild {
    /** Prints this process's CPU time by thread name (digits removed), from /proc: where the CPU went, JIT and GC included. */
    private static void threadCpu() {
        java.util.Map<String, Long> byName = new java.util.TreeMap<>();
        try (var tasks = java.nio.file.Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String name = java.nio.file.Files.readString(t.resolve("comm")).strip().replaceAll("[0-9]+", "#");
                String stat = java.nio.file.Files.readString(t.resolve("stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                byName.merge(name, (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10, Long::sum);
            }
        } catch (java.io.IOException e) {
            return;
        }
        byName.forEach((k, v) -> System.out.println("thread-cpu " + k + " " + v + " ms"));
    }

    public static void main(String[] a) {
        StoreConfig config = StoreConfig.defaults();
        if (a.length > 8) {
            config = config.withChunkSize(Integer.parseInt(a[8]));
        }
        String local = System.getenv("LOCAL_WORLD_SIZE"); // torchrun: ranks on this machine share its cores
        if (local != null) {
            config = config.withParallelism(Math.max(1, Runtime.getRuntime().availableProcessors() / Integer.parseInt(local)));
        }
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        String warmDir = System.getenv("RANKCHILD_WARMUP_DIR");
        long t0 = System.nanoTime();
        long saveStart = System.currentTimeMillis();
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.open(a[0]), config)) {
            long opened = System.currentTimeMillis();
            int rank = Integer.parseInt(a[4]);
            int n = Integer.parseInt(a[5]);
            long step = Long.parseLong(a[3]);
            WriterToken w = n == 1 ? store.claimWriter(a[1]) : store.joinRun(a[1], a[2]);
            long joined = System.currentTimeMillis();
            if (warmDir != null) { // a running trainer: the store open, classes loaded and code compiled by an earlier save
                save(store, w, rank, n, Path.of(warmDir), a[1], step - 1, a[7]);
                barrier(Path.of(System.getenv("RANKCHILD_BARRIER")), rank, n);
                t0 = System.nanoTime();
                saveStart = System.currentTimeMillis();
                opened = saveStart;
                joined = saveStart;
            }
            long cpuAtSave = os.getProcessCpuTime() / 1_000_000;
            SaveResult r = save(store, w, rank, n, Path.of(a[6]), a[1], step, a[7]);
            long end = System.currentTimeMillis();
            long cpuMs = os.getProcessCpuTime() / 1_000_000;
            if (System.getenv("RANKCHILD_THREAD_CPU") != null) {
                threadCpu();
            }
            System.out.println("committed " + r.checkpointId() + " " + (System.nanoTime() - t0) / 1_000_000 + " " + saveStart
                    + " " + end + " " + ManagementFactory.getRuntimeMXBean().getStartTime() + " " + cpuMs + " "
                    + r.scanTime().toMillis() + " " + r.uploadTime().toMillis() + " " + r.manifestTime().toMillis() + " "
                    + r.commitTime().toMillis() + " " + (opened - saveStart) + " " + (joined - opened) + " " + cpuAtSave);
            System.out.flush();
            System.exit(0);
        } catch (RuntimeException e) {
            System.out.println("error " + e.getClass().getSimpleName() + ": " + e.getMessage());
            System.out.flush();
            System.exit(ExitCode.of(e).code());
        }
    }

    /** With world size 1 a plain save, as ckpt-tool push does; otherwise this rank's part. */
    private static SaveResult save(CheckpointStore store, WriterToken w, int rank, int n, Path dir, String run, long step,
                                   String timeoutMs) {
        SaveRequest req = SaveRequest.of(dir, run, step);
        return store.save(w, n == 1 ? req : req.withShard(new SaveRequest.Shard(rank, n, Duration.ofMillis(Long.parseLong(timeoutMs)))));
    }

    /** Waits until all n ranks have reached this point (a file per rank in {@code dir}). */
    private static void barrier(Path dir, int rank, int n) {
        try {
            java.nio.file.Files.createDirectories(dir);
            java.nio.file.Files.writeString(dir.resolve("ready-" + rank), "");
            while (true) {
                try (var s = java.nio.file.Files.list(dir)) {
                    if (s.count() >= n) {
                        return;
                    }
                }
                Thread.sleep(2);
            }
        } catch (java.io.IOException | InterruptedException e) {
            throw new IllegalStateException("barrier " + dir + ": " + e, e);
        }
    }
}

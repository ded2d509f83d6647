package dev.ckpt.store.bench;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.BigCheckpoint;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Save / restore throughput and peak heap on the local-filesystem store for a generated
 * checkpoint of float32 safetensors files: first save, a second save with ~10 % of the
 * tensors changed, a restore, and a deep verify. Not a test: prints numbers. Run:
 * {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.ckpt.store.bench.SaveBenchmark -Dmb=1024}
 */
public final class SaveBenchmark {
    public static void main(String[] args) throws Exception {
        int mb = Integer.getInteger("mb", 1024);
        Path work = Files.createTempDirectory(Path.of(System.getProperty("dir", System.getProperty("java.io.tmpdir"))), "ckpt-bench");
        try {
            run(mb, work);
        } finally {
            LocalFiles.deleteTree(work);
        }
    }

    private static void run(int mb, Path work) throws Exception {
        Path src = work.resolve("src");
        int files = BigCheckpoint.files(mb);
        BigCheckpoint.write(src, mb, false);
        long bytes = BigCheckpoint.bytes(src);
        StoreConfig config = StoreConfig.defaults();
        config = config.withParallelism(Integer.getInteger("parallelism", config.parallelism()))
                .withMaxChunksInFlight(Integer.getInteger("inFlight", config.maxChunksInFlight()))
                .withCompressionLevel(Integer.getInteger("level", config.compressionLevel()));
        System.out.printf("checkpoint: %d files, %.0f MiB of float32 safetensors; %d cores, chunk %d MiB, %d in flight, zstd %d%n",
                files, bytes / 1048576.0, Runtime.getRuntime().availableProcessors(), config.chunkSize() >> 20,
                config.maxChunksInFlight(), config.compressionLevel());
        HeapSampler heap = new HeapSampler();
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.local(work.resolve("store")), config)) {
            WriterToken w = store.claimWriter("bench");
            heap.reset();
            SaveResult first = store.save(w, SaveRequest.of(src, "bench", 1));
            report("first save", bytes, first.totalTime().toNanos(), heap.peak());
            System.out.println("  " + first.summary());
            rewriteTenPercent(src, mb, files);
            heap.reset();
            SaveResult second = store.save(w, SaveRequest.of(src, "bench", 2));
            report("second save (~10% changed)", bytes, second.totalTime().toNanos(), heap.peak());
            System.out.println("  " + second.summary());
            heap.reset();
            RestoreResult rr = store.restore(second.checkpointId(), work.resolve("restore"));
            report("restore", bytes, rr.time().toNanos(), heap.peak());
            heap.reset();
            long t0 = System.nanoTime();
            VerifyReport v = store.verify(VerifyRequest.deep().withCheckpoints(List.of(second.checkpointId())));
            report("deep verify", bytes, System.nanoTime() - t0, heap.peak());
            if (!v.ok()) {
                throw new IllegalStateException("verify failed: " + v.problems());
            }
        } finally {
            heap.stop();
        }
    }

    private static void rewriteTenPercent(Path src, int mb, int files) {
        int changed = BigCheckpoint.write(src, mb, true);
        int tensors = files * BigCheckpoint.TENSORS_PER_FILE;
        System.out.printf("changed %d of %d tensors (%.1f %%), in %d of %d files%n", changed, tensors,
                100.0 * changed / tensors, (files + 9) / 10, files);
    }

    private static void report(String what, long bytes, long nanos, long peakHeap) {
        System.out.printf("%-28s %8.1f MB/s  (%.2f s)  peak heap %d MiB%n", what, bytes / (nanos / 1e9) / 1e6, nanos / 1e9,
                peakHeap >> 20);
    }

    /** Samples used heap every few milliseconds. */
    static final class HeapSampler {
        private final MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        private final AtomicLong peak = new AtomicLong();
        private final AtomicBoolean stop = new AtomicBoolean();

        HeapSampler() {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    peak.accumulateAndGet(mx.getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "heap-sampler");
            t.setDaemon(true);
            t.start();
        }

        void reset() {
            System.gc();
            peak.set(mx.getHeapMemoryUsage().getUsed());
        }

        long peak() {
            return peak.get();
        }

        void stop() {
            stop.set(true);
        }
    }
}

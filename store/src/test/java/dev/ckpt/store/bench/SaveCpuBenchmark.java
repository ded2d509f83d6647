package dev.ckpt.store.bench;

import dev.ckpt.store.objectstore.MemoryStores;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.testing.BigCheckpoint;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a save costs the client's CPU, without any server: the generated checkpoint saved
 * into a store that discards chunk bytes (SHA-256 of chunks and files, zstd, reading, and
 * whatever the JVM spends on allocation and GC), as MB/s and core-seconds per GiB, four
 * times (the first includes JIT warm-up). Not a test: prints numbers. Run:
 * {@code MAVEN_OPTS=-Xmx2g mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.ckpt.store.bench.SaveCpuBenchmark}
 */
public final class SaveCpuBenchmark {
    public static void main(String[] a) throws Exception {
        int mb = Integer.getInteger("mb", 1024);
        Path dir = Files.createTempDirectory("ckpt-savecpu");
        BigCheckpoint.write(dir, mb, false);
        long bytes = BigCheckpoint.bytes(dir);
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (int rep = 0; rep < Integer.getInteger("repeat", 4); rep++) {
            ObjectStore mem = MemoryStores.inMemory();
            ForwardingObjectStore discard = new ForwardingObjectStore(mem) {
                @Override
                public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                    if (key.startsWith("chunks/")) {
                        return PutResult.CREATED;
                    }
                    return super.putIfAbsent(key, data, offset, length);
                }
            };
            try (CheckpointStore s = CheckpointStore.open(discard, StoreConfig.defaults().withParallelism(8).withMaxChunksInFlight(8))) {
                WriterToken w = s.claimWriter("r");
                long c0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                s.save(w, SaveRequest.of(dir, "r", rep));
                long t1 = System.nanoTime();
                long c1 = os.getProcessCpuTime();
                System.out.printf("save to a discarding store: %.1f MB/s, client CPU %.2f core-s/GiB%n",
                        bytes / ((t1 - t0) / 1e9) / 1e6, (c1 - c0) / 1e9 / (bytes / 1073741824.0));
            }
        }
        LocalFiles.deleteTree(dir);
    }
}

package dev.ckpt.store.restore;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * File reads and writes of whole chunks go through the JDK's per-thread temporary direct
 * buffers; unsliced, each of the store's threads keeps one as large as a chunk (8 MiB),
 * fresh memory the kernel faults in and zeroes (docs/benchmarks.md, "Fresh memory"). A save
 * and a restore on a local store with the default chunk size stay within a slice per thread.
 */
class DirectMemoryTest {
    @TempDir
    Path tmp;

    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getTotalCapacity).sum();
    }

    @Test
    void aSaveAndARestoreOfEightMiBChunksKeepTheDirectBuffersToASlicePerThread() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        byte[] data = new byte[5 * (8 << 20) + 12345]; // 6 chunks of the default 8 MiB
        new Random(7).nextBytes(data);
        Files.write(src.resolve("weights.bin"), data);
        StoreConfig config = StoreConfig.defaults();
        int threads = config.parallelism() + config.ioConcurrency();

        long before = directBytes();
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.open(tmp.resolve("store").toString()), config)) {
            CheckpointEntry e = store.resolve(store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1)).checkpointId());
            assertEquals(6, store.manifest(e).files().get(0).chunks().size(), "the checkpoint is in 8 MiB chunks");
            store.restore(e, tmp.resolve("out"), List.of());
            long grown = directBytes() - before; // the pools' threads still live, with their cached buffers
            assertTrue(grown <= (long) threads * dev.ckpt.store.util.LocalFiles.IO_SLICE + (1 << 20),
                    "direct buffers grew by " + grown + " bytes for " + threads + " threads; one chunk-sized buffer"
                            + " per thread would be " + (8L << 20) + " each");
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }
}

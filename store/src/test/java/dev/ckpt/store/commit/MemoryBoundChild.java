package dev.ckpt.store.commit;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStores;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Child JVM of {@code PipelineMemoryBoundTest}: writes a sparse checkpoint of {@code gib}
 * GiB (zeros, with the chunk's index every 8 MiB so every chunk is distinct and uploaded),
 * saves it with the default configuration into a local store, and prints
 * {@code saved <logicalBytes> <newChunks> <peakHeapBytes>}. Run with a small {@code -Xmx}.
 * Args: source dir, store dir, GiB, and optionally a directory to restore it into, which
 * adds {@code restored <bytes> <peakHeapBytes>} (the restore's own peak: the pools' peaks
 * are reset between the two).
 */
public final class MemoryBoundChild {
    public static void main(String[] args) throws Exception {
        Path src = Path.of(args[0]);
        Path storeDir = Path.of(args[1]);
        long gib = Long.parseLong(args[2]);
        Files.createDirectories(src);
        long size = gib << 30;
        int files = 4;
        for (int f = 0; f < files; f++) {
            try (FileChannel ch = FileChannel.open(src.resolve("shard-" + f + ".bin"), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
                for (long at = 0; at < size / files; at += 8 << 20) {
                    ByteBuffer mark = ByteBuffer.allocate(16).putLong(f).putLong(at).flip();
                    ch.write(mark, at);
                }
                ch.write(ByteBuffer.allocate(1), size / files - 1); // full length
            }
        }
        resetPeaks();
        StoreConfig config = StoreConfig.defaults();
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.local(storeDir), config)) {
            SaveResult r = store.save(store.claimWriter("big"), SaveRequest.of(src, "big", 1));
            System.out.println("saved " + r.logicalBytes() + " " + r.newChunks() + " " + peakHeap() + " inflight "
                    + config.maxChunksInFlight() + " maxheap " + Runtime.getRuntime().maxMemory());
            if (args.length > 3) {
                resetPeaks();
                dev.ckpt.store.restore.RestoreResult back = store.restore("latest", Path.of(args[3]));
                System.out.println("restored " + back.bytes() + " " + peakHeap());
            }
        }
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            p.resetPeakUsage();
        }
    }

    /** The sum of the heap pools' peaks since the last reset, in bytes (an upper bound: pools peak at different times). */
    private static long peakHeap() {
        long peak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                peak += p.getPeakUsage().getUsed();
            }
        }
        return peak;
    }
}

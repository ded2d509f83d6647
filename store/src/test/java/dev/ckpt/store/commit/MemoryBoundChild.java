package dev.ckpt.store.commit;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStores;

import com.sun.management.GarbageCollectionNotificationInfo;

import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Child JVM of {@code PipelineMemoryBoundTest}: writes a sparse checkpoint of {@code gib}
 * GiB (zeros, with the chunk's index every 8 MiB so every chunk is distinct and uploaded),
 * saves it with the default configuration into a local store, and prints
 * {@code saved <logicalBytes> <newChunks> <peakHeapBytes> ... afterGc <bytes>}. Run with a
 * small {@code -Xmx}. Args: source dir, store dir, GiB, and optionally a directory to restore
 * it into, which adds {@code restored <bytes> <peakHeapBytes> afterGc <bytes>} (the
 * restore's own peaks: both are reset between the two).
 *
 * <p>Two measures of the heap: the sum of the heap pools' peaks, an upper bound that counts
 * garbage not yet collected (G1 lets it grow towards {@code -Xmx} in a longer run, so it
 * says more about the collector than about the save), and the largest heap in use just
 * after a collection ({@code afterGc}): what the run still held when garbage went, the
 * pipeline's chunks in flight among it.
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
        listenToCollections();
        resetPeaks();
        StoreConfig config = StoreConfig.defaults();
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.local(storeDir), config)) {
            SaveResult r = store.save(store.claimWriter("big"), SaveRequest.of(src, "big", 1));
            System.out.println("saved " + r.logicalBytes() + " " + r.newChunks() + " " + peakHeap() + " inflight "
                    + config.maxChunksInFlight() + " maxheap " + Runtime.getRuntime().maxMemory() + " afterGc " + afterGc());
            if (args.length > 3) {
                resetPeaks();
                dev.ckpt.store.restore.RestoreResult back = store.restore("latest", Path.of(args[3]));
                System.out.println("restored " + back.bytes() + " " + peakHeap() + " afterGc " + afterGc());
            }
        }
    }

    /** The largest heap in use after a collection since the last reset, bytes; -1 before any. */
    private static final AtomicLong MAX_AFTER_GC = new AtomicLong(-1);

    private static void listenToCollections() {
        Set<String> heapPools = new HashSet<>();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                heapPools.add(p.getName());
            }
        }
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ((NotificationEmitter) gc).addNotificationListener((n, handback) -> {
                if (!n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
                    return;
                }
                var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData()).getGcInfo();
                long used = 0;
                for (var e : info.getMemoryUsageAfterGc().entrySet()) {
                    if (heapPools.contains(e.getKey())) {
                        used += e.getValue().getUsed();
                    }
                }
                MAX_AFTER_GC.accumulateAndGet(used, Math::max);
            }, null, null);
        }
    }

    /** {@link #MAX_AFTER_GC}, once the notifications of collections already made had time to arrive. */
    private static long afterGc() throws InterruptedException {
        Thread.sleep(200); // delivered on a service thread, shortly after each collection
        return MAX_AFTER_GC.get();
    }

    private static void resetPeaks() {
        MAX_AFTER_GC.set(-1);
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

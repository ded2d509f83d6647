package dev.ckpt.store.testing;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStore;

import java.time.Duration;

/** Small-chunk configurations so tests exercise many chunks with little data. */
public final class Stores {
    private Stores() {
    }

    public static StoreConfig config(FakeClock clock) {
        return StoreConfig.builder()
                .chunkSize(16 * 1024)
                .parallelism(4)
                .maxChunksInFlight(4)
                .clock(clock)
                .sleeper(ms -> Thread.sleep(Math.min(ms, 2)))
                .gcGrace(Duration.ofMinutes(60))
                .gcLease(Duration.ofMinutes(5))
                .gcDeleteBatch(7)
                .build();
    }

    public static CheckpointStore open(ObjectStore store, FakeClock clock) {
        return CheckpointStore.open(store, config(clock));
    }
}

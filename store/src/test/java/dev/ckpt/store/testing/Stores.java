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
        return StoreConfig.defaults()
                .withChunkSize(16 * 1024)
                .withParallelism(4)
                .withMaxChunksInFlight(4)
                .withClock(clock)
                .withSleeper(ms -> Thread.sleep(Math.min(ms, 2)))
                .withGcGrace(Duration.ofMinutes(60))
                .withGcLease(Duration.ofMinutes(5))
                .withGcDeleteBatch(7);
    }

    public static CheckpointStore open(ObjectStore store, FakeClock clock) {
        return CheckpointStore.open(store, config(clock));
    }
}

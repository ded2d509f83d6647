package dev.ckpt.store;

import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.objectstore.ObjectStores;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A GC process for {@link CrossProcessSaveAndGcTest}: runs GC with a zero grace age in a
 * loop until the stop file appears, then prints how many objects it deleted.
 * Usage: {@code GcChild STORE_DIR STOP_FILE}
 */
public final class GcChild {
    public static void main(String[] args) throws Exception {
        Path stop = Path.of(args[1]);
        StoreConfig config = StoreConfig.defaults().withChunkSize(16 * 1024).withGcGrace(Duration.ZERO)
                .withGcDeleteBatch(5);
        int runs = 0;
        long deleted = 0;
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.local(Path.of(args[0])), config)) {
            Files.createFile(Path.of(args[1] + ".ready"));
            while (!Files.exists(stop)) {
                try {
                    GcResult r = store.gc(GcRequest.collect());
                    runs++;
                    deleted += r.deletedKeys().size();
                    Files.writeString(Path.of(args[1] + ".runs"), Integer.toString(runs));
                } catch (CommitConflictException e) {
                    // contention on ROOT: try again
                }
                Thread.sleep(2);
            }
        }
        System.out.println("gc runs=" + runs + " deleted=" + deleted);
    }
}

package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStores;

/**
 * The trainer in a JVM of its own, as {@code bin/ckpt-train} runs it (signal handlers
 * installed), with its object store wrapped in a {@link TracingStore}: every write is
 * printed to stderr as it starts and takes {@code -Dckpt.test.writeLatencyMs} (default 0),
 * so the test can kill the process in the middle of an upload or a commit.
 */
public final class TrainerChild {
    private TrainerChild() {
    }

    public static void main(String[] args) {
        Djl.configure();
        long latency = Long.getLong("ckpt.test.writeLatencyMs", 0);
        int code = Trainer.run(args, System.out, System.err, System.getenv(),
                url -> CheckpointStore.open(new TracingStore(ObjectStores.open(url), System.err, latency), StoreConfig.defaults()),
                true);
        System.out.flush();
        System.exit(code);
    }
}

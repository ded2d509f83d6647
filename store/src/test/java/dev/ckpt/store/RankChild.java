package dev.ckpt.store;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.objectstore.ObjectStores;

import java.nio.file.Path;
import java.time.Duration;

/**
 * One rank as its own process, for {@link MultiRankProcessTest} and the ranks benchmark:
 * joins the run as a rank of the job and saves its directory as its part of the step
 * (with world size 1: claims the run and saves plainly).
 * Prints {@code committed <id> <ms>} and exits 0, or prints the error and exits with its
 * {@link ExitCode}. Usage: {@code RankChild STORE_URL RUN JOB STEP RANK WORLD_SIZE DIR TIMEOUT_MS [CHUNK_SIZE]}
 */
public final class RankChild {
    public static void main(String[] a) {
        StoreConfig config = StoreConfig.defaults();
        if (a.length > 8) {
            config = config.withChunkSize(Integer.parseInt(a[8]));
        }
        String local = System.getenv("LOCAL_WORLD_SIZE"); // torchrun: ranks on this machine share its cores
        if (local != null) {
            config = config.withParallelism(Math.max(1, Runtime.getRuntime().availableProcessors() / Integer.parseInt(local)));
        }
        long t0 = System.nanoTime();
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.open(a[0]), config)) {
            int n = Integer.parseInt(a[5]);
            SaveRequest req = SaveRequest.of(Path.of(a[6]), a[1], Long.parseLong(a[3]));
            SaveResult r;
            if (n == 1) { // one process: a plain save, as ckpt-tool push does
                r = store.save(store.claimWriter(a[1]), req);
            } else {
                WriterToken w = store.joinRun(a[1], a[2]);
                r = store.save(w, req.withShard(new SaveRequest.Shard(Integer.parseInt(a[4]), n,
                        Duration.ofMillis(Long.parseLong(a[7])))));
            }
            System.out.println("committed " + r.checkpointId() + " " + (System.nanoTime() - t0) / 1_000_000);
            System.out.flush();
            System.exit(0);
        } catch (RuntimeException e) {
            System.out.println("error " + e.getClass().getSimpleName() + ": " + e.getMessage());
            System.out.flush();
            System.exit(ExitCode.of(e).code());
        }
    }
}

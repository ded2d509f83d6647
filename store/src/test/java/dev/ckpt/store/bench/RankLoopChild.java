package dev.ckpt.store.bench;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.objectstore.ObjectStores;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A long-lived rank for {@link RanksBenchmark}: joins the run as a rank of the job once, then
 * for each line {@code save STEP DIR} on stdin saves DIR as its part of STEP and answers
 * {@code ok STEP ID MS} or {@code err STEP EXIT MESSAGE}, as a training process saves step
 * after step. Usage: {@code RankLoopChild STORE_URL RUN JOB RANK WORLD_SIZE TIMEOUT_MS CHUNK_SIZE}
 */
public final class RankLoopChild {
    public static void main(String[] a) throws Exception {
        StoreConfig config = StoreConfig.defaults().withChunkSize(Integer.parseInt(a[6]));
        int rank = Integer.parseInt(a[3]);
        int n = Integer.parseInt(a[4]);
        Duration timeout = Duration.ofMillis(Long.parseLong(a[5]));
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.open(a[0]), config)) {
            WriterToken w = store.joinRun(a[1], a[2]);
            System.out.println("ready " + w.epoch());
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] cmd = line.split(" ", 3);
                long step = Long.parseLong(cmd[1]);
                long t0 = System.nanoTime();
                try {
                    SaveResult r = store.save(w, SaveRequest.of(Path.of(cmd[2]), a[1], step)
                            .withShard(new SaveRequest.Shard(rank, n, timeout)));
                    System.out.println("ok " + step + " " + r.checkpointId() + " " + (System.nanoTime() - t0) / 1_000_000);
                } catch (RuntimeException e) {
                    System.out.println("err " + step + " " + ExitCode.of(e).code() + " "
                            + String.valueOf(e.getMessage()).replace('\n', ' '));
                }
                System.out.flush();
            }
        }
    }
}

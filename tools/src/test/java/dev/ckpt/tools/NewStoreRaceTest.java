package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Ranks of one job push into a store that does not exist yet, all at once. One rank's
 * command fails (here: an archive that is not an export); it removes only the directories
 * it created itself, never the store the other rank is writing into, and the other rank's
 * push succeeds every time.
 */
class NewStoreRaceTest {
    @TempDir
    Path tmp;

    @Test
    void aFailingCommandNeverRemovesTheNewStoreAnotherRankIsPushingInto() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        Path garbage = tmp.resolve("garbage.tar.zst");
        Files.write(garbage, com.github.luben.zstd.Zstd.compress("not a tar".getBytes()));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 40; round++) {
                String store = tmp.resolve("job-" + round).resolve("store").toString();
                CyclicBarrier start = new CyclicBarrier(2);
                Future<Cli.Result> failing = pool.submit(() -> {
                    start.await();
                    return cli.run("import", store, garbage.toString(), "--run", "other", "--step", "1");
                });
                Future<Cli.Result> pushing = pool.submit(() -> {
                    start.await();
                    return cli.run("push", store, src.toString(), "--run", "r", "--step", "1");
                });
                Cli.Result push = pushing.get(60, TimeUnit.SECONDS);
                assertEquals(ExitCode.ERROR, failing.get(60, TimeUnit.SECONDS).code());
                assertEquals(0, push.code(), "round " + round + ": " + push);
                Cli.Result ls = cli.run("ls", store, "--json");
                assertEquals(0, ls.code(), "round " + round + ": " + ls);
                assertEquals(1, ls.json().get("checkpoints").size(), ls.out());
                assertEquals("r", ls.json().get("checkpoints").get(0).get("run").asText(), ls.out());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.bench.ThrottledLink;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deadline-aware preemption against a real S3 server behind a {@link ThrottledLink}: the
 * trainer measures its first save through the link, is stopped at step 15, and starts the
 * save of step 15 only if its estimate fits before {@code --preempt-deadline}. The numbers
 * leave wide margins (a save over the slow link takes many times the deadline; over the fast
 * one a small fraction of it), and the assertions are on the decision and the store, not on
 * times, so a slow shared machine does not change the outcome.
 */
class DeadlineAwarePreemptionTest {
    static S3ProxyServer server;
    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("train");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** What a run did after the stop request: the keys it wrote from then on. */
    private record Run(Result result, List<String> writtenAfterSignal) {
    }

    /**
     * Trains run "t" through a link of {@code bytesPerSecond} (a bucket of {@code depth} bytes),
     * saving every 10 steps; at step 15, once step 10 has committed, requests SIGTERM.
     */
    private Run preemptedAtStep15(String prefix, long bytesPerSecond, long depth, String deadline) throws Exception {
        S3Config direct = server.config("train", prefix, S3Config.Client.AWS, S3Config.Http.APACHE);
        try (ThrottledLink link = new ThrottledLink(server.endpoint().getPort(), bytesPerSecond, depth)) {
            S3Config throttled = S3Config.fromUrl("s3://train/" + prefix,
                            Map.of("AWS_ENDPOINT_URL", "http://127.0.0.1:" + link.port()))
                    .withCredentials(server.accessKey(), server.secretKey())
                    .withClient(S3Config.Client.AWS, S3Config.Http.APACHE);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
            Preemption p = new Preemption(errStream);
            TracingStore[] seen = new TracingStore[1];
            int[] mark = {-1};
            PrintStream outStream = TrainerRuns.lineWatcher(out, line -> {
                if (line.startsWith("step 15 ")) {
                    // the training thread waits here (no save can start) until step 10 is in ROOT
                    awaitCommitted(direct);
                    mark[0] = seen[0].writtenKeys().size();
                    p.request("SIGTERM");
                }
            });
            String[] args = {"--store", "s3://train/" + prefix, "--staging", tmp.resolve("staging-" + prefix).toString(),
                    "--run", "t", "--steps", "100000", "--save-every", "10", "--log-every", "5",
                    "--preempt-deadline", deadline};
            int code = Trainer.run(TrainOptions.parse(args, Map.of()), outStream, errStream,
                    url -> CheckpointStore.open(seen[0] = new TracingStore(S3ObjectStores.open(throttled), null, 0),
                            StoreConfig.defaults()), p);
            Result r = new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
            assertTrue(mark[0] >= 0, "the stop request was never made:\n" + r.all());
            List<String> keys = seen[0].writtenKeys();
            return new Run(r, keys.subList(mark[0], keys.size()));
        }
    }

    private static void awaitCommitted(S3Config cfg) {
        long end = System.nanoTime() + 180_000_000_000L;
        try (CheckpointStore s = CheckpointStore.open(S3ObjectStores.open(cfg), StoreConfig.defaults())) {
            while (s.list("t").isEmpty()) {
                if (System.nanoTime() > end) {
                    throw new AssertionError("the save of step 10 did not commit within 180 s");
                }
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static List<CheckpointEntry> checkpoints(String prefix) {
        S3Config cfg = server.config("train", prefix, S3Config.Client.AWS, S3Config.Http.APACHE);
        try (CheckpointStore s = CheckpointStore.open(S3ObjectStores.open(cfg), StoreConfig.defaults())) {
            return s.list("t");
        }
    }

    @Test
    void overASlowLinkASaveEstimatedToMissTheDeadlineIsNotStartedAndThePreviousCheckpointStaysLatest() throws Exception {
        // ~200 KiB changes each step: at 32 KB/s a save takes some 6 s, the deadline is 1 s
        Run run = preemptedAtStep15("slow", 32_000, 8_192, "1s");
        Result r = run.result();
        assertEquals(75, r.code(), r.all());
        String line = r.lines().stream().filter(l -> l.startsWith("preempted: ")).findFirst()
                .orElseThrow(() -> new AssertionError(r.all()));
        Matcher m = Pattern.compile("preempted: SIGTERM at step 15; not saving step 15: it would take an estimated "
                + "([\\d.]+) s \\(upload [\\d.]+ s \\([^)]+ at [^)]+/s\\) \\+ commit .*\\), more than the ([\\d.]+) s left of --preempt-deadline 1s; "
                + "the latest checkpoint stays (t-s10-\\S+); exiting 75").matcher(line);
        assertTrue(m.matches(), line);
        assertTrue(Double.parseDouble(m.group(1)) > Double.parseDouble(m.group(2)), line);
        assertTrue(r.lines().stream().noneMatch(l -> l.startsWith("saving step")), r.out());
        assertEquals(List.of(), run.writtenAfterSignal(), "no chunk, manifest or ROOT written after the stop request");
        List<CheckpointEntry> cps = checkpoints("slow");
        assertEquals(1, cps.size(), cps.toString());
        assertEquals(m.group(3), cps.get(0).id());
        assertEquals(10, cps.get(0).step());
    }

    @Test
    void overAFastLinkTheSaveIsTakenCommitsAndPrintsItsEstimateAndActualTime() throws Exception {
        // the same save over 50 MB/s takes well under a second; the deadline is a minute
        Run run = preemptedAtStep15("fast", 50_000_000, 1 << 20, "60s");
        Result r = run.result();
        assertEquals(75, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*\nsaving step 15: estimated [\\d.]+ s, deadline in [\\d.]+ s \\(upload [\\d.]+ s "
                + "\\([^)]+ at [^)]+/s\\) \\+ commit [\\d.]+ s \\+ staging [\\d.]+ s \\+ margin [\\d.]+ s\\)\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*\nsaving step 15: committed in [\\d.]+ s \\(estimated [\\d.]+ s\\)\n"
                + "preempted: SIGTERM at step 15; committed checkpoint t-s15-\\S+ in [\\d.]+ s from the signal; exiting 75 .*"), r.out());
        assertTrue(run.writtenAfterSignal().stream().anyMatch(k -> k.startsWith("manifests/")),
                run.writtenAfterSignal().toString());
        List<CheckpointEntry> cps = checkpoints("fast");
        assertEquals(List.of(10L, 15L), cps.stream().map(CheckpointEntry::step).toList());
    }

    @Test
    void beforeAnySaveHasCommittedThePreemptionSaveIsTriedAndSaysItHasNoEstimate() {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Preemption p = new Preemption(quiet);
        Result r = TrainerRuns.inProcess(s -> s, p, line -> {
            if (line.startsWith("step 5 ")) {
                p.request("SIGTERM");
            }
        }, "--store", tmp.resolve("store").toString(), "--staging", tmp.resolve("staging").toString(), "--run", "t",
                "--steps", "100000", "--save-every", "100000", "--log-every", "5", "--preempt-deadline", "60s");
        assertEquals(75, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*\nsaving step 5: no estimate \\(no save of this process has committed yet\\), "
                + "deadline in [\\d.]+ s; if it has not committed by then it is abandoned\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*\nsaving step 5: committed in [\\d.]+ s\n"
                + "preempted: SIGTERM at step 5; committed checkpoint t-s5-\\S+ in [\\d.]+ s from the signal; exiting 75 .*"), r.out());
    }
}

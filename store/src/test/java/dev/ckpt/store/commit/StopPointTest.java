package dev.ckpt.store.commit;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ranks' stop point: the first proposal of a job wins, later ones read it; a new job starts clean. */
class StopPointTest {
    @TempDir
    Path tmp;

    @Test
    void theFirstProposalOfAJobWinsAndARequeuedJobHasItsOwn() {
        ObjectStore os = ObjectStores.local(tmp);
        try (CheckpointStore s = CheckpointStore.open(os, StoreConfig.defaults())) {
            s.init();
            WriterToken job1 = s.joinRun("r", "job-1");
            assertEquals(Optional.empty(), s.readStop(job1));
            StopPoint first = new StopPoint(120, 2, "SIGUSR1", Instant.parse("2026-01-01T00:00:50Z"));
            assertEquals(first, s.proposeStop(job1, first));
            WriterToken sameJob = s.joinRun("r", "job-1");
            assertEquals(job1.epoch(), sameJob.epoch());
            assertEquals(first, s.proposeStop(sameJob, new StopPoint(90, 0, "SIGTERM", null)), "a later proposal takes the first");
            assertEquals(Optional.of(first), s.readStop(sameJob));
            assertEquals("runs/r/stop-e" + job1.epoch() + ".json", StopPoint.key(job1));
            assertTrue(os.head(StopPoint.key(job1)).isPresent());

            WriterToken job2 = s.joinRun("r", "job-2"); // the requeued job: a new epoch, no stop yet
            assertEquals(Optional.empty(), s.readStop(job2));
            StopPoint second = new StopPoint(200, 1, "SIGTERM", null);
            assertEquals(second, s.proposeStop(job2, second));
        }
    }

    /**
     * A stop point whose proposer saves no part says so in one field, written only then: a stop point of an
     * older version (no field) reads as "saves its part", and one written by this version for a proposer that
     * saves its part is byte for byte what the older version wrote.
     */
    @Test
    void aProposerThatSavesNoPartIsRecordedAndOlderStopPointsStillRead() {
        ObjectStore os = ObjectStores.local(tmp);
        try (CheckpointStore s = CheckpointStore.open(os, StoreConfig.defaults())) {
            s.init();
            WriterToken w = s.joinRun("r", "job-1");
            StopPoint none = new StopPoint(30, 1, "SIGTERM", Instant.parse("2026-01-01T00:00:50Z"), true);
            assertEquals(none, s.proposeStop(w, none));
            StopPoint read = s.readStop(w).orElseThrow();
            assertTrue(read.noCheckpointCanComplete(), read.toString());
            assertTrue(new String(os.get(StopPoint.key(w)).data(), StandardCharsets.UTF_8).replaceAll("\\s", "")
                    .contains("\"proposerSavesNoPart\":true"));

            WriterToken older = s.joinRun("r", "job-2");
            os.put(StopPoint.key(older), ("{\"step\":40,\"rank\":0,\"reason\":\"SIGUSR1\","
                    + "\"deadline\":\"2026-01-01T00:00:50Z\"}").getBytes(StandardCharsets.UTF_8));
            StopPoint old = s.readStop(older).orElseThrow();
            assertEquals(new StopPoint(40, 0, "SIGUSR1", Instant.parse("2026-01-01T00:00:50Z")), old);
            assertTrue(!old.noCheckpointCanComplete());
            assertEquals(new StopPoint(40, 0, "SIGUSR1", null), new StopPoint(40, 0, "SIGUSR1", null, false));
            String saves = new String(dev.ckpt.store.manifest.Json.write(new StopPoint(40, 0, "SIGUSR1", null)),
                    StandardCharsets.UTF_8);
            assertEquals("{\"step\":40,\"rank\":0,\"reason\":\"SIGUSR1\"}", saves.replaceAll("\\s", ""));
        }
    }

    /** A rank that failed says so in its stop point, which implies it saves no part; older readers see only that. */
    @Test
    void aProposerThatFailedIsRecordedAndReadsAsSavingNoPart() {
        ObjectStore os = ObjectStores.local(tmp);
        try (CheckpointStore s = CheckpointStore.open(os, StoreConfig.defaults())) {
            s.init();
            WriterToken w = s.joinRun("r", "job-1");
            StopPoint failed = StopPoint.failed(30, 1, "rank 1 failed at step 30: disk full",
                    Instant.parse("2026-01-01T00:00:50Z"));
            assertEquals(failed, s.proposeStop(w, failed));
            StopPoint read = s.readStop(w).orElseThrow();
            assertEquals(failed, read);
            assertTrue(read.proposerHasFailed() && read.noCheckpointCanComplete(), read.toString());
            String json = new String(os.get(StopPoint.key(w)).data(), StandardCharsets.UTF_8).replaceAll("\\s", "");
            assertTrue(json.contains("\"proposerSavesNoPart\":true") && json.contains("\"proposerFailed\":true"), json);
            // a stop signalled on another rank is not a failure
            assertTrue(!new StopPoint(30, 1, "SIGTERM", null, true).proposerHasFailed());
            assertThrows(IllegalArgumentException.class, () -> new StopPoint(30, 1, "x", null, null, true));
        }
    }

    /** A failed rank's reason names paths: every rank prints it on one line, and it reads back equal to what was written. */
    @Test
    void aReasonHoldingALineBreakIsKeptOnOneLineAndReadsBackEqual() {
        ObjectStore os = ObjectStores.local(tmp);
        try (CheckpointStore s = CheckpointStore.open(os, StoreConfig.defaults())) {
            s.init();
            WriterToken w = s.joinRun("r", "job-2");
            StopPoint failed = StopPoint.failed(7, 2, "cannot read /data/a\nrank 0: fake\u001b[2J",
                    Instant.parse("2026-01-01T00:00:50Z"));
            assertEquals("cannot read /data/a\\u000Arank 0: fake\\u001B[2J", failed.reason());
            assertEquals(failed, s.proposeStop(w, failed));
            assertEquals(failed, s.readStop(w).orElseThrow());
            assertEquals(failed, new StopPoint(7, 2, failed.reason(), failed.deadline(), true, true), "escaped once");
        }
    }

    @Test
    void anUnreadableStopPointIsCorruptAndNamed() {
        ObjectStore os = ObjectStores.local(tmp);
        try (CheckpointStore s = CheckpointStore.open(os, StoreConfig.defaults())) {
            s.init();
            WriterToken w = s.joinRun("r", "job-1");
            os.put(StopPoint.key(w), "{\"step\": \"soon\"}".getBytes(StandardCharsets.UTF_8));
            CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> s.readStop(w));
            assertTrue(e.getMessage().startsWith("stop point runs/r/stop-e" + w.epoch() + ".json is not valid JSON"), e.getMessage());
        }
    }

    /**
     * Ranks signalled at once propose different steps at the same moment, each through its own
     * store client: every one gets the same stop point, on the local store and over HTTP on S3Proxy.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"local", "s3proxy"})
    void ranksProposingAtOnceAllGetTheSameStop(String target) throws Exception {
        dev.ckpt.store.objectstore.s3.S3ProxyServer server = target.equals("s3proxy")
                ? dev.ckpt.store.objectstore.s3.S3ProxyServer.start(tmp.resolve("s3")) : null;
        try {
            java.util.function.Supplier<ObjectStore> open = server == null ? () -> ObjectStores.local(tmp.resolve("store"))
                    : () -> dev.ckpt.store.objectstore.s3.S3ObjectStores.open(server.config("stops", "p",
                    dev.ckpt.store.objectstore.s3.S3Config.Client.AWS, dev.ckpt.store.objectstore.s3.S3Config.Http.APACHE));
            if (server != null) {
                server.createBucket("stops");
            }
            int ranks = 4;
            for (int round = 0; round < 5; round++) {
                String job = "job-" + round;
                java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(ranks);
                java.util.List<java.util.concurrent.CompletableFuture<StopPoint[]>> got = new java.util.ArrayList<>();
                for (int r = 0; r < ranks; r++) {
                    int rank = r;
                    got.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try (CheckpointStore s = CheckpointStore.open(open.get(), StoreConfig.defaults())) {
                            WriterToken w = s.joinRun("r", job);
                            start.await();
                            StopPoint won = s.proposeStop(w, new StopPoint(100 + rank, rank, "SIGUSR1", null));
                            return new StopPoint[]{won, s.readStop(w).orElseThrow()};
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }, java.util.concurrent.Executors.newSingleThreadExecutor()));
                }
                StopPoint winner = got.get(0).get()[0];
                assertTrue(winner.step() >= 100 && winner.step() < 100 + ranks, winner.toString());
                for (var f : got) {
                    assertEquals(winner, f.get()[0], "round " + round + ": every rank's proposal returns the one stop point");
                    assertEquals(winner, f.get()[1], "round " + round + ": and reading it gives the same");
                }
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }
}

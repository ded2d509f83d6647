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
}

package dev.ckpt.trainer;

import dev.ckpt.store.ForgetRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GC killed in its sweep holds its lease for up to 10 minutes. A preempted trainer whose
 * save needs objects on that GC's delete list says which GC holds it up and until when, as
 * soon as the wait starts, and gives up by --preempt-deadline naming it.
 */
class TrainerGcLeaseTest {
    @TempDir
    Path tmp;

    private String[] args(String... more) {
        List<String> all = new ArrayList<>(List.of("--store", tmp.resolve("store").toString(), "--staging",
                tmp.resolve("staging").toString(), "--run", "t", "--frozen-mb", "1"));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void aPreemptionSaveThatAGcHoldsUpSaysWhichGcAndGivesUpByTheDeadline() throws Exception {
        // a first job commits the frozen block; then its checkpoints are forgotten
        Result first = TrainerRuns.inProcess(args("--steps", "10", "--save-every", "10"));
        assertEquals(0, first.code(), first.all());
        ObjectStore objects = ObjectStores.open(tmp.resolve("store").toString());
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.open(tmp.resolve("store").toString()),
                StoreConfig.defaults())) {
            s.forget(ForgetRequest.of(s.list("t").stream().map(CheckpointEntry::id).toList()));
        }
        // a GC sealed every object for deletion and was killed before deleting any
        List<String> dead = new ArrayList<>();
        objects.list("chunks/").stream().map(ObjectInfo::key).forEach(dead::add);
        objects.list("manifests/").stream().map(ObjectInfo::key).forEach(dead::add);
        String owner = "0badc0de@node17 pid 4242";
        Instant expiry = Instant.now().plus(Duration.ofMinutes(10));
        new RootStore(objects).change(r -> r.withGc(new GcState(GcState.Phase.SWEEP, r.gc().generation() + 1, owner,
                expiry, dead, r.gc().finished())));

        // a new job of the run (the same frozen block) is preempted before its first periodic save
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Preemption p = new Preemption(quiet);
        long[] requestedAt = {0};
        Result r = TrainerRuns.inProcess(s -> s, p, line -> {
            if (line.startsWith("step 5 ")) {
                requestedAt[0] = System.nanoTime();
                p.request("SIGTERM");
            }
        }, args("--steps", "100000", "--save-every", "100000", "--log-every", "5", "--preempt-deadline", "10s"));
        long stoppedAfter = (System.nanoTime() - requestedAt[0]) / 1_000_000;
        assertEquals(75, r.code(), r.all());
        // 10 s: staging and uploading 1 MiB must reach the commit (where the GC holds it) before the deadline
        assertTrue(stoppedAfter < 20_000, "gave up by the deadline: " + stoppedAfter + " ms after the stop request");
        String notice = r.err().lines().filter(l -> l.contains("waits for GC generation")).findFirst()
                .orElseThrow(() -> new AssertionError("no notice of the GC wait:\n" + r.all()));
        assertTrue(notice.startsWith("ckpt-train: save of step ") && notice.contains(owner)
                && notice.contains(expiry.toString()), notice);
        String preempted = r.out().lines().filter(l -> l.startsWith("preempted: ")).findFirst().orElseThrow();
        assertTrue(preempted.matches("preempted: SIGTERM at step \\d+; --preempt-deadline 10s passed while the save of step"
                + " \\d+ (had not committed|failed).*" + owner + ".*; it was abandoned and the latest checkpoint stays none.*"),
                preempted);
        assertEquals(owner, new RootStore(objects).read().state().gc().owner(), "the live lease was left alone");
    }
}

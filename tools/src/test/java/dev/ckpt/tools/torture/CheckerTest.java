package dev.ckpt.tools.torture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.ForgetRequest;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.objectstore.ObjectStores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The torture checker reports each kind of broken promise, and nothing on a sound store. */
class CheckerTest {
    private static final long SEED = 42;

    @TempDir
    Path tmp;

    private CheckpointStore store;
    private final List<JsonNode> journal = new ArrayList<>();

    @BeforeEach
    void open() {
        store = CheckpointStore.open(ObjectStores.local(tmp.resolve("store")), TortureChild.config());
        store.init();
    }

    @AfterEach
    void close() {
        store.close();
    }

    private WriterToken claim(String run, String writer) {
        WriterToken w = store.claimWriter(run, writer);
        journal.add(event("claim", "run", run, "epoch", w.epoch(), "writer", writer, "t", Events.now()));
        return w;
    }

    private SaveResult save(WriterToken w, long step, long dataSeed) throws Exception {
        Path dir = tmp.resolve("src-" + w.writerId() + "-" + step + "-" + dataSeed);
        Content.write(dir, dataSeed, w.run(), step);
        long t0 = Events.now();
        SaveResult r = store.save(w, SaveRequest.of(dir, w.run(), step));
        journal.add(event("commit", "run", w.run(), "epoch", w.epoch(), "writer", w.writerId(), "step", step,
                "id", r.checkpointId(), "t0", t0, "t", Events.now()));
        return r;
    }

    private static ObjectNode event(String ev, Object... kv) {
        ObjectNode n = Events.JSON.createObjectNode().put("ev", ev).put("child", "test");
        for (int i = 0; i < kv.length; i += 2) {
            n.set((String) kv[i], Events.JSON.valueToTree(kv[i + 1]));
        }
        return n;
    }

    private Checker.Result check() throws Exception {
        return Checker.check(store, SEED, journal, Files.createDirectories(tmp.resolve("scratch")));
    }

    @Test
    void aSoundStoreHasNoViolation() throws Exception {
        WriterToken a = claim("a", "w1");
        save(a, 1, SEED);
        save(a, 2, SEED);
        Checker.Result r = check();
        assertEquals(List.of(), r.violations());
        assertEquals(2, r.restores());
    }

    @Test
    void aMissingChunkOfACommittedCheckpointIsReported() throws Exception {
        SaveResult s = save(claim("a", "w1"), 1, SEED);
        String chunk = store.manifest(store.resolve(s.checkpointId())).chunks().get(0);
        store.objectStore().delete(ChunkRef.keyOf(chunk));
        List<String> v = check().violations();
        assertTrue(v.stream().anyMatch(x -> x.contains(s.checkpointId()) && x.contains("does not restore")), v.toString());
        assertTrue(v.stream().anyMatch(x -> x.startsWith("deep verify") && x.contains("MISSING")), v.toString());
    }

    @Test
    void aCheckpointHoldingOtherBytesThanItsStepIsReported() throws Exception {
        SaveResult s = save(claim("a", "w1"), 1, SEED + 1); // saved from other content than (SEED, a, 1)
        List<String> v = check().violations();
        assertTrue(v.stream().anyMatch(x -> x.contains(s.checkpointId()) && x.contains("restores other bytes")), v.toString());
    }

    @Test
    void aCommitBeganAfterANewerClaimIsAFencedWriterCommitting() throws Exception {
        WriterToken old = claim("a", "w1");
        claim("a", "w2");
        // a journal saying w1 committed (with its old epoch) after w2's claim returned
        journal.add(event("commit", "run", "a", "epoch", old.epoch(), "writer", "w1", "step", 5L, "id", "a-s5-00000000",
                "t0", Events.now() + 10, "t", Events.now() + 20));
        List<String> v = check().violations();
        assertTrue(v.stream().anyMatch(x -> x.contains("a fenced writer committed")), v.toString());
    }

    @Test
    void aCheckpointFromASaveRefusedAsFencedIsReported() throws Exception {
        WriterToken w = claim("a", "w1");
        SaveResult s = save(w, 3, SEED);
        journal.add(event("fenced", "run", "a", "epoch", w.epoch(), "writer", "w1", "step", 3L, "t0", Events.now()));
        List<String> v = check().violations();
        assertTrue(v.stream().anyMatch(x -> x.contains(s.checkpointId()) && x.contains("refused as fenced")), v.toString());
    }

    @Test
    void aCommittedCheckpointGoneWithoutANewerOneIsLost() throws Exception {
        WriterToken w = claim("a", "w1");
        save(w, 1, SEED);
        SaveResult newest = save(w, 2, SEED);
        store.forget(new ForgetRequest(List.of(newest.checkpointId()), false)); // retention never drops the newest
        List<String> v = check().violations();
        assertTrue(v.stream().anyMatch(x -> x.contains(newest.checkpointId()) && x.contains("was lost")), v.toString());
        assertTrue(v.stream().noneMatch(x -> x.contains("step 1)") && x.contains("was lost")), v.toString());
    }

    @Test
    void anEpochClaimedTwiceAndACheckpointOfAnUnclaimedWriterAreReported() throws Exception {
        WriterToken w = store.claimWriter("a", "ghost"); // not in the journal
        SaveResult s = store.save(w, SaveRequest.of(dirOf("a", 1), "a", 1));
        journal.add(event("claim", "run", "b", "epoch", 1L, "writer", "x", "t", Events.now()));
        journal.add(event("claim", "run", "b", "epoch", 1L, "writer", "y", "t", Events.now()));
        List<String> v = check().violations();
        assertTrue(v.stream().anyMatch(x -> x.contains(s.checkpointId()) && x.contains("which no process claimed")), v.toString());
        assertTrue(v.stream().anyMatch(x -> x.contains("epoch 1 of run b was claimed 2 times")), v.toString());
        assertTrue(v.stream().anyMatch(x -> x.contains("ROOT's writer epoch of run b is absent")), v.toString());
    }

    @Test
    void aReaderReportAndANonStoreExceptionAreViolations() throws Exception {
        journal.add(event("violation", "text", "restore of checkpoint x failed while it stayed in ROOT"));
        journal.add(event("error", "what", "save", "kind", "NullPointerException", "ckpt", false, "message", "boom"));
        journal.add(event("error", "what", "gc", "kind", "GcLeaseHeldException", "ckpt", true, "message", "busy"));
        List<String> v = check().violations();
        assertEquals(2, v.size(), v.toString());
        assertTrue(v.get(0).contains("failed while it stayed in ROOT") && v.get(1).contains("NullPointerException"), v.toString());
    }

    private Path dirOf(String run, long step) {
        Path dir = tmp.resolve("src-" + run + "-" + step);
        Content.write(dir, SEED, run, step);
        return dir;
    }
}

package dev.ckpt.store;

import dev.ckpt.store.commit.RecoveryReport;
import dev.ckpt.store.commit.RecoveryReport.Decision;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ROOT cut short, emptied or replaced can be rebuilt from the manifests without losing a committed checkpoint. */
class RootRecoveryTest extends InMemoryFixture {
    private static final Duration QUIET = Duration.ofMinutes(15);

    private final Map<String, Path> sources = new TreeMap<>();
    private WriterToken writerA;

    /** Two runs, a GC that ran, one checkpoint dropped by retention; then the clock moves past the quiet period. */
    private Map<String, CheckpointEntry> populate() {
        writerA = store.claimWriter("a");
        WriterToken b = store.claimWriter("b");
        for (int step = 1; step <= 3; step++) {
            Path src = TestDirs.checkpoint(tmp.resolve("src-" + step), step, 2, 20_000);
            sources.put(store.save(writerA, SaveRequest.of(src, "a", step).withMetadata(Map.of("loss", "0." + step))).checkpointId(), src);
        }
        Path srcB = TestDirs.checkpoint(tmp.resolve("src-b"), 9, 1, 10_000);
        sources.put(store.save(b, SaveRequest.of(srcB, "b", 7)).checkpointId(), srcB);
        clock.advance(Duration.ofHours(2));
        store.gc(GcRequest.collect());
        clock.advance(Duration.ofHours(1));
        return store.root().checkpoints();
    }

    private byte[] damage(String how) {
        byte[] good = objects.get("ROOT").data();
        byte[] bad = switch (how) {
            case "empty" -> new byte[0];
            case "300" -> Arrays.copyOf(good, 300);
            case "{}" -> "{}".getBytes(StandardCharsets.UTF_8);
            case "garbage" -> "\u0000\u00ffnot json at all\n".repeat(20).getBytes(StandardCharsets.ISO_8859_1);
            // edited by hand (helper-140): an entry under another checkpoint's id, or without its run
            case "moved", "no run" -> edited(good, how);
            default -> throw new IllegalArgumentException(how);
        };
        objects.put("ROOT", bad);
        return bad;
    }

    private static byte[] edited(byte[] root, String how) {
        try {
            var json = new com.fasterxml.jackson.databind.ObjectMapper();
            var tree = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(root);
            var entries = (com.fasterxml.jackson.databind.node.ObjectNode) tree.get("checkpoints");
            String id = entries.fieldNames().next();
            if (how.equals("moved")) {
                entries.set(id.replaceFirst("-[0-9a-f]{8}$", "-aaaaaaaa"), entries.remove(id));
            } else {
                ((com.fasterxml.jackson.databind.node.ObjectNode) entries.get(id)).remove("run");
            }
            return json.writeValueAsBytes(tree);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"empty", "300", "{}", "garbage", "moved", "no run"})
    void aDamagedRootIsRebuiltFromTheManifestsAndOldWritersStayFenced(String how) {
        Map<String, CheckpointEntry> before = populate();
        long epochBefore = store.root().runs().get("a").writerEpoch();
        byte[] bad = damage(how);
        assertThrows(CorruptObjectException.class, () -> store.list(null));

        RecoveryReport dry = store.recover(false, QUIET, false);
        assertEquals(Decision.WOULD_REWRITE, dry.decision(), dry.message());
        assertEquals(RecoveryReport.Condition.DAMAGED, dry.condition());
        assertArrayEquals(bad, objects.get("ROOT").data(), "a dry run writes nothing");
        assertTrue(objects.list("recovery/").isEmpty(), "a dry run writes nothing");
        assertEquals(before.keySet(), dry.rebuilt().checkpoints().keySet());
        assertTrue(dry.message().contains("(the damaged ROOT is kept as " + dry.backupKey() + " first)"), dry.message());

        RecoveryReport r = store.recover(true, QUIET, false);
        assertEquals(Decision.REWRITTEN, r.decision(), r.message());
        assertEquals(dry.backupKey(), r.backupKey(), "the dry run names the key --apply writes");
        assertTrue(r.message().contains("the damaged ROOT is kept as " + r.backupKey()), r.message());
        assertEquals(before.keySet(), store.root().checkpoints().keySet());
        assertEquals(4, r.kept());
        assertEquals(0, r.skipped());
        for (CheckpointEntry e : before.values()) {
            CheckpointEntry now = store.root().checkpoints().get(e.id());
            assertEquals(e.manifestSha256(), now.manifestSha256());
            assertEquals(e.metadata(), now.metadata());
            Path out = tmp.resolve("out-" + how + "-" + e.id());
            store.restore(e.id(), out);
            TestDirs.assertSameTree(TestDirs.snapshot(sources.get(e.id())), out);
        }
        assertTrue(store.verify(VerifyRequest.deep()).ok());
        assertArrayEquals(bad, objects.get(r.backupKey()).data(), "the damaged ROOT is kept");

        assertTrue(r.writerEpoch() > epochBefore, r.writerEpoch() + " > " + epochBefore);
        Path src = TestDirs.checkpoint(tmp.resolve("late"), 5, 1, 1_000);
        assertThrows(FencedException.class, () -> store.save(writerA, SaveRequest.of(src, "a", 4)),
                "a writer that held the run before the damage stays fenced");
        WriterToken fresh = store.claimWriter("a");
        assertTrue(fresh.epoch() > r.writerEpoch());
        store.save(fresh, SaveRequest.of(src, "a", 4));
        clock.advance(Duration.ofHours(2));
        assertTrue(store.gc(GcRequest.collect()).generation() > 1, "GC generations go on after the one that ran before");
        assertTrue(store.verify(VerifyRequest.deep()).ok());
        assertEquals(Decision.NOTHING_TO_DO, store.recover(true, QUIET, true).decision());
    }

    @Test
    void aDamagedManifestAndOneMissingAChunkAreSkippedAndNamed() {
        Map<String, CheckpointEntry> before = populate();
        List<String> ids = before.keySet().stream().filter(id -> id.startsWith("a-")).sorted().toList();
        String damagedKey = Manifest.keyOf(ids.get(0));
        byte[] m = objects.get(damagedKey).data();
        objects.put(damagedKey, Arrays.copyOf(m, m.length / 2));
        Manifest second = store.manifest(before.get(ids.get(1)));
        String chunk = second.chunkRefs().values().stream()
                .filter(c -> store.manifest(before.get(ids.get(2))).chunkRefs().get(c.hash()) == null)
                .findFirst().orElseThrow().key();
        objects.delete(chunk);
        damage("300");
        clock.advance(Duration.ofMinutes(20)); // the damaged manifest is a write too
        RecoveryReport r = store.recover(true, QUIET, false);
        assertEquals(Decision.REWRITTEN, r.decision(), r.message());
        assertEquals(2, r.kept());
        RecoveryReport.Finding f0 = r.manifests().stream().filter(f -> f.key().equals(damagedKey)).findFirst().orElseThrow();
        assertFalse(f0.kept());
        assertTrue(f0.reason().startsWith("damaged") && f0.reason().contains(damagedKey), f0.reason());
        RecoveryReport.Finding f1 = r.manifests().stream().filter(f -> ids.get(1).equals(f.checkpointId())).findFirst().orElseThrow();
        assertFalse(f1.kept());
        assertTrue(f1.reason().contains("missing chunk " + chunk), f1.reason());
        // what becomes of the skipped, and the advice that still works (helper-120: "restore the object from a backup"
        // after --apply, when a readable ROOT is never rebuilt again; nothing said GC deletes their data)
        assertTrue(f0.reason().contains("put the manifest back from a backup before recover --apply"), f0.reason());
        assertTrue(r.message().contains("the skipped checkpoints are not in it, and GC deletes the data only they used"),
                r.message());
        assertEquals(2, store.list(null).size());
        assertTrue(store.verify(VerifyRequest.deep()).ok());
        assertTrue(store.root().runs().containsKey("a"));
    }

    /**
     * A save whose commit was refused leaves no manifest, so recover cannot bring it back as
     * committed: a writer fenced while it uploaded (a newer job claimed the run) came back as the
     * run's latest (helper-120).
     */
    @Test
    void aSaveFencedDuringItsUploadLeavesNoManifestForRecoverToBringBack() {
        Map<String, CheckpointEntry> before = populate();
        WriterToken zombie = store.claimWriter("z");
        WriterToken[] successor = new WriterToken[1];
        Path src = TestDirs.checkpoint(tmp.resolve("zombie"), 77, 2, 20_000);
        java.util.Set<String> manifestsBefore = new java.util.TreeSet<>();
        objects.list("manifests/").forEach(o -> manifestsBefore.add(o.key()));
        FencedException e = assertThrows(FencedException.class, () -> store.save(zombie, SaveRequest.of(src, "z", 200),
                new dev.ckpt.store.util.TransferListener() {
                    @Override
                    public void progress(long doneBytes, long totalBytes) {
                    }

                    @Override
                    public void committing(String checkpointId) {
                        if (successor[0] == null) {
                            successor[0] = store.claimWriter("z"); // the job that replaced it, as the zombie commits
                        }
                    }
                }));
        assertTrue(successor[0] != null && successor[0].epoch() > zombie.epoch(), e.getMessage());
        java.util.Set<String> manifestsAfter = new java.util.TreeSet<>();
        objects.list("manifests/").forEach(o -> manifestsAfter.add(o.key()));
        assertEquals(manifestsBefore, manifestsAfter, "the refused save's manifest is gone");
        damage("garbage");
        clock.advance(Duration.ofHours(1));
        RecoveryReport r = store.recover(true, QUIET, false);
        assertEquals(Decision.REWRITTEN, r.decision(), r.message());
        assertEquals(before.keySet(), store.root().checkpoints().keySet(), "nothing of run z comes back");
    }

    @Test
    void aHealthyRootIsNeverReplaced() {
        populate();
        byte[] root = objects.get("ROOT").data();
        for (boolean force : List.of(false, true)) {
            RecoveryReport r = store.recover(true, Duration.ZERO, force);
            assertEquals(Decision.NOTHING_TO_DO, r.decision());
            assertEquals(RecoveryReport.Condition.HEALTHY, r.condition());
            assertTrue(r.message().contains("nothing to do"), r.message());
        }
        assertArrayEquals(root, objects.get("ROOT").data());
    }

    @Test
    void recentWritesRefuseUnlessForcedOrTheQuietPeriodHasPassed() {
        populate();
        Path src = TestDirs.checkpoint(tmp.resolve("new"), 11, 1, 1_000);
        store.save(store.claimWriter("c"), SaveRequest.of(src, "c", 1));
        byte[] bad = damage("garbage");
        clock.advance(Duration.ofMinutes(5));
        for (boolean apply : List.of(false, true)) {
            RecoveryReport r = store.recover(apply, QUIET, false);
            assertEquals(Decision.REFUSED_RECENT_ACTIVITY, r.decision());
            assertTrue(r.message().contains(r.newestKey()) && r.message().contains("--force"), r.message());
        }
        assertArrayEquals(bad, objects.get("ROOT").data());
        assertEquals(Decision.REWRITTEN, store.recover(true, QUIET, true).decision());
        assertEquals(5, store.list(null).size());
    }

    /**
     * Another object at the key the damaged ROOT is to be kept under: nothing is replaced, as
     * the damaged bytes would be kept nowhere while the message said where (helper-140); the
     * same damaged bytes kept before are the same object, and recovery goes on.
     */
    @Test
    void anotherObjectWhereTheDamagedRootIsToBeKeptStopsTheRecovery() {
        populate();
        byte[] bad = damage("300");
        String key = store.recover(false, QUIET, false).backupKey();
        objects.put(key, "something else".getBytes(StandardCharsets.UTF_8));
        RecoveryReport r = store.recover(true, QUIET, false);
        assertEquals(Decision.CONFLICT, r.decision(), r.message());
        assertTrue(r.message().contains(key + ", where the damaged ROOT is kept first, holds other bytes"), r.message());
        assertArrayEquals(bad, objects.get("ROOT").data(), "ROOT not replaced");
        objects.put(key, bad); // the same bytes, as a recovery that stopped after its copy left them
        assertEquals(Decision.REWRITTEN, store.recover(true, QUIET, false).decision());
        assertArrayEquals(bad, objects.get(key).data());
    }

    @Test
    void aRootRepairedWhileRecoveryRunsIsNotOverwritten() {
        populate();
        byte[] good = objects.get("ROOT").data();
        damage("{}");
        objects.inject(FaultInjectingObjectStore.Op.PUT_IF_MATCH, k -> k.equals("ROOT") && repair(good),
                FaultInjectingObjectStore.Fault.ERROR_BEFORE, 1);
        RecoveryReport r = store.recover(true, QUIET, false);
        assertEquals(Decision.CONFLICT, r.decision(), r.message());
        assertArrayEquals(good, objects.get("ROOT").data(), "the repair stays");
    }

    private boolean repair(byte[] good) {
        objects.delegate().put("ROOT", good);
        return false;
    }

    @Test
    void aMissingRootIsCreatedAndAnEmptyStoreIsLeftAlone() {
        assertEquals(Decision.NOTHING_TO_DO, store.recover(true, Duration.ZERO, false).decision());
        assertTrue(objects.head("ROOT").isEmpty());
        Map<String, CheckpointEntry> before = populate();
        objects.delete("ROOT");
        RecoveryReport r = store.recover(true, QUIET, false);
        assertEquals(RecoveryReport.Condition.MISSING, r.condition());
        assertEquals(Decision.REWRITTEN, r.decision(), r.message());
        assertEquals(before.keySet(), store.root().checkpoints().keySet());
        assertNotNull(store.root().txn());
    }

    @Test
    void aRootWrittenByANewerVersionIsNotDamageAndIsLeftAlone() throws Exception {
        populate();
        com.fasterxml.jackson.databind.node.ObjectNode root =
                (com.fasterxml.jackson.databind.node.ObjectNode) dev.ckpt.store.manifest.Json.MAPPER.readTree(objects.get("ROOT").data());
        root.put("format", 2);
        byte[] newer = dev.ckpt.store.manifest.Json.MAPPER.writeValueAsBytes(root);
        objects.put("ROOT", newer);
        clock.advance(Duration.ofHours(1));
        assertThrows(dev.ckpt.store.error.UnsupportedFormatException.class, () -> store.recover(true, QUIET, true));
        assertArrayEquals(newer, objects.get("ROOT").data());
    }

    @Test
    void verifyReportsADamagedRootAsDamage() {
        populate();
        damage("300");
        VerifyReport v = store.verify(VerifyRequest.structural());
        assertFalse(v.ok());
        assertEquals(VerifyReport.Kind.ROOT_UNREADABLE, v.problems().get(0).kind());
        assertTrue(v.problems().get(0).message().contains("ckpt-tool recover"), v.problems().get(0).message());
        assertFalse(v.problems().get(0).message().contains("ROOT ROOT"), v.problems().get(0).message());
        assertEquals(RootState.KEY, v.problems().get(0).key());
    }
}

package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ckpt-tool recover rebuilds a damaged ROOT; every other command refuses it with one clear line. The S3 subclass runs the same against the in-process S3 server. */
class RecoverCliTest {
    @TempDir
    Path tmp;
    Cli cli;
    String store;
    final List<String> ids = new ArrayList<>();

    /** The store URL under test and the environment to reach it. */
    void setUpStore() {
        store = tmp.resolve("store").toString();
        cli = new Cli(Map.of(), "--progress", "none");
    }

    ObjectStore objects() {
        return ObjectStores.open(store);
    }

    @BeforeEach
    void setUp() {
        setUpStore();
    }

    private Path src(int seed) {
        return TestDirs.checkpoint(tmp.resolve("src-" + seed), seed, 2, 20_000);
    }

    private void populate() {
        for (int step = 1; step <= 2; step++) {
            Cli.Result r = cli.run("push", store, src(step).toString(), "--run", "r", "--step", "" + step, "--meta", "loss=0." + step);
            assertEquals(0, r.code(), r.toString());
            ids.add(r.out().trim());
        }
    }

    private byte[] damage(String how) {
        ObjectStore o = objects();
        byte[] good = o.get("ROOT").data();
        byte[] bad = switch (how) {
            case "empty" -> new byte[0];
            case "300" -> Arrays.copyOf(good, 300);
            case "{}" -> "{}".getBytes(StandardCharsets.UTF_8);
            case "format-only" -> "{\"format\":1}".getBytes(StandardCharsets.UTF_8);
            default -> "garbage\u0000".repeat(30).getBytes(StandardCharsets.ISO_8859_1);
        };
        o.put("ROOT", bad);
        return bad;
    }

    @ParameterizedTest
    @ValueSource(strings = {"empty", "300", "{}", "format-only", "garbage"})
    void aDamagedRootIsRefusedClearlyThenRecovered(String how) {
        populate();
        WriterToken old;
        try (CheckpointStore s = CheckpointStore.open(objects(), StoreConfig.defaults())) {
            old = s.claimWriter("r");
        }
        byte[] bad = damage(how);

        for (String[] args : List.of(new String[]{"ls", store}, new String[]{"restore", store, "latest", tmp.resolve("x").toString()},
                new String[]{"push", store, src(9).toString(), "--run", "r", "--step", "9"})) {
            Cli.Result r = cli.run(args);
            assertEquals(ExitCode.ERROR, r.code(), r.toString());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().contains("ckpt-tool recover " + objects().describe()) && !r.err().contains("ROOT ROOT"), r.err());
            assertFalse(CkptToolErrorMessagesTest.JAVA.matcher(r.err()).find() || r.err().contains("Deserialization")
                    || r.err().contains("`"), "no JSON-library wording: " + r.err());
        }
        Cli.Result verify = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, verify.code(), verify.toString());
        assertTrue(verify.out().contains("ROOT_UNREADABLE"), verify.out());
        assertArrayEquals(bad, objects().get("ROOT").data(), "no command overwrote ROOT");

        Cli.Result young = cli.run("recover", store, "--apply");
        assertEquals(ExitCode.FENCED_OR_CONFLICT, young.code(), "objects written seconds ago: a writer may be running; " + young);
        assertTrue(young.out().contains("--force"), young.out());
        assertArrayEquals(bad, objects().get("ROOT").data());

        Cli.Result dry = cli.run("recover", store, "--quiet-period", "0s");
        assertEquals(0, dry.code(), dry.toString());
        assertTrue(dry.out().startsWith("damaged: ROOT of "), dry.out());
        for (String id : ids) {
            assertTrue(dry.out().contains("kept     " + id), dry.out());
        }
        assertTrue(dry.out().contains("dry run: nothing written"), dry.out());
        assertArrayEquals(bad, objects().get("ROOT").data(), "the dry run wrote nothing");

        Cli.Result apply = cli.run("recover", store, "--apply", "--force", "--json");
        assertEquals(0, apply.code(), apply.toString());
        JsonNode j = apply.json();
        assertEquals("REWRITTEN", j.get("decision").asText());
        assertEquals(2, j.get("manifests").size());
        assertTrue(j.get("writerEpoch").asLong() > old.epoch());

        JsonNode ls = cli.run("ls", store, "--json").json();
        assertEquals(2, ls.get("checkpoints").size());
        Path out = tmp.resolve("out");
        assertEquals(0, cli.run("restore", store, "r:latest", out.toString()).code());
        TestDirs.assertSameTree(TestDirs.snapshot(src(2)), out);
        assertEquals(0, cli.run("verify", store, "--read-data").code());
        try (CheckpointStore s = CheckpointStore.open(objects(), StoreConfig.defaults())) {
            assertThrows(FencedException.class, () -> s.save(old, SaveRequest.of(src(3), "r", 3)),
                    "the writer that claimed the run before the damage stays fenced");
        }
        assertEquals(0, cli.run("push", store, src(3).toString(), "--run", "r", "--step", "3").code());
    }

    @Test
    void aHealthyRootIsLeftAsItIs() {
        populate();
        byte[] root = objects().get("ROOT").data();
        for (String[] args : List.of(new String[]{"recover", store}, new String[]{"recover", store, "--apply", "--force"})) {
            Cli.Result r = cli.run(args);
            assertEquals(0, r.code(), r.toString());
            assertTrue(r.out().contains("nothing to do"), r.out());
        }
        assertArrayEquals(root, objects().get("ROOT").data());
    }

    @Test
    void aDamagedManifestIsSkippedAndNamed() {
        populate();
        ObjectStore o = objects();
        String key = Manifest.keyOf(ids.get(0));
        byte[] m = o.get(key).data();
        o.put(key, Arrays.copyOf(m, m.length - 10));
        damage("{}");
        Cli.Result r = cli.run("recover", store, "--apply", "--force");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("skipped  " + key + "  damaged: "), r.out());
        assertTrue(r.out().contains("kept     " + ids.get(1)), r.out());
        assertTrue(r.out().contains("1 of 2 manifests kept"), r.out());
        JsonNode ls = cli.run("ls", store, "--json").json();
        assertEquals(1, ls.get("checkpoints").size());
        assertFalse(cli.run("recover", store, "--help").out().isEmpty());
    }

    /**
     * ROOT deleted or lost while the manifests and chunks are intact (found by a new user):
     * every command used to see an empty store (ls "no checkpoints", verify "ok", init and
     * training wrote a new ROOT, and GC would then have deleted every checkpoint). Now every
     * command refuses, naming ROOT and recover, and writes nothing; recover brings it back.
     */
    @Test
    void aMissingRootInAStoreWithManifestsIsRefusedByEveryCommandThenRecovered() {
        populate();
        objects().delete("ROOT");
        List<String> before = objects().list("").stream().map(o -> o.key()).toList();
        for (String[] args : List.of(new String[]{"ls", store}, new String[]{"show", store, "latest"},
                new String[]{"restore", store, "latest", tmp.resolve("x").toString()},
                new String[]{"push", store, src(9).toString(), "--run", "r", "--step", "9"},
                new String[]{"init", store}, new String[]{"gc", store, "--grace", "0s"},
                new String[]{"gc", store, "--dry-run", "--grace", "0s"}, new String[]{"stats", store},
                new String[]{"forget", store, "--keep-last", "1"}, new String[]{"pin", store, ids.get(0)})) {
            Cli.Result r = cli.run(args);
            assertEquals(ExitCode.ERROR, r.code(), String.join(" ", args) + ": " + r);
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().contains("ROOT of") && r.err().contains("is missing")
                    && r.err().contains("ckpt-tool recover " + objects().describe()), r.err());
        }
        Cli.Result verify = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, verify.code(), verify.toString());
        assertTrue(objects().head("ROOT").isEmpty(), "no command wrote a ROOT");
        assertEquals(before, objects().list("").stream().map(o -> o.key()).toList(), "nothing written or deleted");

        Cli.Result dry = cli.run("recover", store, "--quiet-period", "0s");
        assertEquals(0, dry.code(), dry.toString());
        assertTrue(dry.out().contains("dry run: nothing written"), dry.out());
        Cli.Result apply = cli.run("recover", store, "--apply", "--force");
        assertEquals(0, apply.code(), apply.toString());
        JsonNode ls = cli.run("ls", store, "--json").json();
        assertEquals(2, ls.get("checkpoints").size());
        assertEquals(0, cli.run("verify", store, "--read-data").code());
    }

    /**
     * An older ROOT put back by hand (a backup restored): ls shows the older checkpoints only,
     * and verify and doctor said all was well (helper-121) while GC refused. Now verify of the
     * whole store reports it (exit 3) and doctor fails its check, both naming the newer
     * manifest and recover; doing what they say brings the newer checkpoint back.
     */
    @Test
    void anOlderRootPutBackIsDamageToVerifyAndDoctorAndRecoverBringsTheNewerBack() {
        assertEquals(0, cli.run("push", store, src(1).toString(), "--run", "r", "--step", "1").code());
        byte[] olderRoot = objects().get("ROOT").data();
        Cli.Result second = cli.run("push", store, src(2).toString(), "--run", "r", "--step", "2");
        assertEquals(0, second.code(), second.toString());
        String newer = "manifests/" + second.out().trim() + ".json";
        Cli.Result fine = cli.run("doctor", store);
        assertEquals(0, fine.code(), fine.toString());
        assertTrue(fine.out().contains("ok   ROOT is not older than the store's checkpoints"), fine.out());
        objects().put("ROOT", olderRoot);

        Cli.Result verify = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, verify.code(), verify.toString());
        assertTrue(verify.out().contains("ROOT_OLDER") && verify.out().contains(newer + " (run 'r', step 2) was written by"
                + " writer epoch") && verify.out().contains("ckpt-tool recover " + objects().describe()), verify.out());
        assertEquals(0, cli.run("verify", store, "r:latest").code(), "a named checkpoint is checked alone");
        Cli.Result doctor = cli.run("doctor", store, "--json");
        assertEquals(ExitCode.ERROR, doctor.code(), doctor.toString());
        JsonNode check = null;
        for (JsonNode c : doctor.json().get("checks")) {
            if (c.get("check").asText().equals("ROOT is not older than the store's checkpoints")) {
                check = c;
            }
        }
        assertTrue(check != null && !check.get("ok").asBoolean() && check.get("detail").asText().contains(newer), doctor.out());

        objects().delete("ROOT"); // moved aside, as they say
        Cli.Result apply = cli.run("recover", store, "--apply", "--force");
        assertEquals(0, apply.code(), apply.toString());
        assertEquals(2, cli.run("ls", store, "--json").json().get("checkpoints").size());
        assertEquals(0, cli.run("verify", store).code());
        assertEquals(0, cli.run("doctor", store).code());
    }

    /**
     * A ROOT edited by hand whose entry names another step than its checkpoint's manifest: verify
     * said ok (stop 56's list). Now exit 3, the entry's problem on a line of its own and what to
     * do, naming this store; doing it (ROOT moved aside, recover) gives the manifest's step back.
     */
    @Test
    void aHandEditedRootEntryIsDamageToVerifyAndRecoverRebuildsItFromTheManifest() throws Exception {
        Cli.Result push = cli.run("push", store, src(1).toString(), "--run", "r", "--step", "1");
        assertEquals(0, push.code(), push.toString());
        String id = push.out().trim();
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(objects().get("ROOT").data());
        ((com.fasterxml.jackson.databind.node.ObjectNode) root.get("checkpoints").get(id)).put("step", 9);
        objects().put("ROOT", json.writeValueAsBytes(root));

        Cli.Result verify = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, verify.code(), verify.toString());
        assertTrue(verify.out().contains("ROOT_MISMATCH") && verify.out().contains("ROOT's entry for checkpoint " + id
                + " says run 'r', step 9, but its manifest manifests/" + id + ".json says run 'r', step 1"), verify.out());
        assertTrue(verify.out().contains("ckpt-tool recover " + objects().describe() + " --apply"), verify.out());
        Cli.Result asJson = cli.run("verify", store, "--json");
        assertEquals("ROOT_MISMATCH", asJson.json().get("problems").get(0).get("kind").asText(), asJson.out());

        objects().delete("ROOT"); // moved aside, as it says
        assertEquals(0, cli.run("recover", store, "--apply", "--force").code());
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").get(0).get("step").asInt());
        assertEquals(0, cli.run("verify", store).code());
    }

    /**
     * An initialized store whose ROOT is gone, with no manifests or chunks, holds nothing of a
     * store's: not a lost ROOT (no recover), but no store (helper-91: such a location is refused
     * by the reading commands); a push makes it a store again.
     */
    @Test
    void anEmptyStoreWithoutRootIsStillANewStore() {
        assertEquals(0, cli.run("init", store).code());
        objects().delete("ROOT");
        Cli.Result ls = cli.run("ls", store);
        assertEquals(ExitCode.ERROR, ls.code(), ls.toString());
        assertTrue(ls.err().contains("no ckpt store at") && !ls.err().contains("recover"), ls.err());
        Cli.Result push = cli.run("push", store, src(1).toString(), "--run", "r", "--step", "1");
        assertEquals(0, push.code(), push.toString());
        assertEquals(0, cli.run("ls", store).code());
    }
}

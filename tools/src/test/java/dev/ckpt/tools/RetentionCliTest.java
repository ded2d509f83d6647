package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ckpt-tool forget and push never empty a run through a retention option, and refuse bad values as usage errors. */
class RetentionCliTest {
    @TempDir
    Path tmp;
    Cli cli;
    String store;
    Path src;

    @BeforeEach
    void setUp() {
        store = tmp.resolve("store").toString();
        cli = new Cli(Map.of(), "--progress", "none");
        src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 5_000);
    }

    private String push(String run, long step, String... extra) {
        List<String> args = new ArrayList<>(List.of("push", store, src.toString(), "--run", run, "--step", Long.toString(step)));
        args.addAll(Arrays.asList(extra));
        Cli.Result r = cli.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        return r.out().trim();
    }

    private int count() {
        return cli.run("ls", store, "--json").json().get("checkpoints").size();
    }

    private byte[] root() {
        return ObjectStores.open(store).get("ROOT").data();
    }

    /**
     * helper-145: forget --keep-last 1 kept a step 2 whose manifest was lost and forgot step 1, the run's
     * only restorable checkpoint, without a word; gc then asked to forget the damaged one, and the run was
     * empty. The policy now judges the restorable checkpoints only, keeps the damaged one and says so.
     */
    @Test
    void aDamagedNewestCheckpointDoesNotTakeTheLastRestorableOnesPlace() throws Exception {
        String s1 = push("x", 1);
        String s2 = push("x", 2);
        java.nio.file.Files.delete(tmp.resolve("store/manifests/" + s2 + ".json"));
        Cli.Result dry = cli.run("forget", store, "--run", "x", "--keep-last", "1", "--dry-run", "--json");
        assertEquals(0, dry.code(), dry.toString());
        assertEquals(0, dry.json().get("forgotten").size(), dry.toString());
        assertTrue(dry.json().get("notes").get(0).asText().startsWith("kept " + s2 + " beyond the policy, which does not"
                + " count it: it cannot be restored ("), dry.toString());
        Cli.Result real = cli.run("forget", store, "--run", "x", "--keep-last", "1");
        assertEquals(0, real.code(), real.toString());
        assertTrue(real.err().contains("note: kept " + s2 + " beyond the policy"), real.toString());
        Cli.Result restore = cli.run("restore", store, s1, tmp.resolve("out").toString());
        assertEquals(0, restore.code(), "the restorable one stays: " + restore);
        // with a newer restorable one, the policy keeps that and drops the older two, as it would with no damage
        String s3 = push("x", 3);
        Cli.Result more = cli.run("forget", store, "--run", "x", "--keep-last", "1", "--json");
        assertEquals(0, more.code(), more.toString());
        assertEquals(List.of(s1, s2), List.of(more.json().get("forgotten").get(0).asText(),
                more.json().get("forgotten").get(1).asText()), more.toString());
        assertEquals(0, more.json().get("notes").size(), more.toString());
        List<String> left = new ArrayList<>();
        cli.run("ls", store, "--json").json().get("checkpoints").forEach(c -> left.add(c.get("id").asText()));
        assertEquals(List.of(s3), left);
        // a chunk lost instead of a manifest: the same (helper-147: s4 missing a chunk was kept and counted, s3 forgotten)
        java.util.Set<Path> before = chunks();
        src = TestDirs.checkpoint(tmp.resolve("src4"), 4, 2, 5_000);
        String s4 = push("x", 4);
        java.util.Set<Path> only4 = chunks();
        only4.removeAll(before);
        assertFalse(only4.isEmpty());
        java.nio.file.Files.delete(only4.iterator().next());
        Cli.Result chunk = cli.run("forget", store, "--run", "x", "--keep-last", "1", "--json");
        assertEquals(0, chunk.code(), chunk.toString());
        assertEquals(0, chunk.json().get("forgotten").size(), chunk.toString());
        assertTrue(chunk.json().get("notes").get(0).asText().startsWith("kept " + s4 + " beyond the policy, which does"
                + " not count it: it cannot be restored (chunk chunks/"), chunk.toString());
    }

    private java.util.Set<Path> chunks() throws java.io.IOException {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.walk(tmp.resolve("store/chunks"))) {
            return s.filter(java.nio.file.Files::isRegularFile).collect(java.util.stream.Collectors.toCollection(
                    java.util.HashSet::new));
        }
    }

    @Test
    void keepBestOnAMetricNoCheckpointCarriesIsAUsageErrorNamingItAndForgetsNothing() {
        for (int step = 1; step <= 3; step++) {
            push("a", step, "--meta", "loss=0." + step);
            push("b", step, "--meta", "loss=0." + step, "--meta", "acc=0.9");
        }
        byte[] before = root();
        for (List<String> extra : List.<List<String>>of(List.of(), List.of("--dry-run"), List.of("--run", "b"), List.of("--json"))) {
            List<String> args = new ArrayList<>(List.of("forget", store, "--keep-best", "val_loss"));
            args.addAll(extra);
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), extra + ": " + r);
            String first = r.err().lines().findFirst().orElse("");
            assertTrue(first.contains("val_loss") && first.contains("loss") && first.contains("nothing was forgotten"), first);
            assertArrayEquals(before, root(), "ROOT unchanged after " + extra);
        }
        assertEquals(6, count());
        Cli.Result ok = cli.run("forget", store, "--keep-best", "loss:max", "--dry-run", "--json");
        assertEquals(0, ok.code(), ok.toString());
        assertEquals(4, ok.json().get("forgotten").size(), "one per run kept: the highest loss");
    }

    @Test
    void checkpointsWithoutANumericMetricAreKeptAndNamedInANote() {
        push("r", 1, "--meta", "loss=0.5");
        String nan = push("r", 2, "--meta", "loss=NaN");
        String none = push("r", 3);
        String text = push("r", 4, "--meta", "loss=diverged");
        String best = push("r", 5, "--meta", "loss=0.25");
        Cli.Result dry = cli.run("forget", store, "--keep-best", "loss", "--dry-run");
        assertEquals(0, dry.code(), dry.toString());
        assertTrue(dry.out().contains("would forget r-s1-") && dry.out().lines().filter(l -> l.startsWith("would forget")).count() == 1,
                dry.out());
        assertTrue(dry.err().contains(nan) && dry.err().contains(none) && dry.err().contains(text), dry.err());
        Cli.Result real = cli.run("forget", store, "--keep-best", "loss", "--json");
        assertEquals(0, real.code(), real.toString());
        assertEquals(1, real.json().get("forgotten").size());
        assertEquals(4, count());
        assertTrue(cli.run("ls", store).out().contains(best));
        Cli.Result withLast = cli.run("forget", store, "--keep-best", "loss", "--keep-last", "1", "--json");
        assertEquals(0, withLast.code(), withLast.toString());
        assertEquals(List.of(nan, none, text).stream().sorted().toList(), toList(withLast.json().get("forgotten")),
                "with another rule, the unjudged ones are that rule's to drop");
    }

    /** A policy without --run applies to every run, and forget says so when it dropped checkpoints of several (helper-98). */
    @Test
    void aPolicyWithoutRunSaysItAppliedToEachRun() {
        for (String r : List.of("a", "b")) {
            push(r, 1);
            push(r, 2);
        }
        Cli.Result all = cli.run("forget", store, "--keep-last", "1");
        assertEquals(0, all.code(), all.toString());
        assertTrue(all.err().contains("note: without --run the policy applied to each run: forgot 2 checkpoints of 2 runs"
                + " (--run RUN applies it to one run only)"), all.toString());
        push("a", 3);
        Cli.Result one = cli.run("forget", store, "--keep-last", "1");
        assertFalse(one.err().contains("without --run"), "one run's checkpoint only: " + one);
    }

    @Test
    void aStepIntervalMatchingNoCheckpointIsRefused() {
        push("r", 10);
        push("r", 20);
        Cli.Result r = cli.run("forget", store, "--keep-every-steps", "1000");
        assertEquals(ExitCode.USAGE, r.code(), r.toString());
        assertTrue(r.err().contains("keep-every-steps 1000") && r.err().contains("'r'"), r.err());
        assertEquals(2, count());
        assertEquals(0, cli.run("forget", store, "--keep-every-steps", "10").code());
        assertEquals(2, count(), "both steps are multiples of 10");
    }

    @Test
    void outOfRangeRetentionValuesAreUsageErrorsForForgetAndPush() {
        push("r", 1);
        byte[] before = root();
        List<List<String>> bad = List.of(
                List.of("forget", store, "--keep-last", "0"),
                List.of("forget", store, "--keep-last", "-2"),
                List.of("forget", store, "--keep-every-steps", "0"),
                List.of("forget", store, "--keep-every-steps", "-10"),
                List.of("forget", store, "--keep-best", ""),
                List.of("forget", store, "--keep-best", ":max"),
                List.of("forget", store, "--keep-best", "loss:avg"),
                List.of("forget", store, "--keep-best", "loss:min:x"),
                List.of("forget", store, "--keep-last", "0", "--dry-run"),
                List.of("push", store, src.toString(), "--run", "r", "--step", "2", "--keep-last", "0"),
                List.of("push", store, src.toString(), "--run", "r", "--step", "2", "--keep-every-steps", "0"));
        for (List<String> args : bad) {
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), args + ": " + r);
            String first = r.err().lines().findFirst().orElse("");
            assertTrue(first.contains("--keep-") && !first.contains("Exception"), args + ": " + first);
        }
        assertArrayEquals(before, root(), "nothing was pushed or forgotten");
    }

    private static List<String> toList(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}

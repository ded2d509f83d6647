package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rank's push from the command line, beyond what {@link CkptToolTest} runs on both
 * backends: the rank options go together, a missing rank fails every other rank's push
 * after --ranks-timeout and commits nothing, and a later step commits; restore --tensors,
 * alone and with --rank.
 */
class CkptToolRanksTest {
    @TempDir
    Path tmp;
    Cli cli = new Cli(Map.of(), "--progress", "none");
    String store;

    @BeforeEach
    void setUp() {
        store = tmp.resolve("store").toString();
    }

    private Path rankSrc(String name, int rank) {
        return CkptToolTest.rankSrc(tmp, name, rank);
    }

    private List<Cli.Result> pushRanks(String name, String run, long step, String job, List<Integer> ranks, int worldSize,
                                       String... extra) throws Exception {
        return CkptToolTest.pushRanks(cli, store, tmp, name, run, step, job, ranks, worldSize, extra);
    }

    @Test
    void theRankOptionsGoTogether() {
        Cli.Result r = cli.run("push", store, rankSrc("u", 0).toString(), "--run", "r", "--step", "1", "--rank", "0");
        assertEquals(ExitCode.USAGE, r.code(), r.toString());
        assertTrue(r.err().contains("--rank, --world-size and --job-id together")
                && r.err().contains("missing: --world-size, --job-id"), r.err());
        Cli.Result outside = cli.run("push", store, rankSrc("u", 0).toString(), "--run", "r", "--step", "1", "--rank", "4",
                "--world-size", "4", "--job-id", "j");
        assertEquals(ExitCode.USAGE, outside.code(), outside.toString());
        assertTrue(outside.err().contains("rank 4 is not within world size 4"), outside.err());
        for (String size : new String[] {"0", "-2"}) { // said as ckpt-train says it, with or without the other options
            for (String[] more : new String[][] {{}, {"--rank", "0", "--job-id", "j"}}) {
                List<String> args = new java.util.ArrayList<>(List.of("push", store, rankSrc("u", 0).toString(), "--run", "r",
                        "--step", "1", "--world-size", size));
                args.addAll(List.of(more));
                Cli.Result zero = cli.run(args.toArray(String[]::new));
                assertEquals(ExitCode.USAGE, zero.code(), zero.toString());
                assertTrue(zero.err().contains("option --world-size must be at least 1, got " + size), zero.err());
            }
        }
        Cli.Result badJob = cli.run("push", store, rankSrc("u", 0).toString(), "--run", "r", "--step", "1", "--rank", "0",
                "--world-size", "1", "--job-id", "../x");
        assertEquals(ExitCode.USAGE, badJob.code(), badJob.toString());
        assertTrue(badJob.err().contains("invalid job id '../x'"), badJob.err());
    }

    /**
     * From helpers' tryouts: rank 0 refused a step (two ranks saved the same file) and rank 1,
     * with the default --ranks-timeout, waited 10 minutes and then blamed rank 0 for being slow.
     * Now rank 1 exits at once with rank 0's reason (1: the step is closed for good).
     */
    @Test
    void whenRankZeroGivesUpTheOtherRanksStopWaitingAndSayWhy() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<Cli.Result>> runs = new java.util.ArrayList<>();
            for (int rank = 0; rank < 2; rank++) {
                Path dir = tmp.resolve("same").resolve("r" + rank);
                java.nio.file.Files.createDirectories(dir);
                java.nio.file.Files.writeString(dir.resolve("optimizer.bin"), "rank " + rank + "'s bytes");
                String[] args = {"push", store, dir.toString(), "--run", "r", "--step", "1", "--rank",
                        Integer.toString(rank), "--world-size", "2", "--job-id", "job-9"};
                runs.add(pool.submit(() -> cli.run(args)));
            }
            Cli.Result rank0 = runs.get(0).get(120, java.util.concurrent.TimeUnit.SECONDS);
            Cli.Result rank1 = runs.get(1).get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(ExitCode.ERROR, rank0.code(), rank0.toString()); // the step is closed: 1, not "retry later"
            assertTrue(rank0.err().contains("several ranks saved the same file optimizer.bin"), rank0.err());
            assertEquals(ExitCode.ERROR, rank1.code(), rank1.toString());
            assertTrue(rank1.err().contains("rank 0 gave up on it") && rank1.err().contains(
                    "several ranks saved the same file optimizer.bin"), rank1.err());
            assertFalse(rank1.err().contains("Exception") || rank1.err().contains("slower than the timeout"), rank1.err());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing committed");
    }

    /**
     * A rank whose DIR push refuses (missing, a FIFO, a dangling link) used to fail before it
     * opened the store, recording nothing: the other ranks waited out --ranks-timeout (10
     * minutes by default). Now the save refuses it after the rank joined its job, records
     * why, and the others exit at once with the reason (1: the step is closed).
     */
    @Test
    void aRankWhoseDirIsRefusedStopsTheOthersAtOnce() throws Exception {
        Path dangling = tmp.resolve("dangling");
        java.nio.file.Files.createDirectories(dangling);
        java.nio.file.Files.createSymbolicLink(dangling.resolve("weights.bin"), tmp.resolve("nowhere"));
        int step = 1;
        for (Path bad : List.of(tmp.resolve("no-such-dir"), dangling)) {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                String s = Integer.toString(step);
                java.util.concurrent.Future<Cli.Result> rank0 = pool.submit(() -> cli.run("push", store,
                        rankSrc("b" + s, 0).toString(), "--run", "r", "--step", s, "--rank", "0", "--world-size", "2",
                        "--job-id", "job-5"));
                java.util.concurrent.Future<Cli.Result> rank1 = pool.submit(() -> cli.run("push", store, bad.toString(),
                        "--run", "r", "--step", s, "--rank", "1", "--world-size", "2", "--job-id", "job-5"));
                Cli.Result r1 = rank1.get(120, java.util.concurrent.TimeUnit.SECONDS);
                Cli.Result r0 = rank0.get(120, java.util.concurrent.TimeUnit.SECONDS); // the default timeout is 10 min
                assertEquals(ExitCode.ERROR, r1.code(), r1.toString());
                assertTrue(r1.err().contains(bad.toString()) && r1.err().contains("rank 1 recorded this in manifests/r-s"
                        + s + "-e1/refused.json"), r1.err());
                // the link's message says "save again": that holds for a later step only, and the note says so
                assertTrue(r1.err().contains("this job cannot save step " + s + " again: " + (bad == dangling
                        ? "where this message says to push or save again, save a later step" : "save a later step")),
                        r1.err());
                assertEquals(ExitCode.ERROR, r0.code(), r0.toString());
                assertTrue(r0.err().contains("rank 1 gave up on it") && r0.err().contains(bad.toString()), r0.err());
                // the relayed reason keeps rank 1's "save again": rank 0 is told that holds for a later step only
                assertTrue(r0.err().contains("this job cannot save step " + s + " again: " + (bad == dangling
                        ? "where this message says to push or save again, save a later step" : "save a later step")),
                        r0.err());
                assertFalse(r0.err().contains("Exception"), r0.err());
            } finally {
                pool.shutdownNow();
            }
            step++;
        }
        assertEquals(0, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing committed");
    }

    @Test
    void aMissingRankFailsTheOthersAfterTheTimeoutAndTheNextStepCommits() throws Exception {
        List<Cli.Result> partial = pushRanks("p", "r", 1, "job-1", List.of(0, 2), 3, "--ranks-timeout", "1s");
        for (Cli.Result r : partial) {
            // rank 0 records why it gave up, closing step 1 for this job (exit 1, "save a later step"); a rank that
            // timed out before reading that record cannot tell whether rank 0 may still commit (exit 4)
            boolean closed = r.err().contains("save a later step");
            assertEquals(closed ? ExitCode.ERROR : ExitCode.FENCED_OR_CONFLICT, r.code(), r.toString());
            assertTrue(r != partial.get(0) || closed, "rank 0 closed the step: " + r);
            assertTrue(r.err().contains("rank") && r.err().toLowerCase().contains("1"), r.err());
        }
        assertEquals(0, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing committed");

        List<Cli.Result> full = pushRanks("p", "r", 2, "job-1", List.of(0, 1, 2), 3);
        for (Cli.Result r : full) {
            assertEquals(0, r.code(), r.toString());
        }
        JsonNode ls = cli.run("ls", store, "--json").json().get("checkpoints");
        assertEquals(1, ls.size());
        assertEquals(2, ls.get(0).get("step").asLong());
        assertEquals(3, ls.get(0).get("ranks").asInt());

        // after gc only the committed checkpoint is left: stats counts its part manifests as live
        // (a tryout saw them reported as unreferenced, "gc frees them", which gc rightly never does)
        assertEquals(0, cli.run("gc", store, "--grace", "0s").code());
        JsonNode stats = cli.run("stats", store, "--json").json();
        assertEquals(0, stats.get("unreferencedObjects").asInt(), stats.toString());
    }

    /**
     * A rank's part manifest lost (helper-114): verify names that part and says the ranks whose part reads still
     * restore one at a time, before it says to forget the checkpoint; restore of the whole names the part and the
     * way out (--rank), and restore --rank 0 does restore.
     */
    @Test
    void aLostPartManifestLeavesTheOtherRanksRestorableAndVerifySaysSo() throws Exception {
        for (Cli.Result r : pushRanks("lp", "r", 1, "job-1", List.of(0, 1), 2)) {
            assertEquals(0, r.code(), r.toString());
        }
        String id = cli.run("ls", store, "--json").json().get("checkpoints").get(0).get("id").asText();
        Path part = tmp.resolve("store").resolve("manifests").resolve(id).resolve("part-00001.json");
        java.nio.file.Files.delete(part);

        Cli.Result v = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, v.code(), v.toString());
        assertTrue(v.out().contains("manifests/" + id + "/part-00001.json of checkpoint " + id + " is missing")
                && v.out().contains("cannot be restored whole, nor rank 1's part"), v.out());
        assertTrue(v.out().contains("cannot be restored whole, and no save mends it") && v.out().contains("the ranks whose"
                + " part manifest reads still restore one at a time: ckpt-tool restore file://" + store + "/ " + id
                + " DIR --rank R"), v.out());
        JsonNode j = cli.run("verify", store, "--json").json();
        assertEquals("manifests/" + id + "/part-00001.json", j.get("problems").get(0).get("key").asText(), j.toString());

        Cli.Result whole = cli.run("restore", store, id, tmp.resolve("whole").toString());
        assertEquals(ExitCode.ERROR, whole.code(), whole.toString());
        assertTrue(whole.err().contains("the other ranks' parts still restore one at a time (restore --rank R)"), whole.err());
        Cli.Result zero = cli.run("restore", store, id, tmp.resolve("zero").toString(), "--rank", "0");
        assertEquals(0, zero.code(), zero.toString());
        assertTrue(java.nio.file.Files.exists(tmp.resolve("zero/rank-0")), zero.toString());
    }

    /** Name -> bytes of a safetensors file's tensors, read with its own header. */
    static Map<String, byte[]> tensors(Path file) throws Exception {
        byte[] all = java.nio.file.Files.readAllBytes(file);
        long n = java.nio.ByteBuffer.wrap(all, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode h = OutputOptions.JSON.readTree(new String(all, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8));
        Map<String, byte[]> out = new java.util.LinkedHashMap<>();
        h.fields().forEachRemaining(e -> {
            if (!e.getKey().equals("__metadata__")) {
                JsonNode o = e.getValue().get("data_offsets");
                out.put(e.getKey() + ":" + e.getValue().get("dtype").asText() + e.getValue().get("shape"),
                        java.util.Arrays.copyOfRange(all, (int) (8 + n + o.get(0).asLong()), (int) (8 + n + o.get(1).asLong())));
            }
        });
        return out;
    }

    @Test
    void restoreTensorsWritesOnlyTheMatchingTensorsOfARank() throws Exception {
        for (int rank = 0; rank < 2; rank++) {
            dev.ckpt.store.testing.TestDirs.safetensors(rankSrc("t", rank).resolve("rank-" + rank + "/model.safetensors"),
                    rank, 3000, 5000, 700);
        }
        for (Cli.Result r : pushRanks("t", "r", 1, "job-1", List.of(0, 1), 2)) {
            assertEquals(0, r.code(), r.toString());
        }
        Path out = tmp.resolve("out");
        Cli.Result r = cli.run("restore", store, "r@1", out.toString(), "--rank", "1", "--tensors", "t1", "--tensors", "t2");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("restored 2 tensors") && r.out().contains("rank 1"), r.out());
        try (var w = java.nio.file.Files.walk(out)) {
            assertEquals(List.of("rank-1/model.safetensors"), w.filter(java.nio.file.Files::isRegularFile)
                    .map(p -> out.relativize(p).toString()).toList(), "only the file with matching tensors");
        }
        assertFalse(r.out().contains("replacing"), r.out());
        // again into the same directory: it says what it replaced, as a whole restore does (helper-119)
        Cli.Result again = cli.run("restore", store, "r@1", out.toString(), "--rank", "1", "--tensors", "t1", "--tensors", "t2");
        assertTrue(again.out().contains(": rank-1/model.safetensors (replacing a file there); "), again.out());
        assertEquals(1, cli.run("restore", store, "r@1", out.toString(), "--rank", "1", "--tensors", "t1", "--tensors", "t2",
                "--json").json().get("filesReplaced").asInt());
        Map<String, byte[]> source = tensors(rankSrc("t", 1).resolve("rank-1/model.safetensors"));
        Map<String, byte[]> restored = tensors(out.resolve("rank-1/model.safetensors"));
        assertEquals(List.of("t1:F32[5000]", "t2:F32[700]"), List.copyOf(restored.keySet()));
        for (String k : restored.keySet()) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(source.get(k), restored.get(k), k);
        }
        JsonNode j = cli.run("restore", store, "r@1", tmp.resolve("j").toString(), "--tensors", "t0", "--json").json();
        assertEquals(List.of("rank-0/model.safetensors", "rank-1/model.safetensors"),
                List.of(j.get("files").get(0).asText(), j.get("files").get(1).asText()), j.toString());
        assertEquals(2, j.get("tensors").asInt());
        assertEquals(2 * 3000 * 4, j.get("bytes").asLong());

        Cli.Result none = cli.run("restore", store, "r@1", tmp.resolve("none").toString(), "--tensors", "layers.*");
        assertEquals(ExitCode.ERROR, none.code(), none.toString());
        assertTrue(none.err().contains("no tensor of checkpoint") && none.err().contains("matches 'layers.*'")
                && none.err().contains("nothing was written"), none.err());
        assertTrue(!java.nio.file.Files.exists(tmp.resolve("none")));
    }
}

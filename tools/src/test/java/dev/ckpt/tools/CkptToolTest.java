package dev.ckpt.tools;

import dev.ckpt.store.GcRequest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command through picocli against a local store; the S3 subclass runs them against the in-process S3 server. */
class CkptToolTest {
    @TempDir
    Path tmp;
    Cli cli;
    String store;

    /** The store URL under test and the environment to reach it. */
    void setUpStore() throws Exception {
        store = tmp.resolve("store").toString();
        cli = new Cli(Map.of(), "--progress", "none");
    }

    ObjectStore objects() {
        return ObjectStores.open(store);
    }

    @BeforeEach
    void setUp() throws Exception {
        setUpStore();
    }

    Path src(String name, long seed) {
        return TestDirs.checkpoint(tmp.resolve(name), seed, 3, 30_000);
    }

    String push(Path dir, String run, long step, String... extra) {
        List<String> args = new ArrayList<>(List.of("push", store, dir.toString(), "--run", run, "--step", Long.toString(step)));
        args.addAll(Arrays.asList(extra));
        Cli.Result r = cli.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        // the time before the save too (helper-102: a server's stall as the run was claimed was in none of the times)
        assertTrue(r.err().matches("(?s).*\\(run " + java.util.regex.Pattern.quote(run) + ", step " + step + "\\): .*; open \\d+"
                + " ms, scan \\d+ ms, upload \\d+ ms, manifest \\d+ ms, commit \\d+ ms.*") || !r.err().contains("scan "), r.err());
        return r.out().trim();
    }

    @Test
    void initIsIdempotentAndSaysWhatItDid() {
        Cli.Result first = cli.run("init", store);
        assertEquals(0, first.code(), first.toString());
        assertTrue(first.out().startsWith("initialized "), first.out());
        Cli.Result again = cli.run("init", store, "--json");
        assertEquals(0, again.code());
        assertFalse(again.json().get("created").asBoolean());
    }

    /**
     * A store made in a directory holding other entries and no store is said, by init, push and
     * import as by ckpt-train (helper-121: init file:/// made one at / with no word); once only.
     */
    @Test
    void aStoreMadeAmongADirectorysEntriesIsSaidOnce() throws Exception {
        for (String command : List.of("init", "push")) {
            Path dir = java.nio.file.Files.createDirectories(tmp.resolve("busy-" + command));
            java.nio.file.Files.writeString(dir.resolve("notes.txt"), "mine");
            java.nio.file.Files.createDirectories(dir.resolve("data"));
            List<String> args = new ArrayList<>(List.of(command, dir.toString()));
            if (command.equals("push")) {
                args.addAll(List.of(src("s-" + command, 3).toString(), "--run", "r", "--step", "1"));
            }
            Cli.Result first = cli.run(args.toArray(String[]::new));
            assertEquals(0, first.code(), first.toString());
            assertTrue(first.err().contains("note: " + dir + " held 2 entries but no store: a new store (ROOT, chunks/,"
                    + " manifests/) was made among them; if you meant another store, check the path"), first.toString());
            Cli.Result again = cli.run("init", dir.toString());
            assertFalse(again.err().contains("held"), "a store now: " + again);
        }
        Cli.Result empty = cli.run("init", tmp.resolve("fresh").toString());
        assertFalse(empty.err().contains("held"), empty.toString());
        // doctor opens a directory as init would and makes nothing: it says no such thing (helper-133)
        Path plain = java.nio.file.Files.createDirectories(tmp.resolve("plain"));
        java.nio.file.Files.writeString(plain.resolve("e"), "a");
        Cli.Result doctor = cli.run("doctor", plain.toString());
        assertFalse(doctor.err().contains("was made among them"), doctor.toString());
        assertEquals(List.of("e"), java.nio.file.Files.list(plain).map(p -> p.getFileName().toString()).toList());
        // a file where the store keeps a directory: refused before anything is written (helper-119: "initialized",
        // then every save failed); doctor reports it as one of its checks (DoctorObstructionCliTest)
        Path blocked = java.nio.file.Files.createDirectories(tmp.resolve("blocked"));
        java.nio.file.Files.writeString(blocked.resolve("chunks"), "x");
        for (String command : List.of("init", "push")) {
            List<String> args = new ArrayList<>(List.of(command, blocked.toString()));
            if (command.equals("push")) {
                args.addAll(List.of(src("s-blocked", 4).toString(), "--run", "r", "--step", "1"));
            }
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("cannot use " + blocked + " as a store: a file is where the store keeps a directory ("
                    + blocked.resolve("chunks") + ")"), r.toString());
            assertFalse(java.nio.file.Files.exists(blocked.resolve("ROOT")), "nothing written");
        }
    }

    /** A restore says how many files it put in place of files that were there (helper-118: none said so). */
    @Test
    void aRestoreSaysWhichFilesItReplaced() throws Exception {
        Path src = src("rp", 7);
        String id = push(src, "r", 1);
        Path out = tmp.resolve("rp-out");
        Cli.Result fresh = cli.run("restore", store, id, out.toString());
        assertEquals(0, fresh.code(), fresh.toString());
        assertFalse(fresh.out().contains("replacing"), fresh.out());
        int files;
        try (java.util.stream.Stream<Path> w = java.nio.file.Files.walk(out)) {
            files = (int) w.filter(java.nio.file.Files::isRegularFile).count();
        }
        Cli.Result again = cli.run("restore", store, id, out.toString());
        assertTrue(again.out().contains(" into " + out + " (all replacing a file there); "), again.out());
        try (java.util.stream.Stream<Path> w = java.nio.file.Files.walk(out)) {
            java.nio.file.Files.delete(w.filter(java.nio.file.Files::isRegularFile).findFirst().orElseThrow());
        }
        JsonNode j = cli.run("restore", store, id, out.toString(), "--json").json();
        assertEquals(files - 1, j.get("filesReplaced").asInt(), j.toString());
        assertTrue(cli.run("restore", store, id, out.toString()).out().contains("(all replacing"), "text form");
    }

    /** A step pushed again is kept twice, and push says so (a new-user tryout found two without a word). */
    @Test
    void aStepPushedAgainIsKeptTwiceAndPushSaysSo() {
        Path a = src("a", 1);
        String first = push(a, "alpha", 5);
        Cli.Result again = cli.run("push", store, a.toString(), "--run", "alpha", "--step", "5");
        assertEquals(0, again.code(), again.toString());
        String second = again.out().trim();
        assertTrue(again.err().contains("note: run alpha already had checkpoint " + first + " at step 5; both are kept,"
                + " and alpha@5 now names " + second), again.toString());
        Cli.Result other = cli.run("push", store, a.toString(), "--run", "alpha", "--step", "6");
        assertTrue(!other.err().contains("note:"), "a new step: no note: " + other);
        Cli.Result beta = cli.run("push", store, a.toString(), "--run", "beta", "--step", "5");
        assertTrue(!beta.err().contains("note:"), "another run's step: no note: " + beta);
    }

    @Test
    void pushPrintsTheIdAndLsSortsByRunThenStepNumerically() {
        Path a = src("a", 1);
        String s100 = push(a, "alpha", 100, "--meta", "loss=0.5");
        String s20 = push(a, "alpha", 20);
        push(a, "alpha", 3);
        push(a, "beta", 1);
        assertTrue(s100.startsWith("alpha-s100-"), s100);
        Cli.Result ls = cli.run("ls", store);
        assertEquals(0, ls.code(), ls.toString());
        List<String> lines = ls.out().lines().toList();
        assertTrue(lines.get(0).startsWith("ID"));
        assertTrue(lines.get(1).contains("alpha") && lines.get(1).contains(" 3 "), ls.out());
        assertTrue(lines.get(2).startsWith(s20), ls.out());
        assertTrue(lines.get(3).startsWith(s100), ls.out());
        assertTrue(lines.get(4).contains("beta"), ls.out());
        assertTrue(lines.stream().noneMatch(l -> l.endsWith(" ")), "no row ends in spaces (none is pinned): " + ls.out());
        // the columns stay in line with a 100-letter run name and a step of 19 digits (helper-145: they were pushed over)
        push(a, "r".repeat(100), Long.MAX_VALUE);
        List<String> wide = cli.run("ls", store).out().lines().toList();
        int created = wide.get(0).indexOf("CREATED");
        int files = wide.get(0).indexOf("FILES") + "FILES".length();
        for (String row : wide.subList(1, wide.size())) {
            assertTrue(row.substring(created).matches("\\d{4}-\\d\\d-\\d\\dT.*"), "CREATED in line: " + String.join("\n", wide));
            assertTrue(row.charAt(files - 1) != ' ' && row.charAt(files) == ' ', "FILES in line: " + String.join("\n", wide));
        }
        JsonNode j = cli.run("ls", store, "--run", "alpha", "--json").json();
        assertEquals(3, j.get("checkpoints").size());
        JsonNode last = j.get("checkpoints").get(2);
        assertEquals(s100, last.get("id").asText());
        assertEquals(100, last.get("step").asLong());
        assertEquals("0.5", last.get("metadata").get("loss").asText());
        assertEquals(0, last.get("uniqueBytes").asLong(), "identical content: no chunk is held by one checkpoint only");
        Path b = src("b", 2);
        String other = push(b, "alpha", 200);
        JsonNode j2 = cli.run("ls", store, "--run", "alpha", "--json").json();
        JsonNode newest = j2.get("checkpoints").get(3);
        assertEquals(other, newest.get("id").asText());
        assertTrue(newest.get("uniqueBytes").asLong() > 50_000, newest.toString());
    }

    /** Rank R's directory: its own files under rank-R/ (TestDirs content seeded by the rank). */
    Path rankSrc(String name, int rank) {
        return rankSrc(tmp, name, rank);
    }

    static Path rankSrc(Path tmp, String name, int rank) {
        return TestDirs.checkpoint(tmp.resolve(name).resolve("r" + rank).resolve("rank-" + rank), 100 + rank, 2, 20_000)
                .getParent();
    }

    /** Pushes every rank's part at once (one in-process ckpt-tool each, as separate processes would). */
    List<Cli.Result> pushRanks(String name, String run, long step, String job, List<Integer> ranks, int worldSize,
                               String... extra) throws Exception {
        return pushRanks(cli, store, tmp, name, run, step, job, ranks, worldSize, extra);
    }

    static List<Cli.Result> pushRanks(Cli cli, String store, Path tmp, String name, String run, long step, String job,
                                      List<Integer> ranks, int worldSize, String... extra) throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(ranks.size());
        try {
            List<java.util.concurrent.Future<Cli.Result>> fs = new ArrayList<>();
            for (int rank : ranks) {
                Path dir = rankSrc(tmp, name, rank);
                List<String> args = new ArrayList<>(List.of("push", store, dir.toString(), "--run", run, "--step",
                        Long.toString(step), "--rank", Integer.toString(rank), "--world-size", Integer.toString(worldSize),
                        "--job-id", job));
                args.addAll(Arrays.asList(extra));
                fs.add(pool.submit(() -> cli.run(args.toArray(String[]::new))));
            }
            List<Cli.Result> out = new ArrayList<>();
            for (java.util.concurrent.Future<Cli.Result> f : fs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void everyRanksPushCommitsOneCheckpointThatLsShowAndRestoreByRankSee() throws Exception {
        List<Cli.Result> pushed = pushRanks("m", "r", 10, "job-7", List.of(0, 1, 2), 3);
        for (Cli.Result r : pushed) {
            assertEquals(0, r.code(), r.toString());
        }
        String id = pushed.get(0).out().trim();
        assertEquals(id, pushed.get(2).out().trim(), "every rank names the one checkpoint");

        Cli.Result ls = cli.run("ls", store);
        assertTrue(ls.out().lines().findFirst().orElseThrow().contains("RANKS"), ls.out());
        JsonNode row = cli.run("ls", store, "--json").json().get("checkpoints").get(0);
        assertEquals(3, row.get("ranks").asInt());
        assertEquals(9, row.get("files").asInt(), row.toString()); // 2 data files + state.json per rank

        Cli.Result show = cli.run("show", store, id);
        assertEquals(0, show.code(), show.toString());
        assertTrue(show.out().contains("world size 3"), show.out());
        JsonNode shown = cli.run("show", store, id, "--json").json();
        assertEquals(3, shown.get("worldSize").asInt());
        assertEquals(3, shown.get("parts").size());
        for (int r = 0; r < 3; r++) {
            JsonNode p = shown.get("parts").get(r);
            assertEquals(r, p.get("rank").asInt());
            assertEquals(3, p.get("files").asInt());
            assertEquals(Manifest.keyOfPart(id, r), p.get("manifest").asText());
            assertTrue(show.out().contains(Manifest.keyOfPart(id, r)), show.out());
            assertEquals(TestDirs.snapshot(rankSrc("m", r)).values().stream().mapToLong(b -> b.length).sum(),
                    p.get("logicalBytes").asLong());
        }

        Path one = tmp.resolve("one");
        Cli.Result restored = cli.run("restore", store, "r@10", one.toString(), "--rank", "1");
        assertEquals(0, restored.code(), restored.toString());
        TestDirs.assertSameTree(TestDirs.snapshot(rankSrc("m", 1)), one); // only rank 1's files, byte for byte
        Path all = tmp.resolve("all");
        assertEquals(0, cli.run("restore", store, id, all.toString()).code());
        Map<String, byte[]> every = new java.util.TreeMap<>();
        for (int r = 0; r < 3; r++) {
            every.putAll(TestDirs.snapshot(rankSrc("m", r)));
        }
        TestDirs.assertSameTree(every, all);
        Cli.Result noSuchRank = cli.run("restore", store, id, tmp.resolve("x").toString(), "--rank", "3");
        assertEquals(ExitCode.ERROR, noSuchRank.code(), noSuchRank.toString());
        assertTrue(noSuchRank.err().contains("saved by 3 ranks") && noSuchRank.err().contains("no rank 3"), noSuchRank.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void showListsFilesWithSizeAndSha256() {
        String id = push(src("a", 1), "r", 1, "--meta", "acc=0.9");
        Cli.Result show = cli.run("show", store, "r:latest");
        assertEquals(0, show.code(), show.toString());
        assertTrue(show.out().contains("checkpoint " + id) && show.out().contains("state.json") && show.out().contains("acc=0.9"),
                show.out());
        JsonNode j = cli.run("show", store, id, "--json").json();
        assertEquals(4, j.get("files").size());
        for (JsonNode f : j.get("files")) {
            assertEquals(64, f.get("sha256").asText().length());
        }
    }

    @Test
    void restoreNamesTheLeftoversOfAnInterruptedRestoreAndKeepsThem() throws Exception {
        Path a = src("a", 1);
        push(a, "r", 1);
        Path out = tmp.resolve("out-leftovers");
        Files.createDirectories(out);
        Files.writeString(out.resolve(".ckpt-0123456789ab.tmp"), "partial");
        Files.writeString(out.resolve(".ckpt-0123456789ab.old"), "replaced");
        Cli.Result r = cli.run("restore", store, "r@1", out.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("1 temporary of an interrupted restore (.ckpt-*.tmp, e.g. "
                + out.resolve(".ckpt-0123456789ab.tmp") + ") is beside the restored files; delete it unless another"
                + " restore into " + out + " is running now"), r.err());
        assertTrue(r.err().contains("1 file named .ckpt-*.old in " + out) && r.err().contains("holds a version an interrupted restore had replaced,")
                && r.err().contains("unless another restore into " + out + " is running now") && r.err().contains("; delete it once"), r.err());
        assertTrue(Files.exists(out.resolve(".ckpt-0123456789ab.tmp")) && Files.exists(out.resolve(".ckpt-0123456789ab.old")));
        JsonNode j = cli.run("restore", store, "r@1", out.toString(), "--json").json();
        assertEquals(out.resolve(".ckpt-0123456789ab.tmp").toString(), j.get("leftoverTemporaries").get(0).asText());
        assertEquals(1, j.get("replacedVersions").size());
        Files.delete(out.resolve(".ckpt-0123456789ab.tmp"));
        // with the killed restore's journal: which file each was (helper-146: 6,528 .old files, nothing said whose)
        Path journal = Files.writeString(out.resolve(".ckpt-00000000cafe.journal"),
                "{\"old\":\".ckpt-0123456789ab.old\",\"was\":\"sub/notes.txt\"}\n{\"old\":\"cut");
        Cli.Result said = cli.run("restore", store, "r@1", out.toString());
        assertEquals(0, said.code(), said.toString());
        assertTrue(said.err().contains("1 file named .ckpt-*.old in " + out + " (e.g. " + out.resolve(".ckpt-0123456789ab.old")
                + ", which was " + out.resolve("sub/notes.txt") + ") holds a version an interrupted restore had replaced,"),
                said.err());
        assertTrue(said.err().contains("; " + journal + " lists which file each was (a JSON object a line: old, was; 1 of 1"
                + " named there): move one back over its file to take that file back; delete it once"), said.err());
        JsonNode withJournal = cli.run("restore", store, "r@1", out.toString(), "--json").json();
        assertEquals(out.resolve("sub/notes.txt").toString(), withJournal.get("replacedFrom")
                .get(out.resolve(".ckpt-0123456789ab.old").toString()).asText(), withJournal.toString());
        assertEquals(journal.toString(), withJournal.get("journals").get(0).asText());
        Files.delete(out.resolve(".ckpt-0123456789ab.old"));
        Cli.Result alone = cli.run("restore", store, "r@1", out.toString());
        assertTrue(alone.err().contains("restore: " + journal + " in " + out + ", left by an interrupted restore, lists the"
                + " files it kept aside as .ckpt-*.old, none of which is left; delete it unless another restore"), alone.err());
        Files.delete(journal);
        TestDirs.assertSameTree(TestDirs.snapshot(a), out);
    }

    @Test
    void restoreBySelectorIsByteIdentical() {
        Path a = src("a", 1);
        Path b = src("b", 2);
        String id1 = push(a, "r", 10);
        push(b, "r", 20);
        for (String sel : List.of(id1, "r@10")) {
            Path out = tmp.resolve("out-" + sel.replace('@', '_'));
            Cli.Result r = cli.run("restore", store, sel, out.toString());
            assertEquals(0, r.code(), r.toString());
            TestDirs.assertSameTree(TestDirs.snapshot(a), out);
        }
        for (String sel : List.of("latest", "r:latest")) {
            Path out = tmp.resolve("out-" + sel.replace(':', '_'));
            JsonNode j = cli.run("restore", store, sel, out.toString(), "--json").json();
            assertEquals(20, j.get("step").asLong());
            TestDirs.assertSameTree(TestDirs.snapshot(b), out);
        }
        Cli.Result missing = cli.run("restore", store, "r@15", tmp.resolve("x").toString());
        assertEquals(1, missing.code());
        assertEquals(1, missing.err().lines().count(), "one line: " + missing.err());
        assertTrue(missing.err().contains("step 15"), missing.err());
    }

    private String chunkOf(String id) {
        try (CheckpointStore s = CheckpointStore.open(objects(), StoreConfig.defaults())) {
            Manifest m = s.manifest(s.resolve(id));
            String h = m.files().stream().filter(f -> f.path().endsWith(".bin")).findFirst().orElseThrow().chunks().get(0).hash();
            return "chunks/" + h.substring(0, 2) + "/" + h;
        }
    }

    @Test
    void verifyExitsThreeOnAFlippedByteAndRestoreRefuses() {
        String id = push(src("a", 1), "r", 1);
        assertEquals(0, cli.run("verify", store).code());
        assertEquals(0, cli.run("verify", store, "--read-data").code());
        String key = chunkOf(id);
        ObjectStore o = objects();
        byte[] data = o.get(key).data();
        data[data.length / 2] ^= 1;
        o.put(key, data);
        assertEquals(0, cli.run("verify", store).code(), "same size: structure is fine");
        Cli.Result deep = cli.run("verify", store, "--read-data");
        assertEquals(ExitCode.DAMAGE, deep.code(), deep.toString());
        assertTrue(deep.out().contains("CORRUPT") && deep.out().contains(key), deep.out());
        JsonNode j = cli.run("verify", store, "--read-data=100", "--json").json();
        assertFalse(j.get("ok").asBoolean());
        assertEquals("CORRUPT", j.get("problems").get(0).get("kind").asText());
        Path out = tmp.resolve("out");
        Cli.Result restore = cli.run("restore", store, id, out.toString());
        assertEquals(1, restore.code());
        assertTrue(restore.err().contains(key), restore.err());
        assertTrue(TestDirs.snapshot(out).isEmpty(), "nothing written");
        // the way out verify names, followed (helper-111: nothing named one, and later saves built on the chunk)
        assertTrue(deep.out().contains("a corrupt chunk object at its recorded size is taken as stored by later saves:"
                + " move it out of the store (or delete it), and the next save of the same data writes it again"), deep.out());
        o.delete(key);
        Cli.Result again = cli.run("push", store, src("a", 1).toString(), "--run", "r", "--step", "2");
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.err().contains("(" + key + "); this save wrote it again"), again.err());
        assertEquals(0, cli.run("verify", store, "--read-data").code(), "both checkpoints whole");
    }

    /**
     * verify names the way out of a missing chunk (the next save of the same data writes it
     * again) and of an unreadable manifest (forget the checkpoint: no save mends it), and each
     * way, followed, leaves a store that verifies (helper-106: the trainer's fall-back past a
     * corrupt manifest, and verify, gave no next step).
     */
    @Test
    void verifyNamesTheWayOutOfAMissingChunkAndOfAnUnreadableManifestAndBothWork() {
        String id = push(src("a", 1), "r", 1);
        String second = push(src("b", 2), "r", 2);
        ObjectStore o = objects();
        String key = chunkOf(id);
        o.delete(key);
        Cli.Result missing = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, missing.code(), missing.toString());
        assertTrue(missing.out().contains("a missing or wrong-sized chunk object is written again by the next save of the"
                + " same data (ckpt-tool push or ckpt-train), which makes the checkpoints that reference it whole (where"
                + " something else stands in its place, move that out first)"), missing.out());
        assertFalse(missing.out().contains("manifest cannot be read"), missing.out());
        assertEquals(0, cli.run("push", store, src("a", 1).toString(), "--run", "r", "--step", "3").code());
        assertEquals(0, cli.run("verify", store, "--read-data").code(), "whole again");

        String manifest;
        try (CheckpointStore s = CheckpointStore.open(objects(), StoreConfig.defaults())) { // closes its own client
            manifest = s.resolve(second).manifest();
        }
        o.put(manifest, "{\"broken".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Cli.Result unreadable = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, unreadable.code(), unreadable.toString());
        String advice = "a checkpoint whose manifest cannot be read cannot be restored, and no save mends it; a save's"
                + " retention still counts it (forget by a policy does not). Remove it with ckpt-tool forget ";
        assertTrue(unreadable.out().contains(advice), unreadable.out());
        assertFalse(unreadable.out().contains("a missing or wrong-sized chunk"), unreadable.out());
        String command = unreadable.out().substring(unreadable.out().indexOf(advice) + advice.length() - "forget ".length())
                .strip();
        assertTrue(command.endsWith(" " + second), command);
        List<String> words = new java.util.ArrayList<>(List.of(command.split(" ")));
        Cli.Result forgot = cli.run(words.toArray(String[]::new));
        assertEquals(0, forgot.code(), forgot.toString());
        assertEquals(0, cli.run("verify", store, "--read-data").code(), "the advice, followed, leaves a sound store");

        // pinned, it must be unpinned first, and the advice says so (helper-112: its forget command was refused)
        String third = push(src("c", 3), "r", 4);
        String fourth = push(src("d", 4), "r", 5);
        assertEquals(0, cli.run("pin", store, third).code());
        try (CheckpointStore s = CheckpointStore.open(objects(), StoreConfig.defaults())) {
            o.put(s.resolve(third).manifest(), "{\"broken".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            o.put(s.resolve(fourth).manifest(), "[]".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        Cli.Result pinned = cli.run("verify", store);
        assertEquals(ExitCode.DAMAGE, pinned.code(), pinned.toString());
        String with = "(forget by a policy does not). Remove it with ckpt-tool unpin ";
        assertTrue(pinned.out().contains(with), pinned.out());
        String[] steps = pinned.out().substring(pinned.out().indexOf(with) + with.length() - "unpin ".length()).strip()
                .split(", then ckpt-tool ");
        assertEquals(2, steps.length, pinned.out());
        String url = steps[0].split(" ")[1]; // the store as the output names it (a URL)
        assertEquals("unpin " + url + " " + third, steps[0]);
        assertEquals("forget " + url + " " + third + " " + fourth, steps[1]);
        for (String step : steps) {
            Cli.Result done = cli.run(step.split(" "));
            assertEquals(0, done.code(), step + ": " + done);
        }
        assertEquals(0, cli.run("verify", store, "--read-data").code(), "the advice, followed, leaves a sound store");
    }

    @Test
    void readDataBeforeTheStoreOrBeforeACheckpointReadsAllTheDataAndTakesOnlyANumberAsItsPercentage() {
        String id = push(src("a", 1), "r", 1);
        Cli.Result fine = cli.run("verify", store, "--read-data");
        assertTrue(fine.out().matches("(?s)ok: 1 checkpoint, \\d+ chunks? \\(.*\\) re-hashed\n"), fine.out());
        String key = chunkOf(id);
        ObjectStore o = objects();
        byte[] data = o.get(key).data();
        data[data.length / 2] ^= 1;
        o.put(key, data);
        // each of these reads the data, so each finds the flipped byte (a structural verify would not)
        for (String[] args : List.of(new String[]{"verify", "--read-data", store},
                new String[]{"verify", store, "--read-data", "r@1"},
                new String[]{"verify", store, "--read-data", id, "--json"},
                new String[]{"verify", store, "--read-data", "100", "r@1"},
                new String[]{"verify", "--read-data", "100", store},
                new String[]{"verify", store, "--read-data", "100%", "r@1"})) {
            Cli.Result r = cli.run(args);
            assertEquals(ExitCode.DAMAGE, r.code(), String.join(" ", args) + "\n" + r);
            assertTrue(r.out().contains("CORRUPT") && r.out().contains(key), r.out());
        }
        Cli.Result bad = cli.run("verify", store, "--read-data=abc");
        assertEquals(2, bad.code(), bad.toString());
        assertTrue(bad.err().contains("--read-data") && bad.err().contains("abc"), bad.err());
        for (String notOne : List.of("0", "101", "-5", "+0", "50.5", "1e2", "99999999999")) {
            // a word that looks like a number is the percentage, and refused as a usage error if it is not one
            Cli.Result r = cli.run("verify", store, "--read-data", notOne);
            assertEquals(2, r.code(), notOne + ": " + r);
            assertTrue(r.err().contains("'" + notOne + "' is not a whole percentage from 1 to 100"), r.err());
        }
    }

    @Test
    void verifyCanRecordAFullVerificationInRoot() {
        String id = push(src("a", 1), "r", 1);
        assertTrue(cli.run("show", store, id, "--json").json().get("verifiedAt").isNull(), "never verified");
        assertTrue(cli.run("show", store, id).out().contains("  never verified byte by byte ("), "show says never");
        Cli.Result partial = new Cli(Map.of(), "--progress", "plain").run("verify", store, "--record");
        assertEquals(2, partial.code(), "--record needs a full --read-data");
        // refused before the store is opened: no "verify ..." progress line before the usage error (helper-152)
        assertTrue(partial.err().startsWith("ckpt-tool verify: --record needs a full --read-data"), partial.err());
        Cli.Result r = cli.run("verify", store, "--read-data", "--record", "--json");
        assertEquals(0, r.code(), r.toString());
        assertEquals(List.of(id), toList(r.json().get("recordedVerified")));
        Cli.Result twice = cli.run("verify", store, "r@1", id, "--read-data", "--record", "--json");
        assertEquals(List.of(id), toList(twice.json().get("recordedVerified")), "what was verified, once");
        try (CheckpointStore s = CheckpointStore.open(objects(), StoreConfig.defaults())) {
            java.time.Instant at = s.resolve(id).verifiedAt();
            assertTrue(at != null);
            assertEquals(at.toString(), cli.run("show", store, id, "--json").json().get("verifiedAt").asText());
            assertTrue(cli.run("show", store, id).out().contains("every byte verified at " + at), "show says when");
            assertFalse(cli.run("show", store, id).out().contains("never verified"), "and no longer never");
            // ls too: the day in its VERIFIED column, the instant in --json; a checkpoint never verified shows none
            String two = push(src("b", 2), "r", 2);
            Cli.Result ls = cli.run("ls", store);
            List<String> lines = ls.out().lines().toList();
            assertTrue(lines.get(0).matches("ID +RUN +STEP +CREATED +RANKS +FILES +SIZE +UNIQUE +VERIFIED +PINNED"), ls.out());
            int col = lines.get(0).indexOf("VERIFIED");
            String one = lines.stream().filter(l -> l.startsWith(id)).findFirst().orElseThrow();
            assertEquals(at.toString().substring(0, 10), one.substring(col, col + 10), ls.out());
            String notVerified = lines.stream().filter(l -> l.startsWith(two)).findFirst().orElseThrow();
            assertTrue(notVerified.length() <= col, "nothing in its VERIFIED column: " + ls.out());
            JsonNode cps = cli.run("ls", store, "--json").json().get("checkpoints");
            assertEquals(at.toString(), cps.get(0).get("verifiedAt").asText());
            assertTrue(cps.get(1).get("verifiedAt").isNull(), cps.toString());
        }
    }

    @Test
    void verifyExitsThreeOnAMissingChunkAndATruncatedManifest() {
        String id = push(src("a", 1), "r", 1);
        String id2 = push(src("b", 2), "r", 2);
        objects().delete(chunkOf(id));
        Cli.Result r = cli.run("verify", store, id);
        assertEquals(ExitCode.DAMAGE, r.code(), r.toString());
        assertTrue(r.out().contains("MISSING"), r.out());
        ObjectStore o = objects();
        byte[] m = o.get(Manifest.keyOf(id2)).data();
        o.put(Manifest.keyOf(id2), Arrays.copyOf(m, m.length / 3));
        Cli.Result r2 = cli.run("verify", store, id2);
        assertEquals(ExitCode.DAMAGE, r2.code(), r2.toString());
        assertTrue(r2.out().contains("MANIFEST_UNREADABLE"), r2.out());
        Cli.Result restore = cli.run("restore", store, id2, tmp.resolve("out").toString());
        assertEquals(1, restore.code());
        assertTrue(TestDirs.snapshot(tmp.resolve("out")).isEmpty());
    }

    @Test
    void forgetByPolicyByNameAndPinning() {
        Path a = src("a", 1);
        List<String> ids = new ArrayList<>();
        for (int step = 1; step <= 5; step++) {
            ids.add(push(a, "r", step * 10));
        }
        Cli.Result pin = cli.run("pin", store, "r@10");
        assertEquals(0, pin.code(), pin.toString());
        assertEquals("pinned " + ids.get(0) + "\n", pin.out());
        // what each did, not what it was asked (a tryout: "unpinned X" of a checkpoint never pinned)
        Cli.Result again = cli.run("pin", store, "r@10", "--json");
        assertEquals(0, again.code(), again.toString());
        assertEquals(false, again.json().get("changed").asBoolean(), again.toString());
        assertEquals(ids.get(0) + " was already pinned; nothing changed\n", cli.run("pin", store, "r@10").out());
        Cli.Result never = cli.run("unpin", store, "r@20");
        assertEquals(0, never.code(), never.toString());
        assertEquals(ids.get(1) + " was not pinned; nothing changed\n", never.out());
        Cli.Result dry = cli.run("forget", store, "--run", "r", "--keep-last", "2", "--dry-run", "--json");
        assertEquals(List.of(ids.get(1), ids.get(2)).stream().sorted().toList(),
                toList(dry.json().get("forgotten")), dry.toString());
        assertEquals(5, cli.run("ls", store, "--json").json().get("checkpoints").size(), "dry run changed nothing");
        Cli.Result real = cli.run("forget", store, "--run", "r", "--keep-last", "2");
        assertEquals(0, real.code(), real.toString());
        assertEquals(3, cli.run("ls", store, "--json").json().get("checkpoints").size());
        Cli.Result pinned = cli.run("forget", store, "r@10");
        assertEquals(1, pinned.code());
        assertTrue(pinned.err().contains("pinned"), pinned.err());
        Cli.Result unpin = cli.run("unpin", store, "r@10");
        assertEquals(0, unpin.code(), unpin.toString());
        assertEquals("unpinned " + ids.get(0) + "\n", unpin.out());
        // one checkpoint named twice (by RUN@STEP and by id) is forgotten and counted once (helper-120: "2 forgotten")
        Cli.Result twice = cli.run("forget", store, "r@10", ids.get(0), "r@10", "--json");
        assertEquals(0, twice.code(), twice.toString());
        assertEquals(List.of(ids.get(0)), toList(twice.json().get("forgotten")), twice.toString());
        assertEquals(2, cli.run("ls", store, "--json").json().get("checkpoints").size());
        assertEquals(2, cli.run("forget", store).code(), "neither policy nor checkpoints: usage");
        // --run with names: it was ignored, and another run's checkpoint forgotten (helper-145)
        Cli.Result runAndName = cli.run("forget", store, "--run", "other", "r@50", "--dry-run");
        assertEquals(2, runAndName.code(), runAndName.toString());
        assertTrue(runAndName.err().startsWith("ckpt-tool forget: --run goes with a policy (--keep-last, --keep-every-steps,"
                + " --keep-best); a checkpoint given by name names its own run: give RUN@STEP, RUN:latest or its id, without"
                + " --run; nothing was forgotten"), runAndName.toString());
    }

    private static List<String> toList(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void gcDryRunDeletesNothingAndPredictsExactlyWhatGcDeletes() {
        push(src("a", 1), "r", 1, "--keep-last", "1");
        push(src("b", 2), "r", 2, "--keep-last", "1");
        List<String> before = objects().list("").stream().map(x -> x.key()).toList();
        Cli.Result dry = cli.run("gc", store, "--dry-run", "--grace", "0s", "--json");
        assertEquals(0, dry.code(), dry.toString());
        assertEquals(before, objects().list("").stream().map(x -> x.key()).toList(), "dry run deleted nothing");
        List<String> predicted = toList(dry.json().get("deleted"));
        assertFalse(predicted.isEmpty());
        JsonNode real = cli.run("gc", store, "--grace", "0s", "--json").json();
        assertEquals(predicted, toList(real.get("deleted")));
        assertEquals(dry.json().get("deletedBytes").asLong(), real.get("deletedBytes").asLong());
        assertEquals(0, cli.run("verify", store, "--read-data").code());
        Cli.Result text = cli.run("gc", store, "--grace", "1h");
        assertTrue(text.out().startsWith("deleted 0 objects"), text.out());
        // the grace is reported as written: the collector said "168h" for 7d, where ckpt-tool said "7d" (helper-78)
        Cli.Result week = cli.withCommon("--progress", "plain").run("gc", store, "--grace", "7d");
        assertEquals(0, week.code(), week.toString());
        assertTrue(week.err().contains("older than 7d") && !week.toString().contains("168h"), week.toString());
        assertEquals(2, cli.run("gc", store, "--grace", "soon").code(), "bad duration: usage");
    }

    @Test
    void diffShowsAddedRemovedChangedAndSharedBytes() throws Exception {
        // files above the 64 KiB pack threshold: shared bytes are counted by chunk, and small files
        // share packs, so one changed small file changes its neighbours' pack (packedFilesShowDiffAndExport)
        Path a = TestDirs.checkpoint(tmp.resolve("a"), 1, 3, 70_000);
        String ida = push(a, "r", 1);
        Files.delete(a.resolve("file1.bin"));
        TestDirs.touch(a.resolve("file2.bin"), 3);
        Files.writeString(a.resolve("new.txt"), "hello");
        String idb = push(a, "r", 2);
        JsonNode j = cli.run("diff", store, ida, idb, "--json").json();
        assertEquals(List.of("new.txt"), toList(j.get("added")));
        assertEquals(List.of("file1.bin"), toList(j.get("removed")));
        assertEquals(List.of("file2.bin"), toList(j.get("changed")));
        assertEquals(2, j.get("unchanged").asInt());
        assertTrue(j.get("sharedBytes").asLong() > 30_000);
        assertTrue(j.get("sharedBytes").asLong() < j.get("bBytes").asLong(), j.toString());
        Cli.Result text = cli.run("diff", store, ida, idb);
        assertTrue(text.out().contains("added    new.txt") && text.out().contains("removed  file1.bin"), text.out());
        // a checkpoint against itself, and against the same files pushed again: all of it is shared (helper-105: the
        // shared figure counted distinct chunks against all the bytes, and read 4 % for identical checkpoints)
        String idc = push(a, "r", 3);
        for (String other : List.of(idb, idc)) {
            JsonNode same = cli.run("diff", store, idb, other, "--json").json();
            assertEquals(same.get("bBytes").asLong(), same.get("sharedBytes").asLong(), same.toString());
        }
        Cli.Result sameText = cli.run("diff", store, idb, idc);
        assertTrue(sameText.out().matches("(?s).*0 added, 0 removed, 0 changed, 4 unchanged; (\\S+ \\S+) of the \\1 of "
                + java.util.regex.Pattern.quote(idc) + " is in chunks " + java.util.regex.Pattern.quote(idb) + " holds too\n"),
                sameText.out());
    }

    @Test
    void statsCountsDedupCompressionAndGarbage() {
        Path a = src("a", 1);
        push(a, "r", 1);
        push(a, "r", 2);
        push(src("b", 2), "r", 3, "--keep-last", "2");
        JsonNode j = cli.run("stats", store, "--json").json();
        assertEquals(2, j.get("checkpoints").asInt());
        assertTrue(j.get("unreferencedBytes").asLong() > 0, "the dropped checkpoint's manifest at least");
        assertTrue(j.get("logicalBytes").asLong() > j.get("distinctBytes").asLong() - 1);
        assertTrue(j.get("compressionRatio").asDouble() > 1.0, j.toString());
        assertTrue(cli.run("stats", store).out().contains("deduplication"));
    }

    @Test
    void doctorSaysWhatWorks() {
        Cli.Result r = cli.run("doctor", store);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("create-only writes") && r.out().contains("can hold checkpoints safely"), r.out());
        // the server in use for S3 (CkptToolS3Test runs this too), none for a local directory
        assertEquals(store.startsWith("s3://"), r.out().contains("\n  ok   server "), r.out());
        assertTrue(cli.run("doctor", store, "--json").json().get("conditionalWrites").asBoolean());
    }

    @Test
    void exportThenImportIntoAnotherStoreRestoresIdentically() throws Exception {
        Path a = src("a", 1);
        // each file's mode comes through (an import saved them all as 0644, the staging's default: helper-142)
        List<Path> files;
        try (var walk = Files.walk(a)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        String[] perms = {"rwxr-xr-x", "rwx------", "r--r--r--", "rw-------"};
        for (int i = 0; i < files.size(); i++) {
            Files.setPosixFilePermissions(files.get(i), java.nio.file.attribute.PosixFilePermissions.fromString(
                    perms[i % perms.length]));
        }
        String id = push(a, "r", 7, "--meta", "loss=0.25", "--epoch", "3");
        Path archive = tmp.resolve("r7.tar.zst");
        Cli.Result exp = cli.run("export", store, id, archive.toString());
        assertEquals(0, exp.code(), exp.toString());
        assertTrue(Files.isRegularFile(archive));
        String other = tmp.resolve("other").toString();
        Cli.Result imp = cli.run("import", other, archive.toString(), "--run", "moved", "--step", "7");
        assertEquals(0, imp.code(), imp.toString());
        String newId = imp.out().trim();
        Path out1 = tmp.resolve("out1");
        Path out2 = tmp.resolve("out2");
        assertEquals(0, cli.run("restore", store, id, out1.toString()).code());
        assertEquals(0, cli.run("restore", other, newId, out2.toString()).code());
        TestDirs.assertSameTree(TestDirs.snapshot(out1), out2);
        TestDirs.assertSameTree(TestDirs.snapshot(a), out2);
        for (Path f : files) {
            Path rel = a.relativize(f);
            assertEquals(Files.getPosixFilePermissions(f), Files.getPosixFilePermissions(out2.resolve(rel.toString())),
                    "the mode of " + rel + " after export and import");
        }
        assertEquals(cli.run("show", store, id, "--json").json().get("files").toString(),
                cli.run("show", other, newId, "--json").json().get("files").toString(), "the same files, modes too");
        assertEquals("0.25", cli.run("show", other, newId, "--json").json().get("metadata").get("loss").asText());
        assertTrue(!imp.err().contains("note:"), "a new step: no note: " + imp);
        // the same step imported again is kept twice, and import says so, as push does (a break helper's case)
        Cli.Result again = cli.run("import", other, archive.toString(), "--run", "moved", "--step", "7");
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.err().contains("note: run moved already had checkpoint " + newId + " at step 7; both are kept,"
                + " and moved@7 now names " + again.out().trim() + " (ckpt-tool forget " + other + " " + newId
                + " drops the older)"), again.toString());
    }

    /**
     * The lines that send the user to gc name the store, quoted for the shell: push's retention
     * line and forget's summary said "run ckpt-tool gc" with no store (a break helper's case).
     */
    @Test
    void retentionAndForgetNameTheStoreForGc() {
        Path a = src("a", 1);
        String spaced = tmp.resolve("my store").toString();
        String quoted = "'" + spaced + "'";
        Cli.Result first = cli.run("push", spaced, a.toString(), "--run", "r", "--step", "1");
        assertEquals(0, first.code(), first.toString());
        String id1 = first.out().trim();
        Cli.Result second = cli.run("push", spaced, a.toString(), "--run", "r", "--step", "2", "--keep-last", "1");
        assertEquals(0, second.code(), second.toString());
        assertTrue(second.err().contains("retention dropped: " + id1 + " (ckpt-tool gc " + quoted + " frees its space)"),
                second.toString());
        Cli.Result forget = cli.run("forget", spaced, "r@2");
        assertEquals(0, forget.code(), forget.toString());
        assertTrue(forget.out().contains("1 checkpoint forgotten; ckpt-tool gc " + quoted + " frees its space"), forget.toString());
        Cli.Result gc = cli.run("gc", spaced, "--grace", "0s");
        assertEquals(0, gc.code(), "the suggested command runs: " + gc);
        Cli.Result third = cli.run("push", spaced, a.toString(), "--run", "r", "--step", "3");
        String id3 = third.out().trim();
        assertEquals(0, cli.run("pin", spaced, id3).code());
        Cli.Result pinned = cli.run("forget", spaced, id3);
        String uri = dev.ckpt.store.util.ShellWords.word(Path.of(spaced).toUri().toString());
        assertTrue(pinned.err().contains("is pinned; unpin it first (ckpt-tool unpin " + uri + " " + id3 + ")"),
                pinned.toString());
    }

    /** Small files packed into shared chunks (format-3 manifest): show, verify, diff, export/import and restore --tensors. */
    @Test
    void packedFilesShowDiffExportAndRestoreTensors() throws Exception {
        Path a = tmp.resolve("packed");
        for (int i = 0; i < 40; i++) {
            Files.createDirectories(a.resolve("cfg"));
            Files.writeString(a.resolve("cfg/f" + i + ".json"), "{\"i\":" + i + "}");
        }
        TestDirs.safetensors(a.resolve("model.safetensors"), 5, 3000, 40);
        String ida = push(a, "p", 1);
        JsonNode manifest = dev.ckpt.store.manifest.Json.MAPPER.readTree(objects().get(Manifest.keyOf(ida)).data());
        assertEquals(Manifest.FORMAT_SLICES, manifest.get("format").asInt(), "small files packed: format 3");
        JsonNode show = cli.run("show", store, ida, "--json").json();
        assertEquals(41, show.get("files").size());
        assertTrue(show.get("distinctChunks").asInt() < 20, show.toString());
        assertEquals(0, cli.run("verify", store, "--read-data").code());

        Files.writeString(a.resolve("cfg/f7.json"), "{\"i\":777}");
        String idb = push(a, "p", 2);
        JsonNode diff = cli.run("diff", store, ida, idb, "--json").json();
        assertEquals(List.of("cfg/f7.json"), toList(diff.get("changed")));
        assertEquals(40, diff.get("unchanged").asInt());

        Path archive = tmp.resolve("p2.tar.zst");
        assertEquals(0, cli.run("export", store, idb, archive.toString()).code());
        String other = tmp.resolve("other").toString();
        Cli.Result imp = cli.run("import", other, archive.toString(), "--run", "moved", "--step", "2");
        assertEquals(0, imp.code(), imp.toString());
        Path out = tmp.resolve("out");
        assertEquals(0, cli.run("restore", other, imp.out().trim(), out.toString()).code());
        TestDirs.assertSameTree(TestDirs.snapshot(a), out);

        Cli.Result t = cli.run("restore", store, idb, tmp.resolve("t").toString(), "--tensors", "t1");
        assertEquals(0, t.code(), t.toString());
        assertTrue(Files.isRegularFile(tmp.resolve("t/model.safetensors")));

        // what a killed restore left beside the files --tensors writes is named, as by a whole restore, and kept
        Path t2 = Files.createDirectories(tmp.resolve("t2"));
        Files.writeString(t2.resolve(".ckpt-00000000beef.tmp"), "partial");
        Files.writeString(t2.resolve(".ckpt-00000000beef.old"), "replaced");
        Cli.Result left = cli.run("restore", store, idb, t2.toString(), "--tensors", "t1");
        assertEquals(0, left.code(), left.toString());
        assertTrue(left.err().contains("1 temporary of an interrupted restore (.ckpt-*.tmp, e.g. "
                + t2.resolve(".ckpt-00000000beef.tmp") + ")") && left.err().contains("1 file named .ckpt-*.old in " + t2),
                left.err());
        JsonNode lj = cli.run("restore", store, idb, t2.toString(), "--tensors", "t1", "--json").json();
        assertEquals(t2.resolve(".ckpt-00000000beef.tmp").toString(), lj.get("leftoverTemporaries").get(0).asText());
        assertEquals(t2.resolve(".ckpt-00000000beef.old").toString(), lj.get("replacedVersions").get(0).asText());
        assertTrue(Files.exists(t2.resolve(".ckpt-00000000beef.tmp")) && Files.exists(t2.resolve(".ckpt-00000000beef.old")));
        assertEquals(0, lj.get("unindexed").size(), lj.toString());
        assertFalse(left.err().contains("note:"), left.err());

        // a safetensors file whose header breaks the format's rules has no index: the restore says it was not searched
        // (it was left out unsaid: helper-142)
        byte[] header = "{\"t1\":{\"dtype\":\"F32\",\"shape\":[9],\"data_offsets\":[0,8]}}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Files.write(a.resolve("broken.safetensors"), java.nio.ByteBuffer.allocate(16 + header.length)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header).array());
        String idc = push(a, "p", 3);
        Cli.Result noted = cli.run("restore", store, idc, tmp.resolve("t3").toString(), "--tensors", "t1");
        assertEquals(0, noted.code(), noted.toString());
        assertTrue(noted.err().contains("note: its safetensors file 'broken.safetensors' has no tensor index and was not"
                + " searched") && noted.err().contains("restore them whole (without --tensors)"), noted.toString());
        assertFalse(Files.exists(tmp.resolve("t3/broken.safetensors")));
        JsonNode nj = cli.run("restore", store, idc, tmp.resolve("t4").toString(), "--tensors", "t1", "--json").json();
        assertEquals("broken.safetensors", nj.get("unindexed").get(0).asText(), nj.toString());
    }

    @Test
    void importRefusesPathTraversalAndCommitsNothing() throws Exception {
        Path archive = tmp.resolve("evil.tar.zst");
        try (var raw = Files.newOutputStream(archive);
             var zstd = new com.github.luben.zstd.ZstdOutputStream(raw);
             var tar = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(zstd)) {
            byte[] data = "pwned".getBytes();
            var e = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("files/../../escaped.txt");
            e.setSize(data.length);
            tar.putArchiveEntry(e);
            tar.write(data);
            tar.closeArchiveEntry();
        }
        Cli.Result r = cli.run("import", store, archive.toString(), "--run", "x", "--step", "1");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("files/../../escaped.txt"), r.err());
        assertFalse(Files.exists(tmp.resolve("escaped.txt")));
        assertFalse(Files.exists(Path.of(store)), "the store the refused import created is removed again");
        assertEquals(0, cli.run("init", store).code());
        assertEquals(1, cli.run("import", store, archive.toString(), "--run", "x", "--step", "1").code());
        assertEquals(0, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing committed");
    }

    /**
     * An archive whose manifest carries a metadata key with a control character is refused as push --meta refuses
     * the key, naming it escaped; nothing is imported (helper-132/133: it was committed, then listed raw).
     */
    @Test
    void anArchivesMetadataKeyWithAControlCharacterIsRefused() throws Exception {
        String id = push(src("m", 1), "m", 1);
        Path archive = tmp.resolve("m.tar.zst");
        assertEquals(0, cli.run("export", store, id, archive.toString()).code());
        Path edited = tmp.resolve("m-edited.tar.zst");
        try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                new com.github.luben.zstd.ZstdInputStream(Files.newInputStream(archive)));
             var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
                     new com.github.luben.zstd.ZstdOutputStream(Files.newOutputStream(edited)), "UTF-8")) {
            out.setLongFileMode(org.apache.commons.compress.archivers.tar.TarArchiveOutputStream.LONGFILE_POSIX);
            for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                byte[] data = in.readAllBytes();
                if (e.getName().equals(ExportCommand.MANIFEST_ENTRY)) {
                    String json = new String(data, java.nio.charset.StandardCharsets.UTF_8);
                    String withKey = json.replaceFirst("\"metadata\" : \\{ *\\}", "\"metadata\" : {\"k\\\\nx\" : \"v\"}");
                    assertFalse(withKey.equals(json), json);
                    data = withKey.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                }
                var copy = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(e.getName());
                copy.setSize(data.length);
                copy.setMode(e.getMode());
                out.putArchiveEntry(copy);
                out.write(data);
                out.closeArchiveEntry();
            }
        }
        Cli.Result r = cli.run("import", store, edited.toString(), "--run", "k", "--step", "1");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("cannot be imported as it is: metadata key 'k\\u000Ax' holds a control character"),
                r.err());
        assertEquals(0, cli.run("ls", store, "--run", "k", "--json").json().get("checkpoints").size(), "nothing imported");
    }

    /**
     * helper-105: an archive repacked with GNU tar from an unpacked export (tar -C dir .) names its entries "./..."
     * and holds "./" itself; every entry was refused as "not under files/". It imports as the export does; a "./"
     * prefix that hides a way out is still refused.
     */
    @Test
    void anArchiveRepackedWithDotSlashNamesImports() throws Exception {
        Path a = src("a", 1);
        String id = push(a, "r", 1);
        Path archive = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", store, id, archive.toString()).code());
        for (String extra : new String[] {null, "./../escaped.txt"}) {
            Path repacked = tmp.resolve("repacked" + (extra == null ? "" : "-evil") + ".tar.zst");
            try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                    new com.github.luben.zstd.ZstdInputStream(Files.newInputStream(archive)));
                 var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
                         new com.github.luben.zstd.ZstdOutputStream(Files.newOutputStream(repacked)))) {
                out.setLongFileMode(org.apache.commons.compress.archivers.tar.TarArchiveOutputStream.LONGFILE_POSIX);
                out.putArchiveEntry(new org.apache.commons.compress.archivers.tar.TarArchiveEntry("./"));
                out.closeArchiveEntry();
                for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                    byte[] data = in.readAllBytes();
                    var copy = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("./" + e.getName());
                    copy.setSize(data.length);
                    copy.setMode(e.getMode());
                    out.putArchiveEntry(copy);
                    out.write(data);
                    out.closeArchiveEntry();
                }
                if (extra != null) {
                    var evil = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(extra);
                    evil.setSize(1);
                    out.putArchiveEntry(evil);
                    out.write('x');
                    out.closeArchiveEntry();
                }
            }
            Cli.Result r = cli.run("import", store, repacked.toString(), "--run", "i", "--step", extra == null ? "1" : "2");
            if (extra == null) {
                assertEquals(0, r.code(), r.toString());
                Path out = tmp.resolve("restored-repack");
                assertEquals(0, cli.run("restore", store, "i@1", out.toString()).code());
                assertEquals(Files.readString(a.resolve("file1.bin"), java.nio.charset.StandardCharsets.ISO_8859_1),
                        Files.readString(out.resolve("file1.bin"), java.nio.charset.StandardCharsets.ISO_8859_1));
            } else {
                assertEquals(1, r.code(), r.toString());
                assertTrue(r.err().contains("'../escaped.txt'"), r.err());
                assertFalse(Files.exists(tmp.resolve("escaped.txt")));
            }
        }
    }

    @Test
    void errorsAreOneLineAndUsageErrorsExitTwo() {
        String missing = tmp.resolve("no-store-here").toString();
        Cli.Result bad = cli.run("ls", missing);
        assertEquals(1, bad.code());
        assertEquals(1, bad.err().lines().count(), bad.err());
        assertTrue(bad.err().contains(missing), bad.err());
        Cli.Result verbose = cli.run("ls", missing, "--verbose");
        assertTrue(verbose.err().lines().count() > 3, "stack trace with --verbose");
        // a store URL of the wrong shape is a usage error, as a checkpoint name of the wrong shape (helper-119: exit 1)
        Cli.Result scheme = cli.run("ls", "ftp://nowhere/x");
        assertEquals(2, scheme.code(), scheme.toString());
        assertTrue(scheme.err().startsWith("ckpt-tool ls: Invalid value for STORE: store URL 'ftp://nowhere/x' has unknown"
                + " scheme 'ftp'"), scheme.err());
        assertEquals(2, cli.run("push", store).code());
        assertEquals(2, cli.run("frobnicate").code());
        Cli.Result help = cli.run("gc", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("Example:") && help.out().contains("--dry-run"), help.out());
        assertTrue(cli.run("--help").out().contains("5  the backend lacks the conditional writes"));
    }

    @Test
    void aGcWhileAnotherHoldsTheLeaseExitsFour() {
        push(src("a", 1), "r", 1, "--keep-last", "1");
        push(src("b", 2), "r", 2, "--keep-last", "1");
        FaultInjectingObjectStore faulty = new FaultInjectingObjectStore(objects());
        faulty.crashAtWrite(1, false); // after taking the lease, before writing its record: a GC that died
        try (CheckpointStore s = CheckpointStore.open(faulty, StoreConfig.defaults().withGcGrace(java.time.Duration.ZERO))) {
            try {
                s.gc(GcRequest.collect());
            } catch (Error expected) {
                // the simulated crash
            }
        }
        Cli.Result r = cli.run("gc", store, "--grace", "0s");
        assertEquals(ExitCode.FENCED_OR_CONFLICT, r.code(), r.toString());
        assertTrue(r.err().contains("lease"), r.err());
    }
}

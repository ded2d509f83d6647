package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    @TempDir
    Path tmp;

    private String[] args(Path dir, String... more) {
        String[] base = {"--store", dir.resolve("store").toString(), "--staging", dir.resolve("staging").toString(), "--run", "t"};
        String[] all = new String[base.length + more.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    private static double lossAt(Result r, long step) {
        Pattern p = Pattern.compile("^step " + step + "  loss (\\S+) .*");
        for (String l : r.lines()) {
            Matcher m = p.matcher(l);
            if (m.matches()) {
                return Double.parseDouble(m.group(1));
            }
        }
        throw new AssertionError("no progress line for step " + step + "\n" + r.all());
    }

    @Test
    void trainsLossDecreasesAndEveryFileOfTheCheckpointIsThere() throws Exception {
        Result r = TrainerRuns.inProcess(args(tmp, "--steps", "150", "--save-every", "50", "--log-every", "25"));
        assertEquals(0, r.code(), r.all());
        assertTrue(lossAt(r, 150) < 0.6 * lossAt(r, 25), "loss goes down\n" + r.out());
        // Each progress line names the newest checkpoint committed by then: none, or one saved at an earlier step.
        // Which one depends on timing (saves run behind training; under load step 50's may commit after step 150).
        java.util.Map<String, Long> savedAt = new java.util.HashMap<>();
        for (String l : r.lines()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^saved step (\\d+) as (\\S+):").matcher(l);
            if (m.find()) {
                savedAt.put(m.group(2), Long.parseLong(m.group(1)));
            }
        }
        assertEquals(3, savedAt.size(), r.out());
        for (String l : r.lines()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^step (\\d+)  loss .* last committed (\\S+)$").matcher(l);
            if (m.matches() && !m.group(2).equals("none")) {
                Long saved = savedAt.get(m.group(2));
                assertTrue(saved != null && saved < Long.parseLong(m.group(1)), l + "\n" + r.out());
            }
        }
        Path dir = tmp.resolve("staging/t/step-150");
        for (String f : List.of("encoder.safetensors", "adapter_llama.safetensors", "adapter_qwen.safetensors",
                "optimizer.safetensors", "state.json", "config.json", "training_stats.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        Map<String, SafeTensors.Tensor> enc = SafeTensors.read(dir.resolve("encoder.safetensors"));
        assertArrayEquals(new long[]{64, 128}, enc.get("encoder.weight").shape());
        assertArrayEquals(new long[]{128}, enc.get("encoder.bias").shape());
        Map<String, SafeTensors.Tensor> opt = SafeTensors.read(dir.resolve("optimizer.safetensors"));
        assertEquals(12, opt.size(), opt.keySet().toString()); // 6 parameters x (exp_avg, exp_avg_sq)
        assertTrue(opt.containsKey("adapter_qwen.weight.exp_avg_sq"));
        var state = CheckpointFiles.JSON.readTree(dir.resolve("state.json").toFile());
        assertEquals(150, state.get("step").asLong());
        assertEquals(150, state.get("optimizer_step").asLong());
        assertEquals(4, state.get("epoch").asLong()); // 1024 samples / 32 = 32 steps per epoch
        assertEquals(20, state.get("recent_losses").size());
        // the same bytes in every JVM, so that a resumed run's config.json deduplicates (helper-103: the optimizer's
        // keys came in Map.of's order, which changes from one JVM to the next)
        assertTrue(Files.readString(dir.resolve("config.json")).replaceAll("\\s+", "").endsWith(
                "\"optimizer\":{\"name\":\"adam\",\"beta1\":0.9,\"beta2\":0.999,\"eps\":1.0E-8}}"),
                Files.readString(dir.resolve("config.json")));
        // only the committed copy stays staged
        try (var s = Files.list(tmp.resolve("staging/t"))) {
            assertEquals(List.of("step-150"), s.map(p -> p.getFileName().toString()).toList());
        }
        // the store holds the last 3 and they verify deeply
        assertEquals(3, TrainerRuns.deepVerify(tmp.resolve("store")).checkpoints());
        assertTrue(TrainerRuns.deepVerify(tmp.resolve("store")).ok());
    }

    /**
     * The store and staging paths the trainer repeats (its first line, its last, its notes) are
     * written as a terminal shows them: the staging directory's escape sequence had been printed raw.
     */
    @Test
    void pathsItRepeatsCannotDriveTheTerminal() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("e\u001b[31m\r"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Trainer.run(args(dir, "--steps", "4", "--save-every", "2"), new PrintStream(out, true,
                StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of(), CheckpointStore::open, false); // as main runs it: through its output streams
        Result r = new Result(code, out.toString(StandardCharsets.UTF_8),
                err.toString(StandardCharsets.UTF_8));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.all().chars().noneMatch(c -> c == 0x1b || c == '\r'), r.all());
        assertTrue(r.out().contains("staging " + tmp.resolve("e") + "\\u001B[31m\\u000D/staging"), r.out());
    }

    /** A line break in a path the trainer's error names is escaped: it split the error's line (helper-131's survey). */
    @Test
    void aLineBreakInANameCannotSplitItsError() throws Exception {
        Path staging = tmp.resolve("st\nckpt-train: fake");
        java.nio.file.Files.writeString(staging, "a file, not a directory");
        Result r = TrainerRuns.inProcess(new String[]{"--store", tmp.resolve("store").toString(), "--staging",
                staging.toString(), "--run", "t", "--steps", "2"});
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().lines().noneMatch(l -> l.startsWith("ckpt-train: fake")), r.err());
        assertTrue(r.err().contains("st\\u000Ackpt-train: fake is not a directory"), r.err());
        // a staging directory inside the store: the usage error names both on one line (helper-133)
        Path store = tmp.resolve("ov\nckpt-train: fake");
        Result overlap = TrainerRuns.inProcess(new String[]{"--store", store.toString(), "--staging",
                store.resolve("stg").toString(), "--run", "t", "--steps", "2"});
        assertEquals(2, overlap.code(), overlap.all());
        assertTrue(overlap.err().lines().noneMatch(l -> l.startsWith("ckpt-train: fake")), overlap.err());
        assertTrue(overlap.err().contains("ov\\u000Ackpt-train: fake/stg/t: it is inside the store "), overlap.err());
    }

    /** The staging path in the first and last lines, and a leftover's removal, stay on one line (helper-132). */
    @Test
    void aLineBreakInTheStagingPathKeepsEachLineWhole() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("n\nfake"));
        Path leftover = Files.createDirectories(dir.resolve("staging/t")).resolve("a\nfake.tmp");
        Files.writeString(leftover, "an interrupted write's");
        Result r = TrainerRuns.inProcess(args(dir, "--steps", "2", "--save-every", "2"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.all().lines().noneMatch(l -> l.startsWith("fake")), r.all());
        assertTrue(r.out().contains("staging " + tmp.resolve("n") + "\\u000Afake/staging"), r.out());
        assertTrue(r.out().contains("staged copy in " + tmp.resolve("n") + "\\u000Afake/staging/t/step-2"), r.out());
        assertTrue(r.all().contains("removing leftover of an interrupted write: ") && r.all().contains("a\\u000Afake.tmp"),
                r.all());
        assertFalse(Files.exists(leftover));
    }

    @Test
    void tensorFilesLoadInPythonWithTheirNamesAndValues() throws Exception {
        Result r = TrainerRuns.inProcess(args(tmp, "--steps", "10", "--save-every", "10"));
        assertEquals(0, r.code(), r.all());
        Path dir = tmp.resolve("staging/t/step-10");
        org.junit.jupiter.api.Assumptions.assumeTrue(pythonWithNumpy(), "python3 with numpy is not installed here");
        String script = """
                import json, struct, sys
                import numpy as np
                for name in sys.argv[1:]:
                    with open(name, 'rb') as f:
                        n = struct.unpack('<Q', f.read(8))[0]
                        header = json.loads(f.read(n))
                        data = f.read()
                    for k, v in header.items():
                        if k == '__metadata__':
                            continue
                        a, b = v['data_offsets']
                        t = np.frombuffer(data[a:b], dtype='<f4').reshape(v['shape'])
                        print(k, list(t.shape), repr(float(t.astype(np.float64).sum())))
                """;
        Path py = tmp.resolve("load.py");
        Files.writeString(py, script);
        Process p = new ProcessBuilder("python3", py.toString(), dir.resolve("encoder.safetensors").toString(),
                dir.resolve("optimizer.safetensors").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        Map<String, SafeTensors.Tensor> tensors = new java.util.LinkedHashMap<>();
        tensors.putAll(SafeTensors.read(dir.resolve("encoder.safetensors")));
        tensors.putAll(SafeTensors.read(dir.resolve("optimizer.safetensors")));
        assertEquals(tensors.size(), out.lines().count(), out);
        for (String line : out.lines().toList()) {
            String[] parts = line.split(" ", 2);
            SafeTensors.Tensor t = tensors.get(parts[0]);
            double sum = 0;
            for (float f : t.toFloats()) {
                sum += f;
            }
            String[] rest = parts[1].split("] ");
            assertEquals(java.util.Arrays.toString(t.shape()), rest[0] + "]", parts[0]);
            assertEquals(sum, Double.parseDouble(rest[1]), Math.abs(sum) * 1e-9 + 1e-9, parts[0]);
        }
    }

    private static boolean pythonWithNumpy() {
        try {
            return new ProcessBuilder("python3", "-c", "import numpy").start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * --auto-resume with a --store that did not exist (a typo) says a new store was made there:
     * it said only "no checkpoint yet; starting from step 0" (helper-98). An existing store
     * without the run's checkpoints says nothing of the kind.
     */
    @Test
    void autoResumeFromAStoreThatDidNotExistSaysANewOneWasMade() {
        Result typo = TrainerRuns.inProcess(args(tmp.resolve("a"), "--steps", "2", "--save-every", "2", "--auto-resume"));
        assertEquals(0, typo.code(), typo.all());
        assertTrue(typo.out().contains("auto-resume: run t has no checkpoint yet; starting from step 0 (--store "
                + tmp.resolve("a/store") + " did not exist: a new store was made there; if you meant to resume from"
                + " another, check the path)"), typo.out());
        String[] other = args(tmp.resolve("a"), "--steps", "2", "--save-every", "2", "--auto-resume");
        other[5] = "u"; // --run u: the store exists now
        Result fresh = TrainerRuns.inProcess(other);
        assertEquals(0, fresh.code(), fresh.all());
        assertTrue(fresh.out().contains("auto-resume: run u has no checkpoint yet; starting from step 0 (the runs with"
                + " checkpoints in this store: t; if you meant one of them, stop and give its --run)"), fresh.out());
    }

    @Test
    void aResumeAtOrPastStepsSaysThereIsNothingToTrain() {
        Result first = TrainerRuns.inProcess(args(tmp, "--steps", "4", "--save-every", "2"));
        assertEquals(0, first.code(), first.all());
        Result past = TrainerRuns.inProcess(args(tmp, "--steps", "2", "--save-every", "2", "--auto-resume"));
        assertEquals(0, past.code(), past.all());
        assertTrue(past.out().contains("nothing to train: run t resumed at step 4, past --steps 2; to train on, pass"
                + " --steps above 4"), past.out());
        assertTrue(past.out().contains("done: run t at step 4"), past.out());
        Result at = TrainerRuns.inProcess(args(tmp, "--steps", "4", "--save-every", "2", "--auto-resume"));
        assertEquals(0, at.code(), at.all());
        assertTrue(at.out().contains("nothing to train: run t resumed at step 4, and --steps is 4; to train on, pass --steps above 4"), at.out());
        Result on = TrainerRuns.inProcess(args(tmp, "--steps", "6", "--save-every", "2", "--auto-resume"));
        assertEquals(0, on.code(), on.all());
        assertFalse(on.out().contains("nothing to train"), on.out());
        assertTrue(on.out().contains("done: run t at step 6"), on.out());
    }

    /**
     * A start-up that fails on the store says what it was doing, on which store, and that
     * nothing was trained, before the error itself (helper-123: one line about ROOT on S3).
     */
    @Test
    void aStartUpThatFailsOnTheStoreSaysWhatItWasDoing() throws Exception {
        Path store = java.nio.file.Files.createDirectories(tmp.resolve("blocked/ROOT")).getParent();
        Result r = TrainerRuns.inProcess(new String[]{"--store", store.toString(), "--staging", tmp.resolve("stg").toString(),
                "--run", "t", "--steps", "2"});
        assertEquals(1, r.code(), r.all());
        List<String> lines = r.err().lines().toList();
        int at = lines.indexOf("ckpt-train: the start-up failed while opening the store (store " + store.toUri() + "); nothing"
                + " was trained");
        assertTrue(at >= 0 && at + 1 < lines.size() && lines.get(at + 1).contains("a directory is in its place"), r.err());
    }

    @Test
    void aStoreThatHoldsOrLiesInTheRunsStagingDirectoryIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path staging = tmp.resolve("staging");
        java.nio.file.Files.createDirectories(tmp.resolve("elsewhere"));
        java.nio.file.Files.createSymbolicLink(tmp.resolve("link"), tmp);
        Map<String, String> stores = new java.util.LinkedHashMap<>();
        stores.put(staging.toString(), "it is inside the store " + staging);
        stores.put(staging.resolve("t").toUri().toString(), "it is the store");
        stores.put(staging.resolve("t/store").toString(), "it holds the store " + staging.resolve("t/store"));
        stores.put(tmp.resolve("link/staging").toString(), "it is inside the store " + tmp.resolve("link/staging")); // a link
        stores.put("file:" + staging, "it is inside the store " + staging); // file:/abs is a URL (was ./file:/abs)
        for (Map.Entry<String, String> s : stores.entrySet()) {
            Result r = TrainerRuns.inProcess(new String[]{"--store", s.getKey(), "--staging", staging.toString(), "--run", "t",
                    "--steps", "2"});
            assertEquals(2, r.code(), r.all());
            assertTrue(r.err().contains("ckpt-train: cannot stage the checkpoints of run t in " + staging.resolve("t") + ": "
                    + s.getValue() + "; checkpoints are staged there and then uploaded into the store, so the two must be"
                    + " apart:"), r.err());
            assertTrue(r.err().contains("; nothing was written"), r.err());
            assertFalse(java.nio.file.Files.exists(staging), s.getKey());
        }
        // a staging directory reached through a link and "..": where the system puts it, inside the store (helper-100)
        Path store = java.nio.file.Files.createDirectories(tmp.resolve("store2/deep")).getParent();
        java.nio.file.Files.createSymbolicLink(tmp.resolve("lnk"), store.resolve("deep"));
        Result dotDot = TrainerRuns.inProcess(new String[]{"--store", store.toString(), "--staging",
                tmp.resolve("lnk/../chunks").toString(), "--run", "t", "--steps", "2"});
        assertEquals(2, dotDot.code(), dotDot.all());
        assertTrue(dotDot.err().contains(": it is inside the store " + store + ";"), dotDot.err());
        assertFalse(java.nio.file.Files.exists(store.resolve("chunks")), dotDot.all());
        assertFalse(java.nio.file.Files.exists(store.resolve("ROOT")), dotDot.all());
        // file:x/... is no path: refused as a URL, nothing made (it had been opened as ./file:x/..)
        // (a usage error since helper-119: a store URL of the wrong shape is refused as the options are read)
        picocli.CommandLine.ParameterException relativeUrl = org.junit.jupiter.api.Assertions.assertThrows(
                picocli.CommandLine.ParameterException.class, () -> TrainerRuns.inProcess(new String[]{"--store",
                        "file:x/../" + staging, "--staging", staging.toString(), "--run", "t", "--steps", "2"}));
        assertTrue(relativeUrl.getMessage().contains("is not a valid file URL"), relativeUrl.getMessage());
        assertFalse(java.nio.file.Files.exists(staging), relativeUrl.getMessage());
        // beside each other under one directory: a store the run's staging directory neither is, holds nor lies in
        Result beside = TrainerRuns.inProcess(new String[]{"--store", staging.resolve("store").toString(), "--staging",
                staging.toString(), "--run", "t", "--steps", "2"});
        assertEquals(0, beside.code(), beside.all());
        assertTrue(java.nio.file.Files.exists(staging.resolve("store/ROOT")), beside.all());
        // --staging as a file: URL is the path it names, as --store is (helper-101: it staged into ./file:/...)
        Result url = TrainerRuns.inProcess(new String[]{"--store", tmp.resolve("store3").toString(), "--staging",
                "file://" + tmp.resolve("staging3"), "--run", "t", "--steps", "2"});
        assertEquals(0, url.code(), url.all());
        assertTrue(java.nio.file.Files.isDirectory(tmp.resolve("staging3/t/step-2")), url.all());
        assertTrue(url.out().contains("staged copy in " + tmp.resolve("staging3/t/step-2")), url.out());
    }

    /**
     * A start refused for its staging directory has not claimed the run: the job that runs it
     * keeps its writer epoch (helper-112: a start refused for a read-only staging directory
     * had fenced the running job, which failed at its next save). /proc/self is a directory no
     * one can write in, so {@code --staging /proc --run self} is one.
     */
    @Test
    void aStartRefusedForItsStagingDirectoryLeavesTheRunsWriterAlone() throws Exception {
        Path dir = tmp.resolve("claim");
        String[] first = {"--store", dir.resolve("store").toString(), "--staging", dir.resolve("staging").toString(), "--run",
                "self", "--steps", "2", "--save-every", "2"};
        assertEquals(0, TrainerRuns.inProcess(first).code());
        long epoch;
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            epoch = s.root().runs().get("self").writerEpoch();
        }
        Result refused = TrainerRuns.inProcess(new String[]{"--store", dir.resolve("store").toString(), "--staging", "/proc",
                "--run", "self", "--steps", "4"});
        assertEquals(1, refused.code(), refused.all());
        assertTrue(refused.err().contains("cannot write in the staging directory /proc/self"), refused.err());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(epoch, s.root().runs().get("self").writerEpoch(), "the run's writer is unchanged");
        }
    }

    /**
     * A resume past a checkpoint with a corrupt chunk warns with the reason and the file, not
     * with a single restore's advice (helper-113: the warning named the resume's own
     * {@code restore.tmp} as "as it was" and said to restore an earlier checkpoint, in the middle
     * of the fall-back that does so).
     */
    @Test
    void aResumePastACorruptChunkWarnsWithTheReasonNotARestoresAdvice() throws Exception {
        Path dir = tmp.resolve("cc");
        assertEquals(0, TrainerRuns.inProcess(args(dir, "--steps", "20", "--save-every", "10")).code());
        String broken;
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            broken = s.resolve("t@20").id();
            java.util.List<String> older = s.manifest(s.resolve("t@10")).chunks();
            String hash = s.manifest(s.resolve("t@20")).chunks().stream().filter(h -> !older.contains(h)).findFirst()
                    .orElseThrow();
            String key = "chunks/" + hash.substring(0, 2) + "/" + hash;
            byte[] data = s.objectStore().get(key).data();
            data[data.length / 2] ^= 0x40;
            s.objectStore().put(key, data);
        }
        dev.ckpt.store.util.LocalFiles.deleteTree(dir.resolve("staging"));
        Result r = TrainerRuns.inProcess(args(dir, "--steps", "30", "--save-every", "10", "--auto-resume"));
        assertEquals(0, r.code(), r.all());
        String warning = r.err().lines().filter(l -> l.startsWith("auto-resume: WARNING")).findFirst().orElseThrow();
        assertTrue(warning.startsWith("auto-resume: WARNING checkpoint " + broken + " (step 20) failed verification: chunk ")
                && warning.contains("corrupt") && (warning.contains("(file ") || warning.contains("(the pack of small files "))
                && warning.endsWith("; fell back to an older checkpoint"), warning);
        assertFalse(warning.contains("restore.tmp") || warning.contains("restore an earlier"), warning);
        assertTrue(r.out().contains("auto-resume: restored checkpoint t-s10-"), r.out());
    }

    /**
     * An older staged copy that cannot be removed (here an undeletable file in a stale
     * {@code step-999}, met at the start and after each commit) is a warning, not a failed save: the saves commit and say so, and
     * the last one's staged copy stays where the final line says (helper-115: each committed save
     * was then reported FAILED, and its failure path deleted its staged copy). The undeletable
     * file: {@link dev.ckpt.store.testing.Undeletable}.
     */
    @Test
    void anOlderStagedCopyThatCannotBeRemovedIsAWarningNotAFailedSave() throws Exception {
        Path dir = tmp.resolve("stuck");
        Path stale = Files.createDirectories(dir.resolve("staging").resolve("t").resolve("step-999"));
        Path pinned = Files.writeString(stale.resolve("state.json"), "{}");
        try (dev.ckpt.store.testing.Undeletable u = new dev.ckpt.store.testing.Undeletable(pinned)) {
            Result r = TrainerRuns.inProcess(args(dir, "--steps", "20", "--save-every", "10"));
            assertEquals(0, r.code(), r.all());
            assertFalse(r.all().contains("FAILED"), r.all());
            // said at the start (a start from step 0 removes every uncommitted copy: helper-153), and not again when each
            // commit tries once more; the commits' failing removals are no failed saves (helper-115)
            assertTrue(r.err().contains("ckpt-train: a start from step 0 removes the copies of saves an earlier process never"
                    + " committed, but the staged copy " + stale + " could not be removed (" + pinned + ": "), r.err());
            assertEquals(1, r.err().split("could not be removed", -1).length - 1, "said once (helper-116): " + r.err());
            assertTrue(Files.isDirectory(dir.resolve("staging").resolve("t").resolve("step-20")), "the last staged copy stays");
            assertEquals("{}", Files.readString(pinned));
            try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
                assertEquals(List.of(10L, 20L), s.list("t").stream().map(e -> e.step()).toList());
            }
        }
    }

    /**
     * A resume with a staged copy it cannot remove goes on with a warning (helper-116: it ended
     * with a bare "Read-only file system"); one whose own step's copy cannot be replaced by the
     * restored one stops before training, naming it and what to do, with no {@code restore.tmp}
     * left (helper-116: a bare "Operation not permitted", the restored copy left behind).
     */
    @Test
    void aResumeWithStagedCopiesItCannotRemoveOrReplaceSaysSo() throws Exception {
        Path dir = tmp.resolve("resume-stuck");
        assertEquals(0, TrainerRuns.inProcess(args(dir, "--steps", "20", "--save-every", "10")).code());
        Path run = dir.resolve("staging").resolve("t");
        Path stale = Files.createDirectories(run.resolve("step-999"));
        Path pinned = Files.writeString(stale.resolve("state.json"), "{}");
        try (dev.ckpt.store.testing.Undeletable u = new dev.ckpt.store.testing.Undeletable(pinned)) {
            Result r = TrainerRuns.inProcess(args(dir, "--steps", "30", "--save-every", "10", "--auto-resume"));
            assertEquals(0, r.code(), r.all());
            assertTrue(r.err().contains("but the staged copy " + stale + " could not be removed (" + pinned + ": "), r.all());
            assertEquals(1, r.err().split("could not be removed", -1).length - 1, r.all());
        }
        // its own step's copy in the way of the restored one (the staged copy gone from the store's view: a new store)
        Path own = run.resolve("step-30");
        Path ownPinned = own.resolve("state.json");
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            String id = s.resolve("t@30").id();
            Files.writeString(own.resolve("training_stats.json"), "changed: not the checkpoint as committed");
            try (dev.ckpt.store.testing.Undeletable u = new dev.ckpt.store.testing.Undeletable(ownPinned)) {
                Result r = TrainerRuns.inProcess(args(dir, "--steps", "40", "--save-every", "10", "--auto-resume"));
                assertEquals(1, r.code(), r.all());
                assertTrue(r.err().contains("ckpt-train: staging directory " + run + ": checkpoint " + id + " was restored"
                        + " but cannot replace " + own + " (" + ownPinned + ": "), r.all());
                assertTrue(r.err().contains("nothing was trained"), r.all());
                assertFalse(Files.exists(run.resolve("restore.tmp")), "no restore.tmp left");
                assertFalse(r.out().contains("step 31"), r.out());
            }
        }
    }

    /**
     * A resume that finds every checkpoint of the run damaged fails saying each reason once and
     * what the run can do, not naming its own temporary {@code restore.tmp} as "as it was"
     * (helper-114); nothing is trained.
     */
    @Test
    void aResumePastEveryCheckpointSaysEachReasonAndWhatTheRunCanDo() throws Exception {
        Path dir = tmp.resolve("all");
        assertEquals(0, TrainerRuns.inProcess(args(dir, "--steps", "20", "--save-every", "10")).code());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            for (String sel : List.of("t@10", "t@20")) {
                s.objectStore().delete(s.resolve(sel).manifest());
            }
        }
        dev.ckpt.store.util.LocalFiles.deleteTree(dir.resolve("staging"));
        Result r = TrainerRuns.inProcess(args(dir, "--steps", "30", "--save-every", "10", "--auto-resume"));
        assertEquals(1, r.code(), r.all());
        String said = r.err().lines().filter(l -> l.startsWith("ckpt-train: no checkpoint could be restored: ")).findFirst()
                .orElseThrow(() -> new AssertionError(r.all()));
        assertEquals(2, said.split("failed verification", -1).length - 1, said);
        assertFalse(said.contains("restore.tmp") || said.contains("restore an earlier"), said);
        assertTrue(said.endsWith("; nothing was trained. ckpt-tool verify --read-data file://" + dir.resolve("store")
                + "/ says what is wrong with each and what to do; or train run t from step 0: run again without"
                + " --auto-resume (its saves write again the chunks they hold)"), said);
        assertFalse(r.out().contains("step 21"), "nothing trained: " + r.out());
    }

    /**
     * A resume whose newest checkpoint has a corrupt manifest falls back to the one before,
     * warns, and names the next step (helper-106: it gave none): verify after the first save,
     * which says per damage what to do; for a manifest, forget the checkpoint. Followed, that
     * leaves a store that verifies.
     */
    @Test
    void aResumePastACorruptManifestWarnsAndNamesTheWayOut() throws Exception {
        Path dir = tmp.resolve("cm");
        assertEquals(0, TrainerRuns.inProcess(args(dir, "--steps", "20", "--save-every", "10")).code());
        String broken;
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            broken = s.resolve("t@20").id();
            s.objectStore().put(s.resolve("t@20").manifest(), "{\"broken".getBytes(StandardCharsets.UTF_8));
        }
        dev.ckpt.store.util.LocalFiles.deleteTree(dir.resolve("staging"));
        Result r = TrainerRuns.inProcess(args(dir, "--steps", "30", "--save-every", "10", "--auto-resume"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.err().contains("auto-resume: WARNING checkpoint " + broken + " (step 20) failed verification: manifest "),
                r.err());
        assertTrue(r.out().contains("auto-resume: restored checkpoint t-s10-"), r.out());
        String url = "file://" + dir.resolve("store") + "/";
        assertTrue(r.err().contains("auto-resume: the checkpoints above stay in the store and count toward retention; after"
                + " this run's first save (it writes again the chunks it holds), ckpt-tool verify --read-data " + url + " says"
                + " which are still damaged and what to do about each"), r.err());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertFalse(s.verify(new dev.ckpt.store.VerifyRequest(List.of(), 1.0)).ok());
            s.forget(dev.ckpt.store.ForgetRequest.of(broken));
            assertTrue(s.verify(new dev.ckpt.store.VerifyRequest(List.of(), 1.0)).ok(), "the way out, followed");
        }
    }

    /**
     * helper-118: --store naming a non-empty directory that holds no store made a store among its files with no
     * word; now a note says so (once: the next run finds the store). A --store inside another store is refused,
     * naming that store, and nothing is made there.
     */
    @Test
    void aStoreMadeAmongFilesIsSaidAndOneInsideAnotherStoreIsRefused() throws Exception {
        Path dir = tmp.resolve("among");
        Files.createDirectories(dir.resolve("store"));
        Files.writeString(dir.resolve("store/notes.txt"), "the user's");
        Result first = TrainerRuns.inProcess(args(dir, "--steps", "10", "--save-every", "10"));
        assertEquals(0, first.code(), first.all());
        assertTrue(first.out().contains("note: --store " + dir.resolve("store") + " held 1 entry but no store: a new store"
                + " (ROOT, chunks/, manifests/) was made among them; if you meant another store, check the path"), first.out());
        Result again = TrainerRuns.inProcess(args(dir, "--steps", "20", "--save-every", "10", "--auto-resume"));
        assertEquals(0, again.code(), again.all());
        assertFalse(again.out().contains("but no store"), again.out());
        assertEquals("the user's", Files.readString(dir.resolve("store/notes.txt")));
        // without --auto-resume on a run with checkpoints: refused before the run is claimed, nothing written; it trained
        // from step 0 and retention dropped each of its checkpoints for the old training's higher steps, and the old
        // training's newest stayed the run's latest (helper-141)
        long epoch;
        List<CheckpointEntry> before;
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            epoch = s.root().runs().get("t").writerEpoch();
            before = s.list("t");
        }
        Result fresh = TrainerRuns.inProcess(args(dir, "--steps", "10", "--save-every", "10"));
        assertEquals(1, fresh.code(), fresh.all());
        String newest = before.get(before.size() - 1).id();
        assertTrue(fresh.err().contains("run t already has " + before.size() + " checkpoints, the newest " + newest
                + " at step 20; a training from step 0 would be mixed with them") && fresh.err().contains("pass"
                + " --auto-resume to continue from step 20, give another --run for a new training, or drop the run's"
                + " checkpoints first (ckpt-tool forget " + dir.resolve("store") + " " + before.get(0).id() + " " + newest
                + "); nothing was claimed or written"), fresh.all());
        assertFalse(fresh.out().contains("saved step"), fresh.all());
        assertTrue(fresh.err().startsWith("ckpt-train: the start-up stopped while looking for checkpoints of run t"), fresh.all());
        try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toString())) {
            assertEquals(epoch, s.root().runs().get("t").writerEpoch(), "the run was not claimed");
            assertEquals(before, s.list("t"), "nothing saved or dropped");
        }
        // a new run in the same store starts from step 0 as before
        List<String> other = new java.util.ArrayList<>(List.of(args(dir, "--steps", "10", "--save-every", "10")));
        other.set(other.indexOf("t"), "t2");
        Result newRun = TrainerRuns.inProcess(other.toArray(String[]::new));
        assertEquals(0, newRun.code(), newRun.all());

        // a new filesystem mounted as the store holds lost+found only: no note (helper-119)
        Path mounted = tmp.resolve("mounted");
        Files.createDirectories(mounted.resolve("store/lost+found"));
        Result onMount = TrainerRuns.inProcess(args(mounted, "--steps", "10", "--save-every", "10"));
        assertEquals(0, onMount.code(), onMount.all());
        assertFalse(onMount.out().contains("but no store"), onMount.out());

        Path inside = dir.resolve("store/manifests/sub");
        Result refused = TrainerRuns.inProcess("--store", inside.toString(), "--staging", tmp.resolve("st2").toString(),
                "--run", "t", "--steps", "10");
        assertTrue(refused.code() != 0, refused.all());
        assertTrue(refused.err().contains("cannot make a store in " + inside + ": it is inside the store "
                + dir.resolve("store") + ", among that store's objects; give a directory outside it"), refused.err());
        assertFalse(Files.exists(inside), "nothing made inside the store");
    }

    @Test
    void resumeInThisProcessIsBitIdenticalToAnUninterruptedRun() throws Exception {
        Result a = TrainerRuns.inProcess(args(tmp.resolve("a"), "--steps", "90", "--save-every", "30"));
        assertEquals(0, a.code(), a.all());
        Result b1 = TrainerRuns.inProcess(args(tmp.resolve("b"), "--steps", "45", "--save-every", "30"));
        assertEquals(0, b1.code(), b1.all());
        // the staged copy is gone: the resume must download every chunk from the store
        dev.ckpt.store.util.LocalFiles.deleteTree(tmp.resolve("b/staging"));
        Result b2 = TrainerRuns.inProcess(args(tmp.resolve("b"), "--steps", "90", "--save_every", "30", "--auto_resume"));
        assertEquals(0, b2.code(), b2.all());
        assertTrue(b2.out().contains("auto-resume: restored checkpoint t-s45-"), b2.out());
        assertTrue(b2.out().matches("(?s).*auto-resume: .* [1-9]\\d* chunks? downloaded, 0 reused from staging; every chunk"
                + " and file hash matched: recorded as verified\n.*"), b2.out());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("b/store").toString())) {
            assertTrue(s.resolve("t@45").verifiedAt() != null, "every chunk was downloaded and checked: verified");
        }
        TrainerRuns.assertSameFiles(TrainerRuns.latestTensors(tmp.resolve("a/store"), "t", tmp),
                TrainerRuns.latestTensors(tmp.resolve("b/store"), "t", tmp));
    }

    /**
     * A staging disk with room for the next save but not for the resume's restore beside the staged copy: the
     * resume used to need a second copy of the checkpoint there, and failed. The staged copy, as committed, is now
     * resumed from where it is (nothing downloaded), bit-identical to an uninterrupted run. A staged copy that
     * differs from the checkpoint in one bit is named, and restored from the store instead. With room, the resume
     * restores (and records the checkpoint verified) as before.
     */
    @Test
    void aResumeOnADiskTooFullForASecondCopyTakesTheStagedCopyAsItIs() throws Exception {
        Result a = TrainerRuns.inProcess(args(tmp.resolve("a"), "--steps", "90", "--save-every", "30"));
        assertEquals(0, a.code(), a.all());
        for (String kind : new String[] {"tight", "tampered", "room"}) {
            Path b = tmp.resolve("b-" + kind);
            assertEquals(0, TrainerRuns.inProcess(args(b, "--steps", "45", "--save-every", "30")).code());
            Path staged = b.resolve("staging/t/step-45");
            Path changed = null;
            if (kind.equals("tampered")) {
                try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(staged)) {
                    changed = files.filter(f -> f.toString().endsWith(".safetensors")).findFirst().orElseThrow();
                }
                byte[] bytes = java.nio.file.Files.readAllBytes(changed);
                bytes[bytes.length - 1] ^= 1; // the same size, one bit of the last tensor
                java.nio.file.Files.delete(changed); // a new file: the frozen block may be a link shared with step 30
                java.nio.file.Files.write(changed, bytes);
            }
            // the resume's look: 64 KiB free, far less than the checkpoint; the start-up's and the saves' after it:
            // the filesystem's own count
            java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
            Staging.FreeSpace tight = d -> kind.equals("room") || checks.incrementAndGet() > 1
                    ? Staging.FILE_STORE.usable(d) : 64 << 10;
            Result r = TrainerRuns.inProcess(Map.of(), s -> s, tight, null, null, args(b, "--steps", "90", "--save_every",
                    "30", "--auto_resume"));
            assertEquals(0, r.code(), r.all());
            String tooFull = "auto-resume: the staging directory has 0.1 MiB free, too little for a second copy of"
                    + " checkpoint t-s45-";
            switch (kind) {
                case "tight" -> assertTrue(r.out().matches("(?s).*\n" + java.util.regex.Pattern.quote(tooFull) + "\\S+"
                        + " \\([\\d.]+ MiB\\): resumed from its staged copy in " + java.util.regex.Pattern.quote(
                        staged.toString()) + " \\(step 45, epoch \\d+\\) in [\\d.]+ s, every file's SHA-256 matching the"
                        + " checkpoint's; nothing downloaded, and the checkpoint is not recorded as verified \\(the"
                        + " store's chunks were not read\\)\n.*"), r.out());
                case "tampered" -> {
                    assertTrue(r.out().contains(tooFull) && r.out().contains("and its staged copy " + staged + " is not"
                            + " the checkpoint as committed (file " + staged.relativize(changed) + ": its SHA-256 differs"
                            + " from the checkpoint's); restoring it all the same"), r.out());
                    assertTrue(r.out().matches("(?s).*auto-resume: restored checkpoint t-s45-\\S+ .*: \\d+ chunks?"
                            + " downloaded, \\d+ reused from staging \\(so the store's copy was not read whole, and the"
                            + " checkpoint is not recorded as verified\\)\n.*"), r.out());
                }
                default -> {
                    assertFalse(r.out().contains("too little for a second copy"), r.out());
                    assertTrue(r.out().contains("auto-resume: restored checkpoint t-s45-"), r.out());
                }
            }
            TrainerRuns.assertSameFiles(TrainerRuns.latestTensors(tmp.resolve("a/store"), "t", tmp),
                    TrainerRuns.latestTensors(b.resolve("store"), "t", tmp));
            // no resume here read the store's copy whole: none records step 45 as verified (helper-106)
            try (CheckpointStore s = CheckpointStore.open(b.resolve("store").toString())) {
                assertEquals(null, s.resolve("t@45").verifiedAt(), kind);
            }
        }
    }

    @Test
    void frozenBlockChunksAreUploadedOnceAcrossAllCheckpointsOfTheRun() throws Exception {
        TracingStore[] first = new TracingStore[1];
        Result r1 = TrainerRuns.inProcess(s -> first[0] = new TracingStore(s, null, 0), null, null,
                args(tmp, "--steps", "40", "--save-every", "10", "--frozen-mb", "6", "--keep-last", "10"));
        assertEquals(0, r1.code(), r1.all());
        TracingStore[] second = new TracingStore[1];
        Result r2 = TrainerRuns.inProcess(s -> second[0] = new TracingStore(s, null, 0), null, null,
                args(tmp, "--steps", "70", "--save-every", "10", "--frozen-mb", "6", "--keep-last", "10", "--auto-resume"));
        assertEquals(0, r2.code(), r2.all());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("t");
            assertEquals(7, cps.size(), r1.all() + "\n----\n" + r2.all());
            Set<String> frozenChunks = new HashSet<>();
            Set<String> frozenSha = new HashSet<>();
            Set<String> otherChunks = new HashSet<>();
            for (CheckpointEntry e : cps) {
                for (FileEntry f : s.manifest(e).files()) {
                    for (ChunkRef c : f.chunks()) {
                        (f.path().equals("frozen.safetensors") ? frozenChunks : otherChunks).add(ChunkRef.keyOf(c.hash()));
                    }
                    if (f.path().equals("frozen.safetensors")) {
                        frozenSha.add(f.sha256());
                    }
                }
            }
            assertEquals(1, frozenSha.size(), "the frozen block never changes");
            assertTrue(frozenChunks.size() >= 2, "a 6 MiB block is several chunks: " + frozenChunks);
            for (String k : frozenChunks) {
                assertEquals(1, first[0].writesOf(k) + second[0].writesOf(k), "PUTs of frozen chunk " + k);
            }
            // and the trained modules did change, so their chunks were written again and again
            assertTrue(otherChunks.size() > 7 * 3, "trained chunks: " + otherChunks.size());
        }
        // in bytes: only the first save uploaded the 6 MiB block
        long big = r1.lines().stream().filter(l -> l.startsWith("saved step ") && l.contains(" MiB, deduplicated")).count();
        assertEquals(1, big, r1.out());
    }

    @Test
    void strictResumeRefusesAMissingOptimizerAndLenientResumeSaysWhatItSkipped() throws Exception {
        assertEquals(0, TrainerRuns.inProcess(args(tmp, "--steps", "20", "--save-every", "20")).code());
        // a checkpoint someone saved without optimizer state and with an extra tensor
        Path odd = tmp.resolve("odd");
        Files.createDirectories(odd);
        try (var s = Files.list(tmp.resolve("staging/t/step-20"))) {
            for (Path f : s.toList()) {
                if (!f.getFileName().toString().equals("optimizer.safetensors")) {
                    Files.copy(f, odd.resolve(f.getFileName()));
                }
            }
        }
        var enc = new java.util.ArrayList<>(SafeTensors.read(odd.resolve("encoder.safetensors")).values());
        enc.add(SafeTensors.Tensor.of("encoder.lora_a", new long[]{2}, new float[]{1, 2}));
        SafeTensors.write(odd.resolve("encoder.safetensors"), enc);
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            s.save(s.claimWriter("t"), SaveRequest.of(odd, "t", 25));
        }
        dev.ckpt.store.util.LocalFiles.deleteTree(tmp.resolve("staging"));
        Result strict = TrainerRuns.inProcess(args(tmp, "--steps", "30", "--save-every", "10", "--auto-resume"));
        assertEquals(1, strict.code(), strict.all());
        assertTrue(strict.err().contains("checkpoint t-s25-") && strict.err().contains("encoder.safetensors holds an unexpected tensor encoder.lora_a"),
                strict.err());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(25, s.list("t").get(s.list("t").size() - 1).step(), "a refused resume changes nothing");
        }
        Result lenient = TrainerRuns.inProcess(args(tmp, "--steps", "30", "--save-every", "10", "--auto-resume", "--lenient-resume"));
        assertEquals(0, lenient.code(), lenient.all());
        assertTrue(lenient.out().contains("lenient-resume: extra tensor encoder.lora_a[2] in encoder.safetensors"), lenient.out());
        assertTrue(lenient.out().contains("lenient-resume: optimizer.safetensors is missing: Adam's moments start from zero"), lenient.out());
        assertTrue(lenient.out().contains("done: run t at step 30"), lenient.out());
    }

    @Test
    void resumeWithADifferentShapeIsRefusedNamingTheTensor() throws Exception {
        assertEquals(0, TrainerRuns.inProcess(args(tmp, "--steps", "10", "--save-every", "10")).code());
        Result r = TrainerRuns.inProcess(args(tmp, "--steps", "20", "--hidden", "64", "--auto-resume", "--lenient-resume"));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("config.json has hidden = 128 but this run is configured with 64 (set by --hidden)"), r.err());
        // the checkpoint restored for nothing does not stay in the staging directory (helper-151: 65 MB until the next start)
        assertFalse(Files.exists(tmp.resolve("staging/t/restore.tmp")), "restore.tmp removed");
        // a stop during that start-up does not make it 75: a requeue fails the same way (helper-151: a requeue loop)
        Preemption p = new Preemption(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Result stopped = TrainerRuns.inProcess(s -> new dev.ckpt.store.objectstore.ForwardingObjectStore(s) {
            @Override
            public dev.ckpt.store.objectstore.StoredObject get(String key) {
                if (key.startsWith("manifests/")) {
                    p.request("SIGINT"); // as the resume reads the checkpoint's manifest
                }
                return super.get(key);
            }
        }, p, null, args(tmp, "--steps", "20", "--hidden", "64", "--auto-resume"));
        assertEquals(1, stopped.code(), stopped.all());
        assertTrue(stopped.err().contains("; nothing was trained; not exiting 75 as the SIGINT line said: a requeue would"
                + " fail the same way, fix the cause first"), stopped.err());
        assertTrue(stopped.err().contains("config.json has hidden = 128 but this run is configured with 64"), stopped.err());
        assertFalse(stopped.out().contains("exiting 75"), stopped.out());
        // a run with no checkpoint, in a store whose other runs have some: they are named (a mistyped --run)
        Result typo = TrainerRuns.inProcess(args(tmp, "--steps", "0", "--auto-resume", "--run", "tt"));
        assertTrue(typo.out().contains("auto-resume: run tt has no checkpoint yet; starting from step 0 (the runs with"
                + " checkpoints in this store: t; if you meant one of them, stop and give its --run)"), typo.all());
    }

    @Test
    void aFullStagingDiskIsAClearErrorAndTheCommittedCheckpointStays() throws Exception {
        assertEquals(0, TrainerRuns.inProcess(args(tmp, "--steps", "20", "--save-every", "10")).code());
        Map<String, byte[]> before = TrainerRuns.latestTensors(tmp.resolve("store"), "t", tmp);
        Result r = TrainerRuns.inProcess(args(tmp, "--steps", "40", "--save-every", "10", "--auto-resume",
                "--min-free-mb", "100000000"));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().matches("(?s).*staging directory .*/t has [\\d.]+ MiB free; the checkpoint of step 20 needs "
                + "[\\d.]+ MiB and --min-free-mb keeps .*Nothing was written; the last committed checkpoint t-s20-\\S+ is untouched.*"), r.err());
        TrainerRuns.assertSameFiles(before, TrainerRuns.latestTensors(tmp.resolve("store"), "t", tmp));
        assertTrue(Files.isDirectory(tmp.resolve("staging/t/step-20")), "the staged copy of the committed checkpoint stays");
    }

    /**
     * A step that cannot be staged stops training, but the save uploading when it came (staged
     * before it) still commits first (helper-103: it was abandoned at the exit, 20 steps lost on
     * a full staging disk), and the line that the step was staged behind it is not said.
     */
    @Test
    void aStagingThatFailsLetsTheSaveUploadingCommitFirst() throws Exception {
        java.util.concurrent.CountDownLatch full = new java.util.concurrent.CountDownLatch(1);
        // the start-up's check, then one per save: steps 10, 20, and 30, which finds the disk full
        Staging.FreeSpace fills = fullFromCheck(4, false, full);
        Result r = TrainerRuns.inProcess(Map.of(), holdingTheManifestOfStep20Until(full), fills, null, null,
                args(tmp, "--steps", "40", "--save-every", "10"));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().matches("(?s).*step 30 cannot be staged \\(staging directory \\S+ has 0\\.0 MiB free; the"
                + " checkpoint of step 30 needs [\\d.]+ MiB\\); waiting for the save of step 20, staged before it, to end\n.*"), r.err());
        assertTrue(r.out().contains("saved step 20 as t-s20-"), r.all());
        assertTrue(r.err().matches("(?s).*the checkpoint of step 30 needs [\\d.]+ MiB\\. Free space there or point --staging"
                + " elsewhere\\. Nothing was written; the last committed checkpoint t-s20-\\S+ is untouched.*"), r.err());
        assertFalse(r.out().contains("save at step 30 staged behind"), r.out());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("t");
            assertEquals(20, cps.get(cps.size() - 1).step(), cps.toString());
        }
    }

    /** {@code s}, counting {@code tenCommitted} down once its ROOT names step 10's checkpoint of run t. */
    private static dev.ckpt.store.objectstore.ObjectStore tellingTheCommitOfStep10(dev.ckpt.store.objectstore.ObjectStore s,
                                                                                 java.util.concurrent.CountDownLatch tenCommitted) {
        return new dev.ckpt.store.objectstore.ForwardingObjectStore(s) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                String etag = super.putIfMatch(key, data, expectedEtag);
                if (key.equals("ROOT") && new String(data, StandardCharsets.UTF_8).contains("t-s10-")) {
                    tenCommitted.countDown();
                }
                return etag;
            }
        };
    }

    /** Waits for {@code l} (at most 60 s), then 300 ms more: what counted it down has ended by then. */
    private static void pause(java.util.concurrent.CountDownLatch l) {
        try {
            l.await(60, java.util.concurrent.TimeUnit.SECONDS);
            Thread.sleep(300);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Free space as the filesystem says, but none at the {@code nth} check (the start-up's is the first,
     * then one per save), and at every later one unless {@code once}; {@code seen} counts down at the first.
     */
    private static Staging.FreeSpace fullFromCheck(int nth, boolean once, java.util.concurrent.CountDownLatch seen) {
        java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
        return d -> {
            int n = checks.incrementAndGet();
            if (n < nth || once && n > nth) {
                return Staging.FILE_STORE.usable(d);
            }
            seen.countDown();
            return 0;
        };
    }

    /** A store whose write of step 20's manifest waits for {@code go}: that save is uploading as step 30 comes. */
    private static java.util.function.Function<dev.ckpt.store.objectstore.ObjectStore, dev.ckpt.store.objectstore.ObjectStore>
            holdingTheManifestOfStep20Until(java.util.concurrent.CountDownLatch go) {
        return s -> new dev.ckpt.store.objectstore.ForwardingObjectStore(s) {
            @Override
            public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (key.startsWith("manifests/t-s20-")) {
                    try {
                        go.await(60, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        };
    }

    /**
     * helper-106: each save's space check counted the frozen block, which is hard-linked from the staged copy before
     * it and takes no new space: a disk that held the block once refused the second save. With 2 MiB free after the
     * first save, a 4 MiB frozen block, and 0.2 MiB of trained state, the run saves every step it should.
     */
    @Test
    void theFrozenBlockThatIsLinkedIsNotCountedAgainstTheStagingDisk() {
        java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
        Staging.FreeSpace twoMib = d -> checks.incrementAndGet() <= 2 ? Staging.FILE_STORE.usable(d) : 2 << 20;
        Result r = TrainerRuns.inProcess(Map.of(), s -> s, twoMib, null, null, args(tmp, "--steps", "40", "--save-every",
                "10", "--frozen-mb", "4"));
        assertEquals(0, r.code(), r.all());
        assertTrue(checks.get() >= 4, "the saves of steps 20 and 30 checked: " + checks.get());
        assertTrue(r.out().contains("saved step 30 as t-s30-") && r.out().contains("done: run t at step 40"), r.all());
    }

    /**
     * helper-149: a save that failed had its staged copy removed, and the frozen block's link with it; the next save
     * then counted the whole block, and on a staging disk that holds it once the run stopped. Now the next save links
     * it from the last committed copy. Step 20's manifest write fails; step 30 comes after that failure is known.
     */
    @Test
    void aFailedSaveDoesNotTakeTheFrozenBlocksLinkWithIt() {
        java.util.concurrent.CountDownLatch tenCommitted = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch failed = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
        Staging.FreeSpace twoMib = d -> {
            int n = checks.incrementAndGet();
            if (n == 3) { // the start-up's, step 10's, then step 20's: step 10 has printed its line when this ends
                pause(tenCommitted);
            }
            return n <= 2 ? Staging.FILE_STORE.usable(d) : 2 << 20;
        };
        Result r = TrainerRuns.inProcess(Map.of(), s -> tellingTheCommitOfStep10(new dev.ckpt.store.objectstore.ForwardingObjectStore(s) {
            @Override
            public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (key.startsWith("manifests/t-s20-")) {
                    failed.countDown();
                    throw new dev.ckpt.store.error.StoreUnavailableException("injected: manifest of step 20 not written");
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        }, tenCommitted), twoMib, null, line -> {
            if (line.startsWith("step 25 ")) { // the training thread, five steps before step 30's save
                pause(failed);
            }
        }, args(tmp, "--steps", "40", "--save-every", "10", "--frozen-mb", "4"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.err().contains("save of step 20 FAILED: "), r.all());
        assertFalse(r.out().contains("save at step 30 staged behind"), "step 20 had failed before step 30: " + r.all());
        assertTrue(r.out().contains("saved step 30 as t-s30-") && r.out().contains("done: run t at step 40"), r.all());
    }

    /**
     * helper-150: during a store outage the staged copies of failed saves stayed until a commit (one was removed only
     * when no save was in flight as its failure was seen), and filled a small staging disk: the run stopped, or every
     * save waited. Twelve saves in a row fail (their manifests), one a step, each with a frozen block to link; at every
     * space check the staging directory holds a few copies at most (besides the frozen block's links, which take no
     * space: removing one while a save reads the block fails that save), and the run commits once the store is back.
     */
    @Test
    void theCopiesOfSavesThatFailedDoNotPileUpDuringAnOutage() {
        java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        Staging.FreeSpace counting = d -> {
            // the copies that take space: a failed copy's frozen.safetensors is a link to the block the others share
            List<String> copies = new java.util.ArrayList<>();
            try (var l = Files.list(d)) {
                for (Path c : l.filter(f -> f.getFileName().toString().matches("step-\\d+")).sorted().toList()) {
                    try (var w = Files.walk(c)) {
                        if (w.anyMatch(f -> Files.isRegularFile(f) && !f.getFileName().toString().startsWith("frozen."))) {
                            copies.add(c.getFileName().toString());
                        }
                    } catch (java.io.IOException | java.io.UncheckedIOException gone) {
                        // removed meanwhile
                    }
                }
            }
            if (copies.size() > most.get()) {
                most.set(copies.size());
                seen.add(copies.toString());
            }
            return Staging.FILE_STORE.usable(d);
        };
        Result r = TrainerRuns.inProcess(Map.of(), s -> new dev.ckpt.store.objectstore.ForwardingObjectStore(s) {
            @Override
            public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (key.startsWith("manifests/") && failures.get() < 12) {
                    failures.incrementAndGet();
                    throw new dev.ckpt.store.error.StoreUnavailableException("injected: the store is down");
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        }, counting, null, null, args(tmp, "--steps", "40", "--save-every", "1", "--frozen-mb", "1"));
        assertEquals(0, r.code(), r.all());
        assertEquals(12, r.err().lines().filter(l -> l.contains(" FAILED: injected: the store is down")).count(), r.all());
        // the newest committed or failed copy, one uploading, one staged behind it
        assertTrue(most.get() <= 3, "at most 3 staged copies with files besides the frozen block's link at a space check,"
                + " saw " + seen + "\n" + r.all());
        assertFalse(r.err().contains("changed while it was being saved"), "no save's frozen block touched: " + r.err());
        assertTrue(r.out().contains("done: run t at step 40"), r.all());
    }

    /**
     * A run whose every save failed (the store down throughout) with a frozen block: its last failed copy kept the
     * frozen file for a next save that never came, and the --auto-resume its message asked for then found the staging
     * disk holding it and stopped (helper-153: "has 15.0 MiB free; the checkpoint of step 0 needs 25.3 MiB"). At the
     * end no copy stays; the final save's failure does not promise a next save.
     */
    @Test
    void aRunWhoseEverySaveFailedLeavesNoStagedCopyAndSaysItsFinalSaveFailed() throws Exception {
        Result r = TrainerRuns.inProcess(Map.of(), s -> new dev.ckpt.store.objectstore.ForwardingObjectStore(s) {
            @Override
            public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (key.startsWith("manifests/")) {
                    throw new dev.ckpt.store.error.StoreUnavailableException("injected: the store is down");
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        }, Staging.FILE_STORE, null, null, args(tmp, "--steps", "6", "--save-every", "2", "--frozen-mb", "1"));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("save of step 6 FAILED: injected: the store is down; it was the final save (last"
                + " committed: none)"), r.all());
        assertFalse(r.err().contains("the next save tries again (last committed: none)\nckpt-train: the final"), r.all());
        try (var l = Files.list(tmp.resolve("staging/t"))) {
            assertEquals(List.of(), l.map(p -> p.getFileName().toString()).toList(), "nothing staged stays\n" + r.all());
        }
    }

    /**
     * A start from step 0 removes the staged copies an earlier process of the run left uncommitted (a kill during an
     * outage left a step-N with its frozen file each, helper-153); a resume from a checkpoint keeps its own rules.
     */
    @Test
    void aStartFromStepZeroRemovesTheCopiesOfSavesThatNeverCommitted() throws Exception {
        for (String step : List.of("step-7", "step-9")) {
            Path copy = Files.createDirectories(tmp.resolve("staging/t/" + step + "/part-0"));
            Files.write(copy.resolve("frozen.safetensors"), new byte[1 << 20]);
        }
        Result r = TrainerRuns.inProcess(args(tmp, "--steps", "2", "--save-every", "2", "--auto-resume"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("staging: removing 2 staged copies of saves that never committed (run t has no"
                + " checkpoint to resume from)"), r.all());
        assertFalse(Files.exists(tmp.resolve("staging/t/step-7")) || Files.exists(tmp.resolve("staging/t/step-9")), r.all());
        assertTrue(Files.isDirectory(tmp.resolve("staging/t/step-2")), "the new run's own copy: " + r.all());
    }

    /**
     * A signal as step 30 finds the disk full (helper-104): the line it printed promised 75, and the trainer exited 1
     * once step 30 still did not fit after step 20 committed. It now keeps the promise, saying why step 30 was not
     * saved and that step 20 is the latest, which a requeue resumes from.
     */
    @Test
    void aSignalAsAStepCannotBeStagedStillExits75() throws Exception {
        java.util.concurrent.CountDownLatch full = new java.util.concurrent.CountDownLatch(1);
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        Preemption p = new Preemption(new PrintStream(said, true));
        Staging.FreeSpace fills = fullFromCheck(4, false, full);
        Staging.FreeSpace signalled = d -> {
            long free = fills.usable(d);
            if (free == 0) {
                p.request("SIGTERM");
            }
            return free;
        };
        Result r = TrainerRuns.inProcess(Map.of(), holdingTheManifestOfStep20Until(full), signalled, p, null,
                args(tmp, "--steps", "40", "--save-every", "10"));
        assertEquals(75, r.code(), r.all() + said);
        assertTrue(said.toString().contains("then exiting 75"), said.toString());
        assertTrue(r.out().matches("(?s).*\npreempted: SIGTERM at step 30; step 30 cannot be saved: staging directory"
                + " \\S+ has 0\\.0 MiB free; the checkpoint of step 30 needs [\\d.]+ MiB\\. .*the last committed checkpoint"
                + " t-s20-\\S+ is untouched; exiting 75 \\(requeue, then --auto-resume\\)\n.*"), r.all());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("t");
            assertEquals(20, cps.get(cps.size() - 1).step(), cps.toString());
        }
    }

    /** The stop's own save finds the disk full: 75 as promised (it was 1), naming what is latest. */
    @Test
    void aStopWhoseSaveCannotBeStagedExits75() throws Exception {
        assertEquals(0, TrainerRuns.inProcess(args(tmp, "--steps", "10")).code());
        Preemption p = new Preemption(new PrintStream(new ByteArrayOutputStream(), true));
        // the resume's look (a staged copy of step 10 is there) and the start-up's check pass; the stop's save is third
        Staging.FreeSpace fills = fullFromCheck(3, false, new java.util.concurrent.CountDownLatch(1));
        Result r = TrainerRuns.inProcess(Map.of(), s -> s, fills, p, line -> {
            if (line.startsWith("step 15 ")) {
                p.request("SIGUSR1");
            }
        }, args(tmp, "--steps", "1000", "--save-every", "1000", "--log-every", "5", "--auto-resume"));
        assertEquals(75, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*\npreempted: SIGUSR1 at step 1[5-9]; step 1[5-9] cannot be saved: staging"
                + " directory \\S+ has 0\\.0 MiB free; .*the last committed checkpoint t-s10-\\S+ is untouched; exiting 75"
                + " \\(requeue, then --auto-resume\\)\n.*"), r.all());
    }

    /**
     * A signal during the final save: the line it printed promised 75 "at the next step boundary", and the run,
     * whose training had finished, exited 0. It now says the final save is under way and the run exits 0 once it
     * commits (a requeue would have nothing to train).
     */
    @Test
    void aSignalDuringTheFinalSaveSaysItEndsWithThatSave() throws Exception {
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        Preemption p = new Preemption(new PrintStream(said, true));
        p.startingUp(false);
        Result r = TrainerRuns.inProcess(Map.of(), signalAtTheManifestOf("t-s20-", p, "SIGINT", null), Staging.FILE_STORE, p,
                null, args(tmp, "--steps", "20", "--save-every", "10"));
        assertEquals(0, r.code(), r.all() + said);
        assertTrue(said.toString().contains("ckpt-train: SIGINT received: training has finished and its final save is"
                + " under way: exiting 0 once it commits, or 75 if it has not by --preempt-deadline"), said.toString());
        assertTrue(r.out().contains("done: run t at step 20"), r.all());

        // the final save fails after the signal: no commit, so 75 as promised (helper-108: exit 1, a step earlier 75)
        Preemption q = new Preemption(new PrintStream(new ByteArrayOutputStream(), true));
        q.startingUp(false);
        Result failed = TrainerRuns.inProcess(Map.of(), signalAtTheManifestOf("t2-s20-", q, "SIGTERM",
                new dev.ckpt.store.error.InvalidInputException("test: the manifest cannot be written")), Staging.FILE_STORE, q,
                null, args(tmp, "--steps", "20", "--save-every", "10", "--run", "t2"));
        assertEquals(75, failed.code(), failed.all());
        assertTrue(failed.out().matches("(?s).*\npreempted: SIGTERM during the final save; the save of step 20 failed: .*"
                + "test: the manifest cannot be written.*; the latest checkpoint stays t2-s10-\\S+; exiting 75 \\(requeue,"
                + " then --auto-resume\\)\n.*"), failed.all());
    }

    /**
     * A store that requests a stop ({@code signal}) as the manifest of checkpoint {@code idPrefix} is written, then
     * fails that write with {@code fail} (null: writes it).
     */
    private static java.util.function.Function<dev.ckpt.store.objectstore.ObjectStore, dev.ckpt.store.objectstore.ObjectStore>
            signalAtTheManifestOf(String idPrefix, Preemption p, String signal, RuntimeException fail) {
        return s -> new dev.ckpt.store.objectstore.ForwardingObjectStore(s) {
            @Override
            public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (key.startsWith("manifests/" + idPrefix)) {
                    p.request(signal);
                    if (fail != null) {
                        throw fail;
                    }
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        };
    }

    /**
     * A step that did not fit while the save before it uploaded is tried again once that save
     * committed, whose commit frees the staged copy before it: it fits then, and training goes on
     * (helper-104: a disk holding two checkpoints stopped every job whose uploads were slow).
     */
    @Test
    void aStepThatFitsOnceTheSaveBeforeCommittedIsStaged() throws Exception {
        java.util.concurrent.CountDownLatch full = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch tenCommitted = new java.util.concurrent.CountDownLatch(1);
        Staging.FreeSpace fullOnce = fullFromCheck(4, true, full);
        // step 20's check waits for step 10's commit: step 30 then finds step 20 alone in flight, and is staged
        // behind it, not made to wait for a free place
        java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
        Staging.FreeSpace atStep20AfterTen = d -> {
            if (checks.incrementAndGet() == 3) { // the start-up's, step 10's, then step 20's
                try {
                    tenCommitted.await(60, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return fullOnce.usable(d);
        };
        java.util.function.Function<dev.ckpt.store.objectstore.ObjectStore, dev.ckpt.store.objectstore.ObjectStore> held =
                holdingTheManifestOfStep20Until(full);
        Result r = TrainerRuns.inProcess(Map.of(), s -> tellingTheCommitOfStep10(held.apply(s), tenCommitted), atStep20AfterTen,
                null, null, args(tmp, "--steps", "40", "--save-every", "10"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.err().contains("step 30 cannot be staged"), r.all());
        assertTrue(r.out().contains("save at step 30: it fits now that the saves before it committed; staging it"), r.all());
        assertFalse(r.out().contains("save at step 30 staged behind"), "step 20 had committed: " + r.all());
        assertTrue(r.out().contains("saved step 30 as t-s30-"), r.all());
        assertTrue(r.out().contains("done: run t at step 40"), r.all());
    }

    /**
     * A rank's staging space is checked against its part, not the whole checkpoint (helper-104: a
     * rank was refused 12.8 MiB for a part of 13.6 KiB, on a disk with room for its part).
     */
    @Test
    void aRanksStagingIsCheckedAgainstItsPart() {
        Staging.FreeSpace mib = d -> 1 << 20; // the whole checkpoint of this model needs more, rank 1's part less
        Result whole = TrainerRuns.inProcess(Map.of(), s -> s, mib, null, null, args(tmp.resolve("w"), "--steps", "0",
                "--input", "256", "--hidden", "256"));
        assertEquals(1, whole.code(), whole.all());
        assertTrue(whole.err().contains("the checkpoint of step 0 needs"), whole.all());
        Result rank = TrainerRuns.inProcess(Map.of("WORLD_SIZE", "2", "RANK", "1"), s -> s, mib, null, null,
                args(tmp.resolve("r"), "--steps", "0", "--input", "256", "--hidden", "256", "--job-id", "j"));
        assertEquals(0, rank.code(), rank.all());
        assertFalse(rank.err().contains("needs"), rank.all());
    }

    @Test
    void leftoversOfACrashAreRemovedAtStart() throws Exception {
        Path junk = tmp.resolve("staging/t/step-7.tmp/encoder.safetensors");
        Files.createDirectories(junk.getParent());
        Files.write(junk, new byte[100]);
        Result r = TrainerRuns.inProcess(args(tmp, "--steps", "5", "--save-every", "5"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("staging: removing leftover of an interrupted write: "), r.out());
        assertFalse(Files.exists(junk.getParent()));
    }

    @Test
    void aPreemptionWhoseCommitMissesTheDeadlineLeavesThePreviousCheckpoint() throws Exception {
        // the first save commits quickly; then chunk writes become slow, and the stop request
        // comes right after the first commit, with a deadline the next save cannot meet but that
        // its estimate (from the quick first save) says it can: the backstop abandons it
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Preemption p = new Preemption(quiet);
        TracingStore[] ts = new TracingStore[1];
        long[] requestedAt = {0};
        Result r = TrainerRuns.inProcess(s -> ts[0] = new TracingStore(s, null, 0), p, line -> {
                    if (line.startsWith("saved step 10 ")) {
                        ts[0].slow(10_000, k -> k.startsWith("chunks/"));
                        requestedAt[0] = System.nanoTime();
                        p.request("SIGTERM");
                    }
                },
                args(tmp, "--steps", "100000", "--save-every", "10", "--preempt-deadline", "3s"));
        long stoppedAfter = (System.nanoTime() - requestedAt[0]) / 1_000_000;
        assertEquals(75, r.code(), r.all());
        // it did not wait for the 10 s chunk writes: the abandoned save was interrupted
        assertTrue(stoppedAfter < 8_000, "exited " + stoppedAfter + " ms after the stop request");
        assertTrue(r.out().matches("(?s).*preempted: SIGTERM at step \\d+; --preempt-deadline 3s passed while the save of "
                + "step \\d+ (was still uploading|had not committed); it was abandoned and the latest checkpoint stays t-s10-\\S+; "
                + "exiting 75.*"), r.out());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            List<CheckpointEntry> cps = s.list("t");
            assertEquals(1, cps.size(), cps.toString());
            assertEquals(10, cps.get(0).step());
        }
        assertTrue(TrainerRuns.deepVerify(tmp.resolve("store")).ok());
    }

    @Test
    void skipIfBusySkipsASaveWhileTheLastOneUploadsAndSaysSo() throws Exception {
        Result r = TrainerRuns.inProcess(s -> new TracingStore(s, null, 0).slow(400, k -> k.startsWith("chunks/")), null, null,
                args(tmp, "--steps", "60", "--save-every", "2", "--skip-if-busy"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*save at step \\d+ skipped: the save of step \\d+ is still uploading \\(--skip-if-busy\\).*"), r.out());
        assertTrue(r.out().contains("done: run t at step 60"), r.out());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(60, s.list("t").get(s.list("t").size() - 1).step(), "the final save is never skipped");
        }
    }

    @Test
    void waitingSaveReportsStallAndBytes() throws Exception {
        Result r = TrainerRuns.inProcess(s -> new TracingStore(s, null, 0).slow(100, k -> k.startsWith("chunks/")), null, null,
                args(tmp, "--steps", "20", "--save-every", "2"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*save at step \\d+ waits: the save of step \\d+ is still uploading.*"), r.out());
        assertTrue(r.out().matches("(?s).*saved step \\d+ as t-s\\d+-\\S+: stall \\d+ ms \\(waited [1-9]\\d* ms for the previous save\\), "
                + "new \\d+ chunks [\\d.]+ KiB, deduplicated \\d+ chunks .*, upload \\d+ ms, commit \\d+ ms.*"), r.out());
    }

    @Test
    void aSavePointWhileTheLastSaveUploadsIsStagedBehindItWithoutWaiting() throws Exception {
        // every chunk PUT takes 300 ms: the save of step 4 is still uploading when step 8 comes.
        // Printing the "staged behind" line takes 50 ms here (a slow terminal or a busy machine): that
        // is no wait for the previous save, and must not be reported as one.
        Result r = TrainerRuns.inProcess(s -> new TracingStore(s, null, 0).slow(300, k -> k.startsWith("chunks/")), null,
                line -> {
                    if (line.contains(" staged behind ")) {
                        sleep(50);
                    }
                }, args(tmp, "--steps", "9", "--save-every", "4", "--keep-last", "5"));
        assertEquals(0, r.code(), r.all());
        Matcher staged = Pattern.compile("save at step (\\d+) staged behind the save of step (\\d+), which is still uploading").matcher(r.out());
        assertTrue(staged.find(), r.out());
        assertEquals("4", staged.group(2), r.out());
        assertTrue(r.out().matches("(?s).*saved step " + staged.group(1) + " as t-s\\d+-\\S+: stall \\d+ ms \\(waited 0 ms for the "
                + "previous save\\).*"), "the staged save did not wait for the upload: " + r.out());
        assertFalse(r.out().contains(" waits: "), r.out());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(List.of(4L, 8L, 9L), s.list("t").stream().map(CheckpointEntry::step).toList(),
                    "every save committed, in order");
        }
        assertTrue(TrainerRuns.deepVerify(tmp.resolve("store")).ok());
        try (var staged2 = Files.list(tmp.resolve("staging/t"))) {
            assertEquals(List.of("step-9"), staged2.map(p -> p.getFileName().toString()).toList(),
                    "only the newest committed copy stays staged");
        }
    }

    @Test
    void aFrozenBlockStagedBehindAnUploadIsLinkedWhenItsSaveStartsAndNeverUploadedTwice() throws Exception {
        TracingStore[] trace = new TracingStore[1];
        Result r = TrainerRuns.inProcess(s -> trace[0] = new TracingStore(s, null, 0).slow(300, k -> k.startsWith("chunks/")),
                null, null, args(tmp, "--steps", "9", "--save-every", "4", "--frozen-mb", "6", "--keep-last", "5"));
        assertEquals(0, r.code(), r.all());
        // linking it while step 4's save read it would have moved its change time: that save would fail
        assertTrue(r.out().contains("save at step 8 staged behind the save of step 4, which is still uploading"), r.out());
        assertFalse(r.err().contains("FAILED"), r.all());
        assertTrue(r.out().matches("(?s).*saved step 8 as t-s8-\\S+: stall \\d+ ms \\(waited 0 ms for the previous save\\).*"),
                r.out());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(List.of(4L, 8L, 9L), s.list("t").stream().map(CheckpointEntry::step).toList(), r.out());
            for (CheckpointEntry e : s.list("t")) {
                for (FileEntry f : s.manifest(e).files()) {
                    if (f.path().equals("frozen.safetensors")) {
                        for (ChunkRef c : f.chunks()) {
                            assertEquals(1, trace[0].writesOf(ChunkRef.keyOf(c.hash())), "PUTs of frozen chunk " + c.hash());
                        }
                    }
                }
            }
        }
        assertTrue(TrainerRuns.deepVerify(tmp.resolve("store")).ok());
        assertTrue(Files.isRegularFile(tmp.resolve("staging/t/step-9/frozen.safetensors")));
    }

    @Test
    void aThirdSavePointWaitsWhileOneUploadsAndOneIsStagedBehindIt() throws Exception {
        Result r = TrainerRuns.inProcess(s -> new TracingStore(s, null, 0).slow(300, k -> k.startsWith("chunks/")), null, null,
                args(tmp, "--steps", "12", "--save-every", "2", "--keep-last", "10"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*save at step \\d+ waits: the save of step \\d+ is still uploading and step \\d+ is "
                + "staged behind it.*"), r.out());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(List.of(2L, 4L, 6L, 8L, 10L, 12L), s.list("t").stream().map(CheckpointEntry::step).toList(), r.out());
        }
    }

    @Test
    void usageErrors() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream o = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals(2, Trainer.run(new String[]{"--steps", "many"}, o, e, Map.of(), url -> null, false));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("option --steps needs a number, got 'many'"));
        assertEquals(2, Trainer.run(new String[]{"--spot-notice", "azure"}, o, e, Map.of(), url -> null, false));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--spot-notice must be aws or gcp"));
        assertEquals(2, Trainer.run(new String[]{"--preempt-deadline", "soon"}, o, e, Map.of(), url -> null, false));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("'soon' is not a duration: write 1500ms, 90s, 15m, 1h or 7d"));
        assertEquals(2, Trainer.run(new String[]{"--bogus"}, o, e, Map.of(), url -> null, false));
        assertEquals("slurm-1234", TrainOptions.parse(new String[0], Map.of("SLURM_JOB_ID", "1234")).run);
        assertEquals("x", TrainOptions.parse(new String[]{"--run=x", "--save_dir", "/s"}, Map.of("SLURM_JOB_ID", "1")).run);
        assertEquals(Path.of("/s"), TrainOptions.parse(new String[]{"--save_dir", "/s"}, Map.of()).staging);
    }

    /**
     * A preemption save that fails for a reason of its own, well before --preempt-deadline:
     * the line says it failed and why, not that the deadline passed (a break test read
     * "--preempt-deadline 50s passed while the save ... failed" 34 s after the signal).
     */
    @Test
    void aPreemptionSaveThatFailsBeforeTheDeadlineSaysItFailedNotThatTheDeadlinePassed() {
        dev.ckpt.store.objectstore.FaultInjectingObjectStore[] f = new dev.ckpt.store.objectstore.FaultInjectingObjectStore[1];
        Preemption p = new Preemption(new PrintStream(new ByteArrayOutputStream(), true));
        Result r = TrainerRuns.inProcess(s -> f[0] = new dev.ckpt.store.objectstore.FaultInjectingObjectStore(s), p, line -> {
                    if (line.startsWith("saved step 10 ")) {
                        f[0].inject(dev.ckpt.store.objectstore.FaultInjectingObjectStore.Op.PUT_IF_ABSENT, k -> true,
                                dev.ckpt.store.objectstore.FaultInjectingObjectStore.Fault.ERROR_BEFORE, Integer.MAX_VALUE);
                        p.request("SIGTERM");
                    }
                },
                args(tmp, "--steps", "1000000", "--save-every", "10", "--preempt-deadline", "5m"));
        assertEquals(75, r.code(), r.all());
        String line = r.out().lines().filter(l -> l.startsWith("preempted: ")).findFirst().orElseThrow();
        assertTrue(line.matches("preempted: SIGTERM at step \\d+; the save of step \\d+ failed: .+; the latest checkpoint"
                + " stays t-s10-\\S+; exiting 75"), line);
        assertFalse(line.contains("--preempt-deadline"), line);
        // the failed save's own line does not promise another try: the process is stopping
        assertTrue(r.err().contains("FAILED: ") && r.err().contains("; this process is stopping (last committed: t-s10-")
                && !r.err().contains("the next save tries again"), r.err());
    }

    @Test
    void aFailedSaveIsReportedTrainingGoesOnAndAFailedFinalSaveIsAnError() {
        // every write of the store fails from the second save on (the store is "down")
        dev.ckpt.store.objectstore.FaultInjectingObjectStore[] f = new dev.ckpt.store.objectstore.FaultInjectingObjectStore[1];
        Result r = TrainerRuns.inProcess(s -> f[0] = new dev.ckpt.store.objectstore.FaultInjectingObjectStore(s), null, line -> {
                    if (line.startsWith("saved step 10 ")) {
                        f[0].inject(dev.ckpt.store.objectstore.FaultInjectingObjectStore.Op.PUT_IF_ABSENT, k -> true,
                                dev.ckpt.store.objectstore.FaultInjectingObjectStore.Fault.ERROR_BEFORE, Integer.MAX_VALUE);
                    }
                },
                args(tmp, "--steps", "30", "--save-every", "10"));
        assertEquals(1, r.code(), r.all());
        // what follows it: training, or (seen once the last step was trained) the final save
        assertTrue(r.err().matches("(?s).*save of step 20 FAILED: [^\n]*(training goes on|the final save, of step 30,"
                + " follows)[^\n]*last committed: t-s10-.*"), r.err());
        assertTrue(r.err().matches("(?s).*save of step 30 FAILED: [^\n]*; it was the final save \\(last committed: t-s10-.*"),
                r.err());
        assertTrue(r.out().contains("step 30  loss"), "training went on past the failed save\n" + r.out());
        // says why (the save's own error) and what to fix before running again
        assertTrue(r.err().matches("(?s).*the final checkpoint \\(step 30\\) was not saved \\(.+\\); the latest checkpoint"
                + " of run t is t-s10-\\S+ Run again with --auto-resume once the cause is fixed.*"), r.err());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(List.of(10L), s.list("t").stream().map(CheckpointEntry::step).toList());
        }
    }

    @Test
    void aJobWhoseRunWasClaimedBySuccessorStopsInsteadOfOverwritingIt() {
        Result r = TrainerRuns.inProcess(s -> s, null, line -> {
                    if (line.startsWith("saved step 10 ")) {
                        // the requeued successor starts while this job still runs
                        try (CheckpointStore other = CheckpointStore.open(tmp.resolve("store").toString())) {
                            other.claimWriter("t");
                        }
                    }
                },
                args(tmp, "--steps", "1000", "--save-every", "10"));
        assertEquals(4, r.code(), r.all()); // fenced: the same code as ckpt-tool's (issue 11; was 1)
        assertTrue(r.err().contains("another job has claimed run t; this one must not write to it"), r.err());
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(List.of(10L), s.list("t").stream().map(CheckpointEntry::step).toList());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

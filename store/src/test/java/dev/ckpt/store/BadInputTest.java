package dev.ckpt.store;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.error.UnsupportedFormatException;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.Tamper;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Bad input gets a clear error naming the thing, and nothing committed changes. */
class BadInputTest {
    @TempDir
    Path tmp;
    FakeClock clock = new FakeClock();
    ObjectStore objects;
    CheckpointStore store;
    WriterToken writer;
    SaveResult committed;

    @BeforeEach
    void setUp() {
        objects = ObjectStores.local(tmp.resolve("store"));
        store = Stores.open(objects, clock);
        writer = store.claimWriter("r");
        committed = store.save(writer, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("good"), 1, 2, 10_000), "r", 1));
    }

    private Map<String, String> storeState() {
        Map<String, String> out = new TreeMap<>();
        for (ObjectInfo o : objects.list("")) {
            if (o.key().equals("ROOT") || o.key().startsWith("manifests/")) {
                out.put(o.key(), new String(objects.get(o.key()).data(), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    /** Runs the action, expects the error type with every fragment in its message, and no change to ROOT or manifests. */
    private <T extends CkptException> T refused(Class<T> type, Executable action, String... fragments) {
        Map<String, String> before = storeState();
        T e = assertThrows(type, action);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should name '" + f + "': " + e.getMessage());
        }
        assertEquals(before, storeState(), "nothing committed may change");
        return e;
    }

    @Test
    void unknownUrlSchemeNamesTheUrl() {
        refused(BadConfigurationException.class, () -> CheckpointStore.open("gs://bucket/x"), "gs://bucket/x", "scheme");
        refused(BadConfigurationException.class, () -> CheckpointStore.open("file://host:bad/x y"), "file://host:bad/x y");
    }

    @Test
    void missingSourceDirectoryNamesIt() {
        Path missing = tmp.resolve("no-such-dir");
        refused(InvalidInputException.class, () -> store.save(writer, SaveRequest.of(missing, "r", 2)), missing.toString(),
                "does not exist");
    }

    @Test
    void sourceThatIsAFileNamesIt() throws Exception {
        Path file = Files.writeString(tmp.resolve("plain.txt"), "x");
        refused(InvalidInputException.class, () -> store.save(writer, SaveRequest.of(file, "r", 2)), file.toString(),
                "not a directory");
    }

    @Test
    void danglingSymlinkInSourceNamesTheFile() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 2, 1, 1000);
        Path link = Files.createSymbolicLink(src.resolve("model.bin"), tmp.resolve("gone.bin"));
        refused(InvalidInputException.class, () -> store.save(writer, SaveRequest.of(src, "r", 2)), link.toString());
    }

    /**
     * A scan that says what each file must hash to (an import's, from its archive's manifest)
     * refuses a file that hashes otherwise, with its size unchanged, before anything commits
     * (helper-94 rewrote a staged file in place and the import committed it); and one with no
     * expected hash. With the right hashes it saves.
     */
    @Test
    void aSaveExpectingHashesRefusesAFileThatHashesOtherwiseAndCommitsNothing() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 2, 5000);
        java.util.Map<String, String> right = new java.util.HashMap<>();
        TestDirs.snapshot(src).forEach((rel, bytes) -> right.put(rel, dev.ckpt.store.chunk.Hashes.sha256Hex(bytes)));
        String victim = right.keySet().stream().sorted().findFirst().orElseThrow();
        java.util.Map<String, String> wrong = new java.util.HashMap<>(right);
        wrong.put(victim, "0".repeat(64));
        refused(InvalidInputException.class, () -> store.save(writer, SaveRequest.of(src, "r", 2)
                .withScan(CheckpointStore.scanSource(src).expecting(wrong))), victim, "not " + "0".repeat(64),
                "nothing was committed");
        java.util.Map<String, String> missing = new java.util.HashMap<>(right);
        missing.remove(victim);
        refused(InvalidInputException.class, () -> store.save(writer, SaveRequest.of(src, "r", 2)
                .withScan(CheckpointStore.scanSource(src).expecting(missing))), victim, "no hash was expected");
        SaveResult ok = store.save(writer, SaveRequest.of(src, "r", 2).withScan(CheckpointStore.scanSource(src).expecting(right)));
        assertEquals(right.size(), ok.files());
    }

    @Test
    void unreadableFileNamesIt() throws Exception {
        assumeFalse("root".equals(System.getProperty("user.name")), "root reads files whatever their mode");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 1, 1000);
        Path f = src.resolve("state.json");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
        refused(InvalidInputException.class, () -> store.save(writer, SaveRequest.of(src, "r", 2)), f.toString(), "permission denied; nothing was committed: give the user running the save read access");
    }

    @Test
    void invalidRunNameIsRefused() {
        refused(InvalidInputException.class, () -> store.claimWriter("../etc"), "../etc");
    }

    @Test
    void malformedRootJsonIsRefusedByEveryOperationAndNeverOverwritten() {
        byte[] garbage = "{\"format\":1,\"checkpoints\":{\"x\":".getBytes(StandardCharsets.UTF_8);
        objects.put("ROOT", garbage);
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 4, 1, 1000);
        refused(CorruptObjectException.class, () -> store.save(writer, SaveRequest.of(src, "r", 2)), "ROOT", "not valid JSON");
        refused(CorruptObjectException.class, () -> store.gc(GcRequest.collect()), "ROOT");
        refused(CorruptObjectException.class, () -> store.claimWriter("other"), "ROOT");
        refused(CorruptObjectException.class, () -> store.list(null), "ROOT");
        assertArrayEquals(garbage, objects.get("ROOT").data());
        objects.put("ROOT", "garbage{".getBytes(StandardCharsets.UTF_8));
        String said = refused(CorruptObjectException.class, () -> store.list(null), "ROOT",
                "is not valid JSON (unrecognized token 'garbage' at line 1, column 1)", "ckpt-tool recover").getMessage();
        assertFalse(said.contains("expecting") || said.contains("JSON String") || said.contains("Source"),
                "the parser's own list of expected tokens is no help to a user: " + said);
    }

    @Test
    void rootFromANewerFormatIsRefusedWithUpgradeAdvice() throws Exception {
        ObjectNode root = (ObjectNode) Json.MAPPER.readTree(objects.get("ROOT").data());
        root.put("format", 2);
        objects.put("ROOT", Json.MAPPER.writeValueAsBytes(root));
        refused(UnsupportedFormatException.class, () -> store.list(null), "ROOT", "format version 2", "upgrade");
    }

    @Test
    void malformedManifestJsonNamesTheManifest() throws Exception {
        String key = Manifest.keyOf(committed.checkpointId());
        Tamper.replaceManifest(objects, committed.checkpointId(), "{\"format\":1,\"id\":[}".getBytes(StandardCharsets.UTF_8));
        CheckpointStore fresh = Stores.open(objects, clock);
        refused(CorruptObjectException.class, () -> fresh.restore(committed.checkpointId(), tmp.resolve("out")), key,
                "not valid JSON");
        refused(CorruptObjectException.class, () -> fresh.gc(GcRequest.collect()), key, "GC stopped without deleting anything");
        assertTrue(TestDirs.snapshot(tmp.resolve("out")).isEmpty());
    }

    @Test
    void aManifestGcCannotReadForNowIsNotCalledDamaged() throws Exception {
        String key = Manifest.keyOf(committed.checkpointId());
        FaultInjectingObjectStore faulty = new FaultInjectingObjectStore(objects)
                .inject(FaultInjectingObjectStore.Op.GET, key::equals, FaultInjectingObjectStore.Fault.ERROR_BEFORE, 100);
        CheckpointStore fresh = Stores.open(faulty, clock);
        StoreUnavailableException e = refused(StoreUnavailableException.class, () -> fresh.gc(GcRequest.collect()));
        assertFalse(e.getMessage().contains("forget"), "no advice to forget a sound checkpoint: " + e.getMessage());
        assertEquals(0, faulty.count(FaultInjectingObjectStore.Op.DELETE), "nothing deleted");
        faulty.heal();
        assertTrue(Stores.open(faulty, clock).verify(VerifyRequest.deep()).ok(), "the checkpoint is sound");
    }

    @Test
    void unknownCheckpointSelectorNamesIt() {
        refused(dev.ckpt.store.error.NotFoundException.class, () -> store.restore("r@999", tmp.resolve("out")),
                "run 'r' has no checkpoint at step 999 (its steps: 1); list them with ckpt-tool ls "
                        + store.objectStore().describe() + " --run r");
        refused(dev.ckpt.store.error.NotFoundException.class, () -> store.restore("rr@1", tmp.resolve("out")),
                "run 'rr' has no checkpoints (the runs that have: r); list them with ckpt-tool ls "
                        + store.objectStore().describe());
        refused(dev.ckpt.store.error.NotFoundException.class, () -> store.restore("R:latest", tmp.resolve("out")),
                "run 'R' has no checkpoints (the runs that have: r)");
        refused(InvalidInputException.class, () -> store.restore("r@abc", tmp.resolve("out")), "r@abc");
        assertEquals(List.of(), TestDirs.snapshot(tmp.resolve("out")).keySet().stream().toList());
    }
}

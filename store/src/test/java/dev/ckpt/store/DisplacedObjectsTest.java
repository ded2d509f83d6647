package dev.ckpt.store;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A directory where a local store's ROOT or a manifest should be is named as such, with what
 * to do, not reported as lost (a break helper was sent to `recover` and then to `--force` for
 * a directory at ROOT; `ls` said a manifest was missing for one at its key).
 */
class DisplacedObjectsTest {
    @TempDir
    Path tmp;

    private final FakeClock clock = new FakeClock(Instant.parse("2026-12-02T10:00:00Z"));

    private CheckpointEntry saveOne(Path store) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("model.bin"), new byte[]{1, 2, 3});
        Files.setLastModifiedTime(src.resolve("model.bin"), java.nio.file.attribute.FileTime.from(Instant.parse("2026-12-01T00:00:00Z")));
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            WriterToken w = s.claimWriter("r");
            s.save(w, SaveRequest.of(src, "r", 1));
            return s.list("r").get(0);
        }
    }

    /** The first file below {@code dir}, replaced by an empty directory of its name. */
    private static Path firstFileMadeADirectory(Path dir) throws Exception {
        Path file;
        try (var files = Files.walk(dir)) {
            file = files.filter(Files::isRegularFile).findFirst().orElseThrow();
        }
        Files.delete(file);
        return Files.createDirectory(file);
    }

    @Test
    void aDirectoryAtRootIsNamedNotReportedAsLost() throws Exception {
        Path store = tmp.resolve("store");
        saveOne(store);
        Path root = store.resolve("ROOT");
        byte[] was = Files.readAllBytes(root);
        Files.delete(root);
        Files.createDirectory(root);
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> s.list("r"));
            assertTrue(e.getMessage().contains("cannot read ROOT of ") && e.getMessage().contains("a directory is in its"
                    + " place (" + root + ")") && e.getMessage().contains("move it out of the store"), e.getMessage());
            assertFalse(e.getMessage().contains("recover"), e.getMessage());
            assertTrue(e.needsAction(), "someone must move it: not 'retry later'");
        }
        Files.delete(root);
        Files.write(root, was);
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            assertEquals(1, s.list("r").size(), "as it was once the directory is gone");
        }
    }

    @Test
    void aDirectoryAtAManifestsKeyIsNamedNotReportedAsMissing() throws Exception {
        Path store = tmp.resolve("store");
        CheckpointEntry e1 = saveOne(store);
        Path manifest = firstFileMadeADirectory(store.resolve("manifests"));
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> s.manifest(e1));
            assertTrue(e.getMessage().contains("cannot read manifest ") && e.getMessage().contains(e1.id())
                    && e.getMessage().contains("a directory is in its place (" + manifest + ")"), e.getMessage());
            assertFalse(e.getMessage().contains("is missing"), e.getMessage());
        }
    }

    /** The same for recover (it said "missing", then asked for --force) and for a chunk a restore needs. */
    @Test
    void recoverAndRestoreNameWhatStandsAtRootOrAChunk() throws Exception {
        Path store = tmp.resolve("store");
        CheckpointEntry e1 = saveOne(store);
        Path root = store.resolve("ROOT");
        byte[] was = Files.readAllBytes(root);
        Files.delete(root);
        Files.createDirectory(root);
        StoreUnavailableException r = assertThrows(StoreUnavailableException.class, () -> new dev.ckpt.store.commit
                .RootRecovery(ObjectStores.local(store), Stores.config(clock)).run(false, java.time.Duration.ofMinutes(15), true));
        assertTrue(r.getMessage().contains("a directory is in its place (" + root + ")"), r.getMessage());
        Files.delete(root);
        Files.write(root, was);
        Path chunk = firstFileMadeADirectory(store.resolve("chunks"));
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            StoreUnavailableException e = assertThrows(StoreUnavailableException.class,
                    () -> s.restore(e1, tmp.resolve("out"), java.util.List.of()));
            assertTrue(e.getMessage().contains("cannot read chunk chunks/") && e.getMessage().contains("a directory is in"
                    + " its place (" + chunk + ")"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("out/model.bin")), "nothing restored");
        }
    }

    /**
     * verify said only "chunk … is missing" (MISSING, exit 3) for a chunk with a directory or FIFO
     * in its place; it names what stands there now. And a link to a device followed at a key is
     * said as such ("a device" read as if /dev/null itself stood in the store).
     */
    @Test
    void verifyNamesWhatStandsAtAChunkAndALinkToADeviceIsCalledOne() throws Exception {
        Path store = tmp.resolve("store");
        saveOne(store);
        Path chunk = firstFileMadeADirectory(store.resolve("chunks"));
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            for (VerifyRequest deep : java.util.List.of(VerifyRequest.deep(), VerifyRequest.structural())) {
                VerifyReport v = s.verify(deep);
                assertEquals(1, v.problems().size(), v.problems().toString());
                VerifyReport.Problem p = v.problems().get(0);
                assertEquals(VerifyReport.Kind.MISSING, p.kind());
                assertTrue(p.message().contains("is missing: a directory is in its place (" + chunk + ")")
                        && p.message().contains("move it out of the store"), p.message());
            }
        }
        Files.delete(chunk);
        Files.createSymbolicLink(chunk, Path.of("/dev/null"));
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            VerifyReport v = s.verify(VerifyRequest.structural());
            assertTrue(v.problems().get(0).message().contains("a symbolic link to a device is in its place (" + chunk + ")"),
                    v.problems().toString());
        }
    }

    /**
     * Links at a chunk's key, from a helper's tryout: verify called a dangling link, and a link
     * to the chunk's own bytes outside the store (which restore reads), only "missing"; the
     * listing shows neither. Both are named now, and a read of the dangling one says what it is.
     */
    @Test
    void verifyNamesALinkAtAChunksKeyWhetherItLeadsNowhereOrToAFile() throws Exception {
        Path store = tmp.resolve("store");
        CheckpointEntry e1 = saveOne(store);
        Path chunk;
        try (var files = Files.walk(store.resolve("chunks"))) {
            chunk = files.filter(Files::isRegularFile).findFirst().orElseThrow();
        }
        Path outside = tmp.resolve("chunk-outside");
        Files.move(chunk, outside);
        Files.createSymbolicLink(chunk, outside);
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            VerifyReport v = s.verify(VerifyRequest.deep());
            assertTrue(v.problems().get(0).message().contains("a symbolic link is in its place (" + chunk + "), which the"
                    + " store's listing does not follow"), v.problems().toString());
        }
        Files.delete(outside);
        try (CheckpointStore s = Stores.open(ObjectStores.local(store), clock)) {
            VerifyReport v = s.verify(VerifyRequest.structural());
            assertTrue(v.problems().get(0).message().contains("a symbolic link that leads nowhere (to " + outside
                    + ") is in its place (" + chunk + ")"), v.problems().toString());
            StoreUnavailableException r = assertThrows(StoreUnavailableException.class,
                    () -> s.restore(e1, tmp.resolve("out"), java.util.List.of()));
            assertTrue(r.getMessage().contains("a symbolic link that leads nowhere"), r.getMessage());
        }
    }
}

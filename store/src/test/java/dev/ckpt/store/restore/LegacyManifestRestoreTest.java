package dev.ckpt.store.restore;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.VerifyReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A store written by the code of commit 0bd233a (before the pipelined restore and
 * byte-grouped chunks; see the fixture's README) still restores byte for byte and
 * verifies clean. The fixture is copied first: tests never write into resources.
 */
class LegacyManifestRestoreTest {
    private static final String FIXTURE = "/legacy/store-2026-11";

    @TempDir
    Path tmp;

    private Path copyFixture() throws IOException, URISyntaxException {
        Path from = Path.of(LegacyManifestRestoreTest.class.getResource(FIXTURE + "/store").toURI());
        Path to = tmp.resolve("store");
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.sorted().toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest);
                }
            }
        }
        return to;
    }

    private static Map<String, String> expectedHashes() throws IOException, URISyntaxException {
        Path list = Path.of(LegacyManifestRestoreTest.class.getResource(FIXTURE + "/source.sha256").toURI());
        Map<String, String> out = new TreeMap<>();
        for (String line : Files.readAllLines(list)) {
            if (!line.isBlank()) {
                out.put(line.substring(66), line.substring(0, 64)); // sha256sum: "<hash>  <path>"
            }
        }
        return out;
    }

    private static Map<String, String> hashes(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Hashes.sha256Hex(Files.readAllBytes(p)));
            }
        }
        return out;
    }

    @Test
    void storeWrittenBeforeThePipelinedRestoreRestoresByteIdenticalAndVerifiesClean() throws Exception {
        Path storeDir = copyFixture();
        StoreConfig config = StoreConfig.builder().chunkSize(4096).parallelism(2).ioConcurrency(4).maxChunksInFlight(4).build();
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(storeDir), config)) {
            VerifyReport report = s.verify(VerifyRequest.deep());
            assertTrue(report.problems().isEmpty(), "deep verify of the legacy store: " + report.problems());
            assertEquals(1, report.checkpoints());

            Path out = tmp.resolve("out");
            RestoreResult r = s.restore("legacy@1", out);
            assertEquals("legacy-s1-94d3748d", r.checkpointId());
            assertEquals(7, r.files());
            Map<String, String> expected = expectedHashes();
            assertEquals(7, expected.size());
            assertEquals(expected, hashes(out));
            assertTrue(Files.getPosixFilePermissions(out.resolve("run.sh")).contains(PosixFilePermission.OWNER_EXECUTE));
            // modes of before the type bit (0755, 0644: the permission bits alone) restore exactly
            assertEquals("rwxr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(out.resolve("run.sh"))));
            assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(out.resolve("data.bin"))));
            assertEquals(0, Files.size(out.resolve("empty.txt")));

            // restoring over the identical copy (every chunk reused locally) and with the default settings
            try (CheckpointStore d = CheckpointStore.open(ObjectStores.local(storeDir), StoreConfig.defaults())) {
                RestoreResult again = d.restore(d.resolve("legacy:latest"), out, List.of());
                assertEquals(0, again.chunksDownloaded());
                Path fresh = tmp.resolve("fresh");
                d.restore("legacy:latest", fresh);
                assertEquals(expected, hashes(fresh));
            }
            assertEquals(expected, hashes(out));
        }
    }
}

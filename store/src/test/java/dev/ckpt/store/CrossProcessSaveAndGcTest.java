package dev.ckpt.store;

import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Saves in this JVM while another JVM runs GC in a loop with a zero grace age on the same
 * local-filesystem store, so the GC deletes chunks of saves in flight and of checkpoints
 * that retention just dropped. No committed checkpoint may lose a chunk.
 */
class CrossProcessSaveAndGcTest {
    @TempDir
    Path tmp;

    @Test
    void saveAndGcInDifferentProcessesNeverLoseACommittedChunk() throws Exception {
        Path storeDir = tmp.resolve("store");
        Path stop = tmp.resolve("stop");
        StoreConfig config = StoreConfig.defaults().withChunkSize(16 * 1024).withGcGrace(Duration.ZERO);
        List<Path> sources = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            sources.add(TestDirs.checkpoint(tmp.resolve("src" + i), 20 + (i % 2), 3, 30_000));
            if (i >= 2) {
                TestDirs.touch(sources.get(i).resolve("file1.bin"), i);
            }
        }
        Map<String, Integer> sourceOf = new HashMap<>();
        int reuploaded = 0;
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.local(storeDir), config)) {
            store.init();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process gc = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), GcChild.class.getName(),
                    storeDir.toString(), stop.toString()).redirectErrorStream(true).start();
            try {
                long deadline = System.currentTimeMillis() + 30_000;
                while (!Files.exists(Path.of(stop + ".ready")) && System.currentTimeMillis() < deadline) {
                    Thread.sleep(10);
                }
                WriterToken w = store.claimWriter("r");
                // At least 150 saves, and on until the GC process has run a few times alongside
                // them (its first run in a cold JVM can outlast many saves), bounded in time: 3 minutes, as on a
                // loaded machine the 150 saves alone can take a minute.
                long until = System.currentTimeMillis() + 180_000;
                for (int i = 0; i < 150 || (gcRuns(stop) < 5 && System.currentTimeMillis() < until); i++) {
                    int src = i % sources.size();
                    SaveResult r = store.save(w, SaveRequest.of(sources.get(src), "r", i).withRetention(Retention.keepLast(2)));
                    sourceOf.put(r.checkpointId(), src);
                    reuploaded += r.reuploadedChunks();
                }
            } finally {
                Files.createFile(stop);
            }
            String out = new String(gc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(gc.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, gc.exitValue(), out);
            System.out.println("cross-process: " + out.trim() + ", chunks re-uploaded by commits: " + reuploaded);
            int runs = Integer.parseInt(out.replaceAll("(?s).*gc runs=(\\d+).*", "$1"));
            assertTrue(runs >= 5, "the GC ran while the saves ran: " + out);
            assertTrue(store.verify(VerifyRequest.deep()).ok(), () -> store.verify(VerifyRequest.deep()).problems().toString());
            for (CheckpointEntry e : store.list("r")) {
                Path o = tmp.resolve("out-" + e.id());
                store.restore(e, o, List.of());
                TestDirs.assertSameTree(TestDirs.snapshot(sources.get(sourceOf.get(e.id()))), o);
            }
            assertEquals(2, store.list("r").size());
        }
    }

    private static int gcRuns(Path stop) {
        try {
            return Integer.parseInt(Files.readString(Path.of(stop + ".runs")).trim());
        } catch (java.io.IOException | NumberFormatException e) {
            return 0;
        }
    }
}

package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real GC process killed with SIGKILL in its sweep, on this machine: the next GC takes its
 * lease (10 minutes, the default) over at once and deletes the sealed list, and a push that
 * needs none of it was never held. Before, every GC was refused until the lease expired.
 */
class GcKilledProcessTest {
    @TempDir
    Path tmp;

    /** The child: a GC whose first delete announces itself on stdout and then never returns. */
    public static void main(String[] args) throws Exception {
        ObjectStore hanging = new ForwardingObjectStore(ObjectStores.local(Path.of(args[0]))) {
            @Override
            public void delete(String key) {
                System.out.println("sweeping");
                System.out.flush();
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (CheckpointStore s = CheckpointStore.open(hanging, StoreConfig.defaults().withGcGrace(Duration.ZERO))) {
            s.gc(GcRequest.collect());
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void theNextGcTakesOverTheLeaseOfAGcKilledInItsSweepAtOnce() throws Exception {
        Path dir = tmp.resolve("store");
        StoreConfig config = StoreConfig.defaults().withGcGrace(Duration.ZERO);
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(dir), config)) {
            WriterToken w = s.claimWriter("a");
            s.save(w, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v1"), 1, 3, 30_000), "a", 1));
            s.save(w, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("v2"), 2, 3, 30_000), "a", 2)
                    .withRetention(Retention.keepLast(1)));
        }
        Thread.sleep(20); // older than the grace age of 0
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
                GcKilledProcessTest.class.getName(), dir.toString()).redirectErrorStream(true).start();
        List<String> said = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null && !line.equals("sweeping"); ) {
                said.add(line);
            }
        } finally {
            child.destroyForcibly(); // SIGKILL: no chance to give the lease back
            child.waitFor(30, TimeUnit.SECONDS);
        }
        GcState left = new RootStore(ObjectStores.local(dir)).read().state().gc();
        assertEquals(GcState.Phase.SWEEP, left.phase(), "the child died in its sweep: " + said);
        assertTrue(left.owner().matches(".* pid " + child.pid() + "( .*)?"), left.owner());
        assertTrue(Duration.between(java.time.Instant.now(), left.leaseExpiry()).toMinutes() >= 8, "the default lease");

        List<String> progress = new ArrayList<>();
        GcResult r;
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(dir), config)) {
            r = s.gc(GcRequest.collect().withProgress(progress::add));
            assertTrue(r.resumed());
            assertEquals(left.dead().size(), r.deletedKeys().size());
            left.dead().forEach(k -> assertTrue(s.objectStore().head(k).isEmpty(), k));
            assertEquals(GcState.Phase.IDLE, s.root().gc().phase());
            assertTrue(s.verify(VerifyRequest.deep()).ok());
        }
        assertTrue(progress.stream().anyMatch(p -> p.contains("took over the lease") && p.contains("process " + child.pid())),
                progress.toString());
    }
}

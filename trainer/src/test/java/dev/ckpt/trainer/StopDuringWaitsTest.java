package dev.ckpt.trainer;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stop request while the trainer waits on the store outside a step boundary (helper-76):
 * during the start-up's writer claim, and while a save waits for the one uploading ahead of it.
 * A write of ROOT that does not end (another process holding a local store's lock, a server
 * that does not answer) made the process exit some 30 s past --preempt-deadline, after the
 * scheduler's SIGKILL would have come. The store here blocks every write of ROOT from a point on
 * until the test ends (or, as a guard against a hang, for 120 s); the assertions are on what
 * the trainer printed, its exit code and the store, not on times.
 */
class StopDuringWaitsTest {
    @TempDir
    Path tmp;

    /** Holds a request of ROOT until {@code release} (or, as a guard against a hang, 120 s). */
    private static void block(CountDownLatch release, String doing) {
        try {
            if (!release.await(120, TimeUnit.SECONDS)) {
                throw new StoreUnavailableException("test guard: ROOT blocked for 120 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while " + doing + " ROOT");
        }
    }

    /** Blocks every write of ROOT once {@code armed}, until {@code release} or 120 s; counts them. */
    private static final class BlockingRoot extends ForwardingObjectStore {
        final AtomicBoolean armed = new AtomicBoolean();
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger blocked = new AtomicInteger();
        final Runnable onBlock;

        BlockingRoot(ObjectStore delegate, Runnable onBlock) {
            super(delegate);
            this.onBlock = onBlock;
        }

        @Override
        public String putIfMatch(String key, byte[] data, String expectedEtag) {
            if (key.equals("ROOT") && armed.get()) {
                blocked.incrementAndGet();
                onBlock.run();
                block(release, "writing");
            }
            return super.putIfMatch(key, data, expectedEtag);
        }
    }

    private String[] args(String... more) {
        String[] base = {"--store", tmp.resolve("store").toString(), "--staging", tmp.resolve("staging").toString(),
                "--run", "t", "--preempt-deadline", "1s"};
        String[] all = new String[base.length + more.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    private List<Long> steps() {
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            return s.list("t").stream().map(CheckpointEntry::step).toList();
        }
    }

    @Test
    void aStopWhileTheStartUpClaimsTheRunEndsItByTheDeadlineAndChangesNothing() throws Exception {
        Result first = TrainerRuns.inProcess(s -> s, null, null, args("--steps", "2", "--save-every", "1"));
        assertEquals(0, first.code(), first.all());
        byte[] root = Files.readAllBytes(tmp.resolve("store/ROOT"));

        ByteArrayOutputStream said = new ByteArrayOutputStream();
        Preemption p = new Preemption(new PrintStream(said, true, StandardCharsets.UTF_8));
        BlockingRoot[] store = new BlockingRoot[1];
        try {
            Result r = TrainerRuns.inProcess(s -> {
                store[0] = new BlockingRoot(s, () -> p.request("SIGTERM")); // the stop comes as the claim waits
                store[0].armed.set(true);
                return store[0];
            }, p, null, args("--steps", "10", "--save-every", "1", "--auto-resume"));
            assertEquals(75, r.code(), r.all());
            assertEquals(1, store[0].blocked.get(), "the claim's write of ROOT was the one blocked: " + r.all());
            assertTrue(r.out().contains("preempted: SIGTERM during start-up; --preempt-deadline 1s passed while claiming"
                    + " run t as its writer, which was abandoned; nothing was trained, so nothing is lost"), r.all());
            assertFalse(r.out().contains("step 1 "), "no step trained: " + r.out());
            String line = said.toString(StandardCharsets.UTF_8);
            assertTrue(line.contains("ckpt-train: SIGTERM received: during start-up, with nothing trained to save:"
                    + " stopping when the start-up step under way ends, at the latest at --preempt-deadline, then exiting"
                    + " 75"), "the signal's line says when it stops (helper-118: 'stopping by' read as a cause): " + line);
        } finally {
            store[0].release.countDown();
        }
        assertArrayEquals(root, Files.readAllBytes(tmp.resolve("store/ROOT")), "ROOT was not replaced");
        assertEquals(List.of(1L, 2L), steps());
    }

    @Test
    void aStopWhileASaveWaitsForTheUploadAheadOfItIsHeardThereNotAfterThatUpload() throws Exception {
        Preemption p = new Preemption(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        BlockingRoot[] store = new BlockingRoot[1];
        try {
            // steps 1 and 2 commit; the commit of step 3 blocks; step 4 is staged behind it; step 5 waits
            Result r = TrainerRuns.inProcess(s -> store[0] = new BlockingRoot(s, () -> { }), p, line -> {
                if (line.startsWith("saved step 2 ")) {
                    store[0].armed.set(true);
                }
                if (line.startsWith("save at step 5 waits")) {
                    p.request("SIGTERM");
                }
            }, args("--steps", "100", "--save-every", "1"));
            assertEquals(75, r.code(), r.all());
            assertTrue(r.out().contains("save at step 5 not staged: SIGTERM received; the stop saves step 5"), r.all());
            assertTrue(r.out().contains("preempted: SIGTERM at step 5; --preempt-deadline 1s passed while the save of "
                    + "step 3 had not committed"), r.all());
            assertTrue(r.out().contains("the latest checkpoint stays t-s2-"), r.all());
            // its write of ROOT was in flight when it was abandoned: it may land yet, and the trainer says so
            assertTrue(r.out().contains(", unless the commit of step 3 landed after all (it was abandoned or failed while"
                    + " its write of ROOT may have been in flight: ckpt-tool ls " + tmp.resolve("store").toUri() + " shows whether it did"),
                    r.all());
        } finally {
            store[0].release.countDown();
        }
        assertEquals(List.of(1L, 2L), steps());
    }

    @Test
    void aStopDuringTheFinalSaveEndsItByTheDeadline() throws Exception {
        Preemption p = new Preemption(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        BlockingRoot[] store = new BlockingRoot[1];
        try {
            // steps 1 and 2 commit in the background; the final save of step 3 blocks, and the stop comes then
            Result r = TrainerRuns.inProcess(s -> store[0] = new BlockingRoot(s, () -> p.request("SIGTERM")), p, line -> {
                if (line.startsWith("saved step 2 ")) {
                    store[0].armed.set(true);
                }
            }, args("--steps", "3", "--save-every", "1"));
            assertEquals(75, r.code(), r.all());
            assertTrue(r.out().contains("preempted: SIGTERM at step 3; --preempt-deadline 1s passed while the final save "
                    + "of step 3 had not committed"), r.all());
            assertTrue(r.out().contains("the latest checkpoint stays t-s2-"), r.all());
            // its write of ROOT was in flight when it was abandoned: it may land yet, and the trainer says so
            assertTrue(r.out().contains(", unless the commit of step 3 landed after all (it was abandoned or failed while"
                    + " its write of ROOT may have been in flight: ckpt-tool ls " + tmp.resolve("store").toUri() + " shows whether it did"),
                    r.all());
        } finally {
            store[0].release.countDown();
        }
        assertEquals(List.of(1L, 2L), steps());
    }

    /** Once armed, the next manifest written arms a block of every read of ROOT after it: the commit's read hangs. */
    private static final class BlockingCommitRead extends ForwardingObjectStore {
        final AtomicBoolean armed = new AtomicBoolean();
        final AtomicBoolean reading = new AtomicBoolean();
        final CountDownLatch release = new CountDownLatch(1);
        final Runnable onBlock;

        BlockingCommitRead(ObjectStore delegate, Runnable onBlock) {
            super(delegate);
            this.onBlock = onBlock;
        }

        @Override
        public dev.ckpt.store.objectstore.PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
            dev.ckpt.store.objectstore.PutResult r = super.putIfAbsent(key, data, offset, length);
            if (armed.get() && key.startsWith("manifests/")) {
                reading.set(true);
            }
            return r;
        }

        @Override
        public dev.ckpt.store.objectstore.StoredObject get(String key) {
            if (key.equals("ROOT") && reading.get()) {
                onBlock.run();
                block(release, "reading");
            }
            return super.get(key);
        }
    }

    /**
     * helper-83: the trainer said "unless the commit of step 3 landed after all" when the stop came while the
     * commit's read of ROOT hung, before any write of ROOT was sent. It says so only once a write was sent.
     */
    @Test
    void aStopWhileTheCommitsReadOfRootHangsSaysTheLatestStaysWithoutDoubt() throws Exception {
        Preemption p = new Preemption(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        BlockingCommitRead[] store = new BlockingCommitRead[1];
        try {
            Result r = TrainerRuns.inProcess(s -> store[0] = new BlockingCommitRead(s, () -> p.request("SIGTERM")), p,
                    line -> {
                        if (line.startsWith("saved step 2 ")) {
                            store[0].armed.set(true);
                        }
                    }, args("--steps", "3", "--save-every", "1"));
            assertEquals(75, r.code(), r.all());
            assertTrue(r.out().contains("--preempt-deadline 1s passed while the final save of step 3 had not committed"),
                    r.all());
            assertTrue(r.out().contains("the latest checkpoint stays t-s2-") && !r.out().contains("unless the commit"),
                    r.all());
        } finally {
            store[0].release.countDown();
        }
        assertEquals(List.of(1L, 2L), steps());
    }

    /**
     * A stop during the start-up that then fails (here the writer claim's write of ROOT; in the field a
     * lock held past its 30 s, before the default 50 s deadline) exits 75 with the requeue hook, as the
     * stop promised, not 1 (helper-77). And a stop before any step is trained saves nothing.
     */
    @Test
    void aStartUpThatFailsAfterAStopStillExitsSeventyFiveAndNothingTrainedIsNotSaved() throws Exception {
        Result first = TrainerRuns.inProcess(s -> s, null, null, args("--steps", "2", "--save-every", "1"));
        assertEquals(0, first.code(), first.all());
        byte[] root = Files.readAllBytes(tmp.resolve("store/ROOT"));
        Preemption p = new Preemption(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Result r = TrainerRuns.inProcess(s -> new ForwardingObjectStore(s) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                if (key.equals("ROOT")) {
                    p.request("SIGTERM");
                    throw StoreUnavailableException.needingAction("test: the lock of ROOT was held for 30 s", null);
                }
                return super.putIfMatch(key, data, expectedEtag);
            }
        }, p, null, args("--steps", "10", "--save-every", "1", "--auto-resume", "--preempt-deadline", "60s"));
        assertEquals(75, r.code(), r.all());
        assertTrue(r.out().contains("preempted: SIGTERM during start-up; it stopped while claiming run t as its writer,"
                + " which failed (test: the lock of ROOT was held for 30 s"), r.all());
        assertArrayEquals(root, Files.readAllBytes(tmp.resolve("store/ROOT")));

        // the stop comes during a start-up that ends in time: no step trained, nothing saved, the latest named
        Preemption q = new Preemption(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Result s2 = TrainerRuns.inProcess(s -> new ForwardingObjectStore(s) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                q.request("SIGTERM"); // the claim's write: the start-up goes on and ends
                return super.putIfMatch(key, data, expectedEtag);
            }
        }, q, null, args("--steps", "10", "--save-every", "1", "--auto-resume", "--preempt-deadline", "60s"));
        assertEquals(75, s2.code(), s2.all());
        assertTrue(s2.out().contains("preempted: SIGTERM before any step was trained; nothing to save: the latest"
                + " checkpoint of run t stays t-s2-"), s2.all());
        assertFalse(s2.out().contains("committed checkpoint"), s2.all());
        assertEquals(List.of(1L, 2L), steps());

        // the same with nothing to train (resumed at --steps): 75 as the signal's line promised, not "saving the final
        // state" and 0 (helper-100)
        Preemption n = new Preemption(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Result none = TrainerRuns.inProcess(s -> new ForwardingObjectStore(s) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                n.request("SIGTERM");
                return super.putIfMatch(key, data, expectedEtag);
            }
        }, n, null, args("--steps", "2", "--save-every", "1", "--auto-resume", "--preempt-deadline", "60s"));
        assertEquals(75, none.code(), none.all());
        assertTrue(none.out().contains("preempted: SIGTERM during the start-up, with nothing to train (run t resumed at"
                + " step 2, and --steps is 2; to train on, pass --steps above 2); nothing to save: the latest checkpoint"
                + " of run t stays t-s2-"), none.all());
        assertFalse(none.out().contains("saving the final state"), none.all());
        assertEquals(List.of(1L, 2L), steps());
    }
}

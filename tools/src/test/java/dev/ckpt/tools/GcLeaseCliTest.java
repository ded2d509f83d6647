package dev.ckpt.tools;

import dev.ckpt.store.GcRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@code gc} killed (SIGKILL) in its sweep leaves its lease in ROOT. Commands that need
 * what it holds say who holds it and until when: push and import exit 4 at once unless
 * given --wait-for-gc, and then say so as the wait starts and commit when the GC finishes
 * or its lease expires; a second gc exits 4 at once too.
 */
class GcLeaseCliTest {
    @TempDir
    Path tmp;
    private String store;
    private final Cli cli = new Cli(Map.of());
    private Path shared;

    private String push(Path dir, String run, long step, String... extra) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("push", store, dir.toString(),
                "--run", run, "--step", Long.toString(step)));
        args.addAll(java.util.List.of(extra));
        Cli.Result r = cli.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        return r.out().trim();
    }

    /**
     * Pushes {@code shared} to run a, exports it, lets retention drop it, and has a GC seal
     * its objects for deletion and die before deleting any, leaving a lease of {@code lease}.
     */
    private GcState gcKilledInItsSweep(Duration lease) throws Exception {
        store = tmp.resolve("store").toString();
        shared = TestDirs.checkpoint(tmp.resolve("shared"), 7, 3, 30_000);
        String a = push(shared, "a", 1, "--keep-last", "1", "--progress", "none");
        assertEquals(0, cli.run("export", store, a, tmp.resolve("a.tar.zst").toString()).code());
        push(TestDirs.checkpoint(tmp.resolve("x"), 8, 1, 1000), "a", 2, "--keep-last", "1", "--progress", "none");
        Thread.sleep(20); // older than the grace age of 0
        FaultInjectingObjectStore faulty = new FaultInjectingObjectStore(ObjectStores.open(store));
        faulty.crashAtWrite(3, false); // acquire, gc/ record, seal: then dies at its first delete
        try (CheckpointStore s = CheckpointStore.open(faulty,
                StoreConfig.defaults().withGcGrace(Duration.ZERO).withGcLease(lease))) {
            s.gc(GcRequest.collect());
            throw new AssertionError("the GC should have crashed");
        } catch (Error expected) {
            // the simulated SIGKILL
        }
        GcState gc = new RootStore(ObjectStores.open(store)).read().state().gc();
        assertEquals(GcState.Phase.SWEEP, gc.phase());
        return gc;
    }

    private static long since(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void pushAndImportExitFourAtOnceNamingTheGcAndWhenItsLeaseExpires() throws Exception {
        GcState gc = gcKilledInItsSweep(Duration.ofMinutes(10));
        for (String[] args : new String[][]{
                {"push", store, shared.toString(), "--run", "b", "--step", "1"},
                {"push", store, shared.toString(), "--run", "b", "--step", "1", "--json", "--progress", "plain"},
                {"import", store, tmp.resolve("a.tar.zst").toString(), "--run", "c", "--step", "1"}}) {
            long t0 = System.nanoTime();
            Cli.Result r = cli.run(args);
            assertEquals(ExitCode.FENCED_OR_CONFLICT, r.code(), r.toString());
            assertTrue(since(t0) < 20_000, "exit 4 without waiting for the lease: " + since(t0) + " ms");
            String err = r.err();
            assertTrue(err.contains("GC generation " + gc.generation()) && err.contains(gc.owner())
                    && err.contains(gc.leaseExpiry().toString()), err);
            assertTrue(err.contains("--wait-for-gc"), "says how to wait: " + err);
            assertEquals(1, err.lines().filter(l -> l.startsWith("ckpt-tool ")).count(), err);
            assertTrue(!err.contains("Exception"), "no class names without --verbose: " + err);
        }
        assertTrue(cli.run("ls", store, "--run", "b").out().lines().count() <= 1, "nothing was committed");
    }

    /**
     * The lease does not run out while the push is still uploading: it is long, and expires
     * (moved into the past, as the clock would move past it) only once the push has said it
     * waits. A real 3 s lease made this depend on the push reaching its commit in 3 s.
     */
    @Test
    void pushWithWaitForGcSaysWhoHoldsTheLeaseAtOnceAndCommitsWhenItExpires() throws Exception {
        GcState gc = gcKilledInItsSweep(Duration.ofMinutes(10));
        java.io.StringWriter err = new java.io.StringWriter();
        CompletableFuture<Cli.Result> push = CompletableFuture.supplyAsync(() -> cli.run(err, "push", store,
                shared.toString(), "--run", "b", "--step", "1", "--wait-for-gc", "5m", "--progress", "plain"));
        long t0 = System.nanoTime();
        while (!err.toString().contains("waits for GC generation")) {
            assertTrue(!push.isDone(), () -> "the push ended without a notice of the wait: " + push.join());
            assertTrue(since(t0) < 120_000, "no notice of the wait within 2 minutes: " + err);
            Thread.sleep(50);
        }
        String notice = err.toString().lines().filter(l -> l.contains("waits for GC generation")).findFirst().orElseThrow();
        assertTrue(notice.contains(gc.owner()) && notice.contains(gc.leaseExpiry().toString()), notice);
        new RootStore(ObjectStores.open(store)).change(s -> s.withGc(new GcState(s.gc().phase(), s.gc().generation(),
                s.gc().owner(), java.time.Instant.now().minusSeconds(1), s.gc().dead(), s.gc().finished())));
        t0 = System.nanoTime();
        Cli.Result r = push.get(120, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.toString());
        assertTrue(since(t0) < 30_000, "committed once the lease expired: " + since(t0) + " ms");
        GcState after = new RootStore(ObjectStores.open(store)).read().state().gc();
        assertEquals(GcState.Phase.IDLE, after.phase(), "the expired sweep was taken over");
        assertEquals(0, cli.run("verify", store, "b:latest", "--read-data", "--progress", "none").code());
    }

    @Test
    void pushWithWaitForGcCommitsAsSoonAsTheGcFinishes() throws Exception {
        GcState gc = gcKilledInItsSweep(Duration.ofMinutes(10));
        CompletableFuture<Cli.Result> push = CompletableFuture.supplyAsync(() -> cli.run("push", store,
                shared.toString(), "--run", "b", "--step", "1", "--wait-for-gc", "5m", "--progress", "none"));
        Thread.sleep(1500);
        assertTrue(!push.isDone(), "push waits for the GC");
        // the GC finishes its sweep (as a resumed GC would): deletes its list and records the generation
        var objects = ObjectStores.open(store);
        gc.dead().forEach(objects::delete);
        new RootStore(objects).change(s -> s.withGc(s.gc().finish(java.time.Instant.now(), false)));
        long t0 = System.nanoTime();
        Cli.Result r = push.get();
        assertEquals(0, r.code(), r.toString());
        assertTrue(since(t0) < 20_000, "committed soon after the GC finished: " + since(t0) + " ms");
        assertEquals(0, cli.run("verify", store, "b:latest", "--read-data", "--progress", "none").code());
        Path out = tmp.resolve("out");
        assertEquals(0, cli.run("restore", store, "b:latest", out.toString(), "--progress", "none").code());
        TestDirs.assertSameTree(TestDirs.snapshot(shared), out);
    }

    @Test
    void anExpiredLeaseIsTakenOverAtOnce() throws Exception {
        gcKilledInItsSweep(Duration.ofMillis(500));
        Thread.sleep(600);
        long t0 = System.nanoTime();
        Cli.Result r = cli.run("push", store, shared.toString(), "--run", "b", "--step", "1", "--progress", "none");
        assertEquals(0, r.code(), r.toString());
        assertTrue(since(t0) < 20_000, since(t0) + " ms");
    }

    @Test
    void aSecondGcSaysWhoHoldsTheLeaseAndUntilWhenAtOnce() throws Exception {
        GcState gc = gcKilledInItsSweep(Duration.ofMinutes(10));
        long t0 = System.nanoTime();
        Cli.Result r = cli.run("gc", store, "--grace", "0s", "--progress", "none");
        assertEquals(ExitCode.FENCED_OR_CONFLICT, r.code(), r.toString());
        assertTrue(since(t0) < 20_000);
        assertTrue(r.err().contains(gc.owner()) && r.err().contains(gc.leaseExpiry().toString()), r.err());
    }

    /** gc --dry-run said what a gc would delete and nothing of the lease that would refuse that gc (exit 4). */
    @Test
    void aDryRunSaysAGcNowWouldBeRefusedAndWhy() throws Exception {
        GcState gc = gcKilledInItsSweep(Duration.ofMinutes(10));
        Cli.Result r = cli.run("gc", store, "--grace", "0s", "--dry-run", "--progress", "none");
        assertEquals(0, r.code(), r.toString());
        String said = r.out().lines().filter(l -> l.startsWith("but gc now would be refused: ")).findFirst().orElse("");
        assertTrue(said.contains("GC generation " + gc.generation()) && said.contains(gc.owner())
                && said.contains(gc.leaseExpiry().toString()), r.toString());
        // the lease's owner may be running or dead: neither line claims to know which (helper-109: "crashed", then "is running")
        assertTrue(r.out().contains(" finishing the sweep of a GC that holds the lease (below)") && !r.out().contains("crashed")
                && said.contains(" holds the GC lease of ") && !said.contains(") is running on "), r.toString());
        Cli.Result j = cli.run("gc", store, "--grace", "0s", "--dry-run", "--json", "--progress", "none");
        assertTrue(j.json().path("refusedNow").asText().contains(gc.leaseExpiry().toString()), j.toString());
        // what is deleted next is that sweep's sealed list, not a fresh mark (a helper saw 3 objects for a list of 1)
        assertEquals(gc.dead().size(), j.json().path("deletedObjects").asInt(), j.toString());
        assertTrue(j.json().path("resumed").asBoolean(), j.toString());
        // once the lease has expired, a dry run says nothing of a refusal, in text or JSON
        new RootStore(ObjectStores.open(store)).change(s -> s.withGc(new GcState(s.gc().phase(), s.gc().generation(),
                s.gc().owner(), java.time.Instant.now().minusSeconds(1), s.gc().dead(), s.gc().finished())));
        Cli.Result after = cli.run("gc", store, "--grace", "0s", "--dry-run", "--progress", "none");
        assertEquals(0, after.code(), after.toString());
        assertTrue(!after.out().contains("refused"), after.toString());
        Cli.Result afterJson = cli.run("gc", store, "--grace", "0s", "--dry-run", "--json", "--progress", "none");
        assertTrue(afterJson.json().path("refusedNow").isMissingNode(), afterJson.toString());
    }

    /**
     * A rank 0 held by the GC records that it gave up, which closes the step for its job: its
     * hint says --wait-for-gc helps next time, not that waiting would save this step (the
     * saver marks the failure; the hint once looked for words in the message).
     */
    @Test
    void aRankThatGaveUpOnAGcIsToldToWaitNextTimeNotNow() throws Exception {
        gcKilledInItsSweep(Duration.ofMinutes(10));
        Path other = tmp.resolve("rank1");
        java.nio.file.Files.createDirectories(other.resolve("rank-1"));
        java.nio.file.Files.writeString(other.resolve("rank-1/optimizer.bin"), "rank 1's own bytes");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var rank0 = pool.submit(() -> cli.run("push", store, shared.toString(), "--run", "b", "--step", "1", "--rank",
                    "0", "--world-size", "2", "--job-id", "job-3", "--progress", "none"));
            var rank1 = pool.submit(() -> cli.run("push", store, other.toString(), "--run", "b", "--step", "1", "--rank",
                    "1", "--world-size", "2", "--job-id", "job-3", "--progress", "none"));
            Cli.Result r0 = rank0.get(120, java.util.concurrent.TimeUnit.SECONDS);
            Cli.Result r1 = rank1.get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(ExitCode.ERROR, r0.code(), r0.toString()); // the step is closed: 1, not "retry later"
            assertTrue(r0.err().contains("this job cannot save step 1 again")
                    && r0.err().strip().endsWith("(to wait for a GC next time, pass --wait-for-gc DURATION)"), r0.err());
            assertTrue(!r0.err().contains("(or pass --wait-for-gc DURATION to wait for it)"), r0.err());
            assertEquals(ExitCode.ERROR, r1.code(), r1.toString());
        } finally {
            pool.shutdownNow();
        }
        // an unranked push held by the same GC is told it may wait for it
        Cli.Result plain = cli.run("push", store, shared.toString(), "--run", "c", "--step", "1", "--progress", "none");
        assertEquals(ExitCode.FENCED_OR_CONFLICT, plain.code(), plain.toString());
        assertTrue(plain.err().strip().endsWith("(or pass --wait-for-gc DURATION to wait for it)"), plain.err());
    }
}

package dev.ckpt.tools.torture;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.GcRequest;
import dev.ckpt.store.RetentionRequest;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RetentionResult;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.restore.VerifyReport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * One process of a torture round, which the harness SIGKILLs at random moments and starts
 * again. Roles: {@code writer RUN} (claims the run, then saves step after step, each step's
 * directory from {@link Content}; when fenced it goes on as a zombie for a few saves, then
 * claims again, fencing the other writer of the run), {@code gc} (GC with grace 0 in a loop),
 * {@code retention} (keep-last policies on random runs in a loop) and {@code reader} (restores
 * and deep-verifies random checkpoints while everything else runs). Everything it does goes
 * to its journal ({@link Events}).
 *
 * <p>Between two operations it obeys the control directory: {@code stop} exists: exit 0;
 * {@code pause} exists (holding a round number): report {@code paused} once for that round and
 * wait until the file is gone, so the harness can check the store while nothing runs.
 *
 * <p>Usage: {@code TortureChild ROLE NAME STORE DATA_SEED CHILD_SEED CONTROL_DIR WORK_DIR [RUN]};
 * STORE is a path or an s3:// URL (the endpoint and keys from the environment, as ckpt-tool).
 */
public final class TortureChild {
    private final String role;
    private final String name;
    private final Events events;
    private final CheckpointStore store;
    private final long dataSeed;
    private final Random rnd;
    private final Path control;
    private final Path work;
    private long pausedRound = -1;

    private TortureChild(String role, String name, Events events, CheckpointStore store, long dataSeed, long childSeed,
                         Path control, Path work) {
        this.role = role;
        this.name = name;
        this.events = events;
        this.store = store;
        this.dataSeed = dataSeed;
        this.rnd = new Random(childSeed);
        this.control = control;
        this.work = work;
    }

    /** The settings every torture process uses: small chunks (many per checkpoint), GC grace 0, a short lease. */
    static StoreConfig config() {
        Duration lease = Duration.parse(System.getProperty("torture.gcLease", "PT8S"));
        return StoreConfig.builder().chunkSize(16 * 1024).parallelism(2).maxChunksInFlight(4)
                .gcGrace(Duration.ZERO).gcLease(lease).gcDeleteBatch(4).commitWait(Duration.ofSeconds(3)).build();
    }

    static ObjectStore open(String store) {
        return store.startsWith("s3://") ? S3ObjectStores.open(store, System.getenv()) : ObjectStores.local(Path.of(store));
    }

    public static void main(String[] args) throws Exception {
        String role = args[0];
        Events events = new Events(System.out, args[1]);
        try (CheckpointStore store = CheckpointStore.open(open(args[2]), config())) {
            TortureChild c = new TortureChild(role, args[1], events, store, Long.parseLong(args[3]), Long.parseLong(args[4]),
                    Path.of(args[5]), Path.of(args[6]));
            switch (role) {
                case "writer" -> c.writer(args[7]);
                case "gc" -> c.gc();
                case "retention" -> c.retention();
                case "reader" -> c.reader();
                case "saboteur" -> c.saboteur();
                default -> throw new IllegalArgumentException("unknown role " + role);
            }
        }
        System.exit(0);
    }

    /** False when the harness asks to stop; waits while it asks to pause. */
    private boolean proceed() throws InterruptedException {
        while (true) {
            if (Files.exists(control.resolve("stop"))) {
                return false;
            }
            Path pause = control.resolve("pause");
            String round = readOrNull(pause);
            if (round == null) {
                return true;
            }
            long r = Long.parseLong(round.trim());
            if (r != pausedRound) {
                pausedRound = r;
                events.log("paused", "round", r);
            }
            Thread.sleep(20);
        }
    }

    private static String readOrNull(Path p) {
        try {
            String s = Files.readString(p);
            return s.isBlank() ? null : s; // a pause file being written counts from its next check
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void error(Object what, Throwable e) {
        events.log("error", "role", role, "what", String.valueOf(what), "kind", e.getClass().getSimpleName(),
                "ckpt", e instanceof CkptException, "message", String.valueOf(e.getMessage()));
    }

    private WriterToken claim(String run, String writerId) {
        WriterToken w = store.claimWriter(run, writerId);
        events.log("claim", "run", run, "epoch", w.epoch(), "writer", writerId, "t", Events.now());
        return w;
    }

    private long nextStep(String run) {
        return store.root().checkpointsOf(run).stream().mapToLong(CheckpointEntry::step).max().orElse(0) + 1;
    }

    private void writer(String run) throws Exception {
        String writerId = name;
        WriterToken w = claim(run, writerId);
        long step = nextStep(run);
        events.log("ready", "t", Events.now());
        int fencedInARow = 0;
        while (proceed()) {
            Path staging = work.resolve("staging").resolve("step-" + step);
            deleteTree(staging);
            Content.write(staging, dataSeed, run, step);
            long t0 = Events.now();
            try {
                SaveRequest req = SaveRequest.of(staging, run, step).withRetention(Retention.keepLast(3 + rnd.nextInt(4)))
                        .withGcWait(Duration.ofMillis(rnd.nextInt(3) * 1000L));
                SaveResult r = store.save(w, req);
                events.log("commit", "run", run, "epoch", w.epoch(), "writer", writerId, "step", step,
                        "id", r.checkpointId(), "t0", t0, "t", Events.now(), "reuploaded", r.reuploadedChunks(),
                        "dedup", r.dedupChunks(), "new", r.newChunks());
                fencedInARow = 0;
                step++;
            } catch (FencedException e) {
                events.log("fenced", "run", run, "epoch", w.epoch(), "writer", writerId, "step", step, "t0", t0,
                        "current", e.currentEpoch());
                step++; // a zombie goes on: each attempt has its own step, so a refused one is identifiable
                if (++fencedInARow >= 1 + rnd.nextInt(3)) {
                    w = claim(run, writerId); // the requeued job: takes the run back
                    step = Math.max(step, nextStep(run));
                    fencedInARow = 0;
                }
            } catch (RuntimeException e) {
                error("save of " + run + " step " + step, e);
                step++;
                Thread.sleep(50);
            }
            deleteTree(staging);
        }
    }

    private void gc() throws Exception {
        events.log("ready", "t", Events.now());
        while (proceed()) {
            try {
                GcResult r = store.gc(GcRequest.collect());
                events.log("gc", "generation", r.generation(), "deleted", r.deletedKeys().size(), "resumed", r.resumed());
            } catch (dev.ckpt.store.error.GcLeaseHeldException e) {
                events.log("gcBusy");
                Thread.sleep(300);
            } catch (RuntimeException e) {
                error("gc", e);
                Thread.sleep(100);
            }
            Thread.sleep(rnd.nextInt(150));
        }
    }

    private void retention() throws Exception {
        events.log("ready", "t", Events.now());
        while (proceed()) {
            try {
                List<String> runs = new ArrayList<>(store.root().runs().keySet());
                if (!runs.isEmpty()) {
                    String run = runs.get(rnd.nextInt(runs.size()));
                    Retention p = Retention.keepLast(1 + rnd.nextInt(3));
                    if (rnd.nextInt(3) == 0) {
                        p = p.withKeepEverySteps(4);
                    }
                    RetentionResult r = store.forget(RetentionRequest.of(p).forRun(run));
                    events.log("retention", "run", run, "dropped", r.forgotten().size());
                }
            } catch (RuntimeException e) {
                error("retention", e);
            }
            Thread.sleep(100 + rnd.nextInt(400));
        }
    }

    private void reader() throws Exception {
        events.log("ready", "t", Events.now());
        int n = 0;
        while (proceed()) {
            RootState root;
            try {
                root = store.root();
            } catch (RuntimeException e) {
                error("read ROOT", e);
                Thread.sleep(100);
                continue;
            }
            List<CheckpointEntry> all = new ArrayList<>(root.checkpoints().values());
            if (all.isEmpty()) {
                Thread.sleep(100);
                continue;
            }
            all.sort(Comparator.comparing(CheckpointEntry::id));
            CheckpointEntry e = all.get(rnd.nextInt(all.size()));
            Path target = work.resolve("restore-" + (n++));
            try {
                store.restore(e, target, List.of());
                String diff = Content.difference(Content.of(dataSeed, e.run(), e.step()), Content.read(target));
                if (diff != null) {
                    events.log("violation", "text", "checkpoint " + e.id() + " (run " + e.run() + ", step " + e.step()
                            + ") restored other bytes than were saved: " + diff);
                } else {
                    events.log("read", "id", e.id());
                }
            } catch (RuntimeException x) {
                stillThere(e, "restore", x);
            } finally {
                deleteTree(target);
            }
            try {
                VerifyReport v = store.verify(VerifyRequest.deep().withCheckpoints(List.of(e.id())));
                if (!v.ok()) {
                    stillThere(e, "deep verify", new IllegalStateException(v.problems().toString()));
                } else {
                    events.log("verified", "id", e.id());
                }
            } catch (dev.ckpt.store.error.NotFoundException x) {
                // dropped by retention since: nothing to verify
            } catch (RuntimeException x) {
                stillThere(e, "deep verify", x);
            }
            Thread.sleep(rnd.nextInt(100));
        }
    }

    /**
     * Not a user of the store but a bug: deletes a chunk of a committed checkpoint now and then.
     * Only the harness's self-test starts it ({@code --sabotage}), to show that the checker
     * reports what such a bug does.
     */
    private void saboteur() throws Exception {
        events.log("ready", "t", Events.now());
        while (proceed()) {
            try {
                List<CheckpointEntry> all = new ArrayList<>(store.root().checkpoints().values());
                if (!all.isEmpty()) {
                    all.sort(Comparator.comparing(CheckpointEntry::id));
                    CheckpointEntry e = all.get(rnd.nextInt(all.size()));
                    List<String> chunks = new ArrayList<>(store.manifest(e).chunks());
                    String key = dev.ckpt.store.chunk.ChunkRef.keyOf(chunks.get(rnd.nextInt(chunks.size())));
                    store.objectStore().delete(key);
                    events.log("sabotage", "id", e.id(), "key", key);
                }
            } catch (RuntimeException e) {
                error("sabotage", e);
            }
            Thread.sleep(200 + rnd.nextInt(300));
        }
    }

    /**
     * A read of {@code e} failed. Ids are random, so a checkpoint in ROOT after the failure was
     * in ROOT all along since the reader saw it: then the failure is a violation (its objects
     * must all be there); otherwise retention dropped it meanwhile and GC may have deleted it.
     */
    private void stillThere(CheckpointEntry e, String what, Exception x) {
        boolean there;
        try {
            there = store.root().checkpoints().containsKey(e.id());
        } catch (RuntimeException r) {
            error("read ROOT after a failed " + what, r);
            return;
        }
        if (there) {
            events.log("violation", "text", what + " of checkpoint " + e.id() + " (run " + e.run() + ", step " + e.step()
                    + ") failed while it stayed in ROOT: " + x.getClass().getSimpleName() + ": " + x.getMessage());
        } else {
            events.log("readGone", "id", e.id(), "what", what);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

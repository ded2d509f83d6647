package dev.ckpt.store.gc;

import dev.ckpt.store.util.Durations;
import dev.ckpt.store.error.GcLeaseHeldException;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.commit.LeaseOwner;
import dev.ckpt.store.commit.Outcome;
import dev.ckpt.store.commit.NewerThanRoot;
import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.commit.Transitions;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.Leftovers;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Deletes chunks and manifests that no committed checkpoint references, safely while
 * saves run in other processes. Protocol (each step a ROOT update where it says so):
 * <ol>
 * <li>acquire: take the lease (phase MARK, new generation), or resume a crashed sweep
 *     whose lease expired;</li>
 * <li>mark: live = manifests in ROOT and their chunks; candidates = listed objects that
 *     are not live and older than the grace age, so uploads of a save in flight are
 *     spared;</li>
 * <li>seal: on a fresh ROOT, dead = candidates - live, recorded in {@code gc/<gen>.json}
 *     and in ROOT with phase SWEEP. From here a commit waits for the sweep, and after it
 *     re-uploads any object it needs that the generation deleted;</li>
 * <li>sweep: delete in batches, renewing the lease when less than half of it is left;</li>
 * <li>finish: phase IDLE, the generation and its deletions recorded in ROOT.</li>
 * </ol>
 * Assumption (documented in docs/design.md): a GC process is not paused for longer than
 * half the lease in the middle of a delete batch. Time comes from the configured clock.
 */
public final class GarbageCollector {
    private final ObjectStore store;
    private final RootStore root;
    private final ManifestLoader manifests;
    private final StoreConfig config;
    private final Consumer<String> progress;

    public GarbageCollector(ObjectStore store, RootStore root, ManifestLoader manifests, StoreConfig config,
                            Consumer<String> progress) {
        this.store = store;
        this.root = root;
        this.manifests = manifests;
        this.config = config;
        this.progress = progress == null ? s -> { } : progress;
    }

    public GcResult run(boolean dryRun) {
        if (dryRun) {
            RootState s = root.read().state();
            // a dry run is how an operator asks "what would gc do now": say too when it would be refused
            String refusedNow = LeaseOwner.verdict(s.gc().owner()) == LeaseOwner.Verdict.GONE ? null // taken over
                    : Transitions.otherGc(s.gc(), now(), store.describe())
                    .map(e -> withOwnerGone(e, store.describe()).getMessage()).orElse(null);
            if (s.gc().phase() == GcState.Phase.SWEEP) {
                // what is deleted next is the sealed list, by its GC or by the one that takes the sweep over
                return sweepResult(s.gc().generation(), true, s.gc().dead(), s, removeLeftovers(true), refusedNow);
            }
            Mark m = mark(s);
            return new GcResult(s.gc().generation() + 1, true, false, new ArrayList<>(m.dead.keySet()), sum(m.dead),
                    s.checkpoints().size(), m.live.size(), m.young, removeLeftovers(true), refusedNow);
        }
        // Pre-flight, read-only: say at once who holds the lease (before reading every manifest), and
        // refuse before taking the lease if a live manifest is unreadable.
        RootStore.Versioned current = root.read();
        if (current.etag() == null) {
            // no ROOT and no manifests: nothing was ever claimed or committed here, so there is nothing
            // to collect, and a lease would be the first write into a directory that may not be a store
            return new GcResult(0, false, false, List.of(), 0, 0, 0, 0, Leftovers.NONE);
        }
        RootState before = current.state();
        // a lease whose owner is known to be gone (killed, or failed without giving it back) is taken over
        // at once rather than left to expire: nothing of that GC is at work (LeaseOwner)
        String gone = before.gc().phase() != GcState.Phase.IDLE && before.gc().leaseValid(now())
                && LeaseOwner.verdict(before.gc().owner()) == LeaseOwner.Verdict.GONE ? before.gc().owner() : null;
        if (gone == null) {
            checkNoOtherGc(before.gc());
        }
        String owner = LeaseOwner.newOwner();
        addLive(before, new HashSet<>(), new HashSet<>());
        RootState acquired;
        try {
            acquired = written(root.update(r -> Transitions.gcAcquire(r, owner, now(), config.gcLease(),
                    store.describe(), gone)));
        } catch (GcLeaseHeldException e) {
            throw withOwnerGone(e, store.describe());
        }
        if (gone != null) {
            progress.accept("took over the lease of " + before.gc().describeLease(now()) + ": process "
                    + LeaseOwner.pid(gone) + " of this host, which held it, is gone");
        }
        long gen = acquired.gc().generation();
        if (acquired.gc().phase() == GcState.Phase.SWEEP) {
            Leftovers leftovers;
            try {
                leftovers = removeLeftovers(false);
            } catch (RuntimeException e) {
                giveBack(gen, owner);
                throw e;
            }
            GcResult result = sweepResult(gen, false, acquired.gc().dead(), acquired, leftovers, null);
            progress.accept("resuming GC generation " + gen + " left unfinished by a GC that crashed or stopped: "
                    + acquired.gc().dead().size() + " objects on its list, " + result.deletedKeys().size() + " still there");
            sweep(gen, owner, acquired.gc().dead());
            finish(gen, owner);
            return result;
        }
        Mark m;
        Map<String, Long> dead;
        Leftovers leftovers;
        try {
            m = mark(acquired);
            leftovers = removeLeftovers(false); // after the listing, as a dry run: a directory it cannot read fails there
            progress.accept("GC generation " + gen + ": " + dev.ckpt.store.commit.SaveResult.count(m.live.size(),
                    "live object") + ", " + dev.ckpt.store.commit.SaveResult.count(m.dead.size(), "unreferenced object")
                    + " older than " + Durations.format(config.gcGrace()));
            dead = seal(gen, owner, m);
        } catch (RuntimeException e) {
            // nothing was deleted: give the lease back rather than hold commits' GC and other GCs for its rest (a
            // failed write of the gc/<generation>.json record held it 10 minutes); a seal that landed is in SWEEP,
            // which release leaves as it is
            release(gen, owner, acquired.gc().leaseExpiry());
            throw e;
        }
        sweep(gen, owner, new ArrayList<>(dead.keySet()));
        RootState done = finish(gen, owner);
        return new GcResult(gen, false, false, new ArrayList<>(dead.keySet()), sum(dead), done.checkpoints().size(),
                m.live.size(), m.young, leftovers);
    }

    private void checkNoOtherGc(GcState gc) {
        Transitions.otherGc(gc, now(), store.describe()).ifPresent(e -> {
            throw withOwnerGone(e, store.describe());
        });
    }

    /**
     * The refusal, saying so when its lease's owner named this host and a pid no process here
     * has, but not enough to be sure it is gone ({@link LeaseOwner.Verdict#NO_SUCH_PID_HERE}:
     * an owner written by an older GC): the user then knows no GC of this host is at work and
     * when the lease lets the next one in. Not taken over: another machine or container may
     * share the host name and pid. An owner known to be gone is taken over instead.
     */
    static GcLeaseHeldException withOwnerGone(GcLeaseHeldException e, String store) {
        if (LeaseOwner.verdict(e.owner()) != LeaseOwner.Verdict.NO_SUCH_PID_HERE) {
            return e;
        }
        // said afresh, not appended: "is running" would contradict it
        return new GcLeaseHeldException("GC generation " + e.generation() + " (owner " + LeaseOwner.shown(e.owner())
                + ") still holds the GC lease of " + store + ", but no process " + LeaseOwner.pid(e.owner()) + " runs on"
                + " this host now: if that GC ran here, it failed or was stopped without giving its lease back (e.g."
                + " ROOT could not be written) and nothing of it is at work; its owner does not say enough to be sure"
                + " (another machine may share the host name). Only one GC runs at a time: the next may start when"
                + " the lease expires (" + e.leaseExpiry() + "), then finishing its work", e.generation(), e.owner(),
                e.leaseExpiry());
    }

    /** The state a transition wrote; a refusal is thrown. */
    private static RootState written(Outcome<GcState> o) {
        if (o instanceof Outcome.Write<GcState> w) {
            return w.next();
        }
        o.value(); // throws a refusal
        throw new IllegalStateException("unexpected GC outcome " + o);
    }

    private record Mark(Set<String> live, Set<String> loadedCheckpoints, Map<String, Long> dead, int young) {
    }

    private Mark mark(RootState s) {
        Set<String> live = new HashSet<>();
        Set<String> loaded = new HashSet<>();
        addLive(s, live, loaded);
        // WARN: list after reading ROOT. An object created after the listing is not a
        // candidate; one listed here but committed later is caught by the seal step.
        Instant cutoff = now().minus(config.gcGrace());
        Map<String, Long> dead = new TreeMap<>();
        int young = 0;
        List<String> unreferencedManifests = new ArrayList<>(); // the young too: a checkpoint an older ROOT lacks may be
        for (String prefix : new String[]{"chunks/", "manifests/"}) {
            for (ObjectInfo o : store.list(prefix)) { // lazy: only the dead are kept
                if (live.contains(o.key()) || !ownKey(o.key())) {
                    continue;
                }
                if (prefix.equals("manifests/")) {
                    unreferencedManifests.add(o.key());
                }
                if (o.lastModified().isBefore(cutoff)) {
                    dead.put(o.key(), o.size());
                } else {
                    young++;
                }
            }
        }
        refuseOlderRoot(s, unreferencedManifests);
        return new Mark(live, loaded, dead, young);
    }

    /**
     * Refuses, deleting nothing, when an unreferenced manifest was written by a writer epoch
     * above the one ROOT records for its run ({@link NewerThanRoot}): ROOT is then older than
     * that checkpoint, and GC would delete the checkpoints committed since (helper-120).
     */
    private void refuseOlderRoot(RootState s, List<String> unreferenced) {
        // young ones too (helper-124: a GC with the default grace said nothing of an hour-old checkpoint an older ROOT
        // lacked, and its sealed list then held recover off); what is found is checked against ROOT read again, so a
        // job that claimed its run and saved since the first read is not taken for an older ROOT
        NewerThanRoot.find(store, s, () -> root.read().state(), unreferenced).ifPresent(n -> {
            throw new CorruptObjectException(RootState.KEY, "GC stopped without deleting anything: " + n.describe()
                    + ", and GC would delete them. " + n.advice(dev.ckpt.store.util.ShellWords.word(store.describe())));
        });
    }

    /**
     * Whether {@code key}, listed under {@code chunks/} or {@code manifests/}, has the shape of
     * a key this store writes ({@link ChunkRef#hashOfKey}, {@link Manifest#isOwnKey}): GC
     * deletes nothing else, whatever its age. Another store whose prefix lies in this one's
     * {@code chunks/} or {@code manifests/} (s3://b/x and s3://b/x/chunks) lists there too, and
     * GC had deleted all of it, its ROOT included (helper-102).
     */
    public static boolean ownKey(String key) {
        return key.startsWith("chunks/") ? ChunkRef.hashOfKey(key) != null : Manifest.isOwnKey(key);
    }

    private void addLive(RootState s, Set<String> live, Set<String> loaded) {
        for (CheckpointEntry e : s.checkpoints().values()) {
            if (loaded.contains(e.id())) {
                continue;
            }
            Manifest m;
            try {
                m = manifests.load(e);
            } catch (CorruptObjectException | NotFoundException ex) {
                // damage only: an unavailable store, a deadline, a refusal or a newer format passes through as it
                // is (helper-90: a read that failed for want of a thread was "forget the damaged checkpoint")
                throw new CorruptObjectException(e.manifest(), "GC stopped without deleting anything: the manifest of live checkpoint "
                        + e.id() + " cannot be read (" + ex.reason() + "); without it GC cannot know which chunks"
                        + " are in use. Run ckpt-tool verify " + dev.ckpt.store.util.ShellWords.word(store.describe()) + ", then forget the damaged checkpoint", ex);
            }
            live.add(e.manifest());
            live.addAll(manifests.partKeys(e)); // its part manifests, as its top manifest lists them
            for (String h : m.chunks()) {
                live.add(ChunkRef.keyOf(h));
            }
            loaded.add(e.id());
        }
    }

    private Map<String, Long> seal(long gen, String owner, Mark m) {
        while (true) {
            RootState fresh = root.read().state();
            addLive(fresh, m.live, m.loadedCheckpoints);
            Map<String, Long> dead = new LinkedHashMap<>();
            m.dead.forEach((k, v) -> {
                if (!m.live.contains(k)) {
                    dead.put(k, v);
                }
            });
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("format", 1);
            record.put("generation", gen);
            record.put("owner", owner);
            record.put("sealedAt", now().toString());
            record.put("dead", new ArrayList<>(dead.keySet()));
            String recordKey = "gc/" + gen + ".json";
            store.put(recordKey, Json.write(record));
            Outcome<GcState> o;
            try {
                o = root.update(r -> Transitions.gcSeal(r, gen, owner, m.loadedCheckpoints,
                        new ArrayList<>(dead.keySet()), now(), config.gcLease(), store.describe()));
            } catch (dev.ckpt.store.error.CommitStateUnknownException e) {
                throw e; // ROOT may be sealed with this list: the record stays
            } catch (RuntimeException e) {
                // not sealed: the record describes no sweep. Removed again, so it does not keep the room the lease's
                // release needs (helper-123: on a full disk it took the last bytes, the lease stayed held, and every
                // gc after failed the same way)
                try {
                    store.delete(recordKey);
                } catch (RuntimeException ignored) {
                    // the seal's failure is the news; a leftover record is overwritten by the next GC of that generation
                }
                throw e;
            }
            if (!(o instanceof Outcome.NeedObjects)) {
                written(o);
                return dead;
            }
            // checkpoints were committed since we looked: loop, read their manifests and seal again
        }
    }

    /**
     * How long a sweep deletes after its last renewal before it renews again, whatever the
     * lease's length: 2 s of monotonic time (which runs on while the process is stopped), so
     * a GC resumed after a pause checks its lease before its next delete.
     */
    static final long PAUSE_CHECK_NANOS = 2_000_000_000L;

    private void sweep(long gen, String owner, List<String> dead) {
        // Renew (and so check that the lease is still ours) before the first batch: ROOT's lease may by now be
        // another GC's, which took over after ours expired while we paused (found in review)
        Instant leaseExpiry = null;
        long renewedAt = 0; // System.nanoTime() of the last renewal
        int done = 0;
        for (int i = 0; i < dead.size(); i += config.gcDeleteBatch()) {
            long halfLease = config.gcLease().toMillis() / 2;
            if (leaseExpiry == null || now().plusMillis(halfLease).isAfter(leaseExpiry)) {
                leaseExpiry = renew(gen, owner);
                renewedAt = System.nanoTime();
            }
            for (String key : dead.subList(i, Math.min(dead.size(), i + config.gcDeleteBatch()))) {
                if (System.nanoTime() - renewedAt > PAUSE_CHECK_NANOS) {
                    // paused (SIGSTOP, a frozen VM, a slow store) or just long at it: make sure the lease is still
                    // ours before the next delete, or a GC that took over and the commits since lose what they
                    // re-uploaded (a helper's SIGSTOP/SIGCONT deleted a newer checkpoint's chunks)
                    leaseExpiry = renew(gen, owner);
                    renewedAt = System.nanoTime();
                }
                try {
                    store.delete(key);
                } catch (RuntimeException e) {
                    // Stopping: hand the sealed sweep over rather than keep blocking commits and GCs for the
                    // rest of the lease (a denied DeleteObject would hold the store for 10 minutes)
                    giveBack(gen, owner);
                    throw e;
                }
                done++;
            }
            progress.accept("GC generation " + gen + ": deleted " + done + "/"
                    + dev.ckpt.store.commit.SaveResult.count(dead.size(), "object"));
        }
    }

    /** Renews this GC's sweep lease; returns its new expiry. Refused (lease lost) when it is no longer ours. */
    private Instant renew(long gen, String owner) {
        return written(root.update(r -> Transitions.gcRenew(r, gen, owner, now(), config.gcLease(), store.describe())))
                .gc().leaseExpiry();
    }

    private RootState finish(long gen, String owner) {
        return written(root.update(r -> Transitions.gcFinish(r, gen, owner, now(), store.describe())));
    }

    /** Expires this GC's sweep lease at once: the next GC resumes the sealed list (see Transitions#gcYield). */
    private void giveBack(long gen, String owner) {
        try {
            root.update(r -> Transitions.gcYield(r, gen, owner, now()));
        } catch (RuntimeException ignored) {
            // the lease expires by itself
        }
    }

    /** Gives the lease back after a failed mark; nothing was deleted. */
    private void release(long gen, String owner, Instant leaseExpiry) {
        try {
            root.update(r -> Transitions.gcRelease(r, gen, owner));
        } catch (RuntimeException e) {
            // the lease expires by itself; say when, since other GCs are refused until then (but for a GC on this host
            // once this process has ended, which sees its owner gone and takes over: helper-102 read "refused" and saw
            // the next gc take over at once)
            progress.accept("GC generation " + gen + " could not give its lease back (" + e.getMessage() + "): GCs on"
                    + " other hosts are refused until it expires, at " + leaseExpiry + "; a GC on this host takes over"
                    + " once this process has ended");
        }
    }

    /** A resumed sweep's result: the objects of its sealed list {@code dead} still there, with their sizes. */
    private GcResult sweepResult(long gen, boolean dryRun, List<String> dead, RootState s, Leftovers leftovers,
                                 String refusedNow) {
        Map<String, Long> listed = new java.util.HashMap<>();
        Set<String> wanted = new HashSet<>(dead);
        for (String prefix : new String[]{"chunks/", "manifests/"}) {
            for (ObjectInfo o : store.list(prefix)) { // lazy: only the sizes of the dead are kept
                if (wanted.contains(o.key())) {
                    listed.put(o.key(), o.size());
                }
            }
        }
        // what is still there: a sweep resumed after a kill has deleted part of its list already (it deletes the
        // whole list again, which costs nothing for the gone, but says what it removes now)
        Map<String, Long> sizes = new TreeMap<>(listed);
        return new GcResult(gen, dryRun, true, new ArrayList<>(sizes.keySet()), sum(sizes), s.checkpoints().size(), 0, 0,
                leftovers, refusedNow);
    }

    /**
     * The youngest a leftover of an interrupted write may be for GC to remove it, whatever its
     * grace age: a writer's temporary file lives for the write of one object (milliseconds to
     * seconds), so an hour also spares a writer stopped mid-write (SIGSTOP, a frozen VM) for
     * less than that. GC's grace age alone would not: the torture runs' grace is 0, and a
     * removed temporary fails its write (the write says so; nothing is lost).
     */
    public static final java.time.Duration LEFTOVER_AGE = java.time.Duration.ofHours(1);

    /**
     * Removes (or, with {@code dryRun}, finds) what writes killed midway left behind, older than
     * the longer of the grace age and {@link #LEFTOVER_AGE}: not objects, so not on GC's list.
     */
    private Leftovers removeLeftovers(boolean dryRun) {
        java.time.Duration age = config.gcGrace().compareTo(LEFTOVER_AGE) > 0 ? config.gcGrace() : LEFTOVER_AGE;
        Leftovers l = store.removeLeftovers(now().minus(age), dryRun);
        // the conditional-write probe's scratch objects, of a probe interrupted before it deleted them (seconds old
        // while it runs): a push or doctor stopped at its first write left them for good (a break helper's case)
        for (ObjectInfo o : store.list(dev.ckpt.store.objectstore.ConditionalWriteProbe.PREFIX)) {
            if (dev.ckpt.store.objectstore.ConditionalWriteProbe.isScratchKey(o.key())
                    && o.lastModified().isBefore(now().minus(age))) {
                if (!dryRun) {
                    store.delete(o.key());
                }
                l = l.plus(o.size());
            }
        }
        if (l.files() > 0) {
            progress.accept((dryRun ? "would remove " : "removed ") + dev.ckpt.store.commit.SaveResult.count(l.files(),
                    "temporary file") + " of writes interrupted over " + Durations.format(age) + " ago");
        }
        return l;
    }

    private static long sum(Map<String, Long> m) {
        return m.values().stream().mapToLong(Long::longValue).sum();
    }


    private Instant now() {
        return config.clock().instant();
    }
}

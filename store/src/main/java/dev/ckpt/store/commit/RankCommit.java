package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.DeadlineExceededException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.RanksIncompleteException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.util.Printable;
import dev.ckpt.store.util.Tasks;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * The part of a save by several ranks that is not uploading: rank 0 {@linkplain #gather
 * gathers} the other ranks' part manifests and builds the top manifest it commits; every
 * other rank {@linkplain #awaitCommit waits} for that commit in ROOT. The store is the only
 * thing the ranks share: rank 0 polls the part keys (GET, no LIST), the others poll ROOT.
 * Waits are paced from 20 ms doubling to at most {@link #maxPause(int)} and bounded by the
 * request's {@link SaveRequest.Shard#timeout()} and deadline; time is the configured clock's,
 * pauses the configured sleeper's.
 */
final class RankCommit {
    /**
     * How long past the deadline a waiting rank may take for its last look at ROOT (rank 0's
     * commit may have landed after its last poll): 1 s, one read of a store that answers.
     */
    static final Duration LAST_LOOK_GRACE = Duration.ofSeconds(1);

    private final ObjectStore store;
    /** The store with no deadline of a save's: for the last look at ROOT, bounded by its own grace. */
    private final ObjectStore unbounded;
    private final RootStore root;
    private final StoreConfig config;
    private final ExecutorService io;

    RankCommit(ObjectStore store, RootStore root, StoreConfig config, ExecutorService io) {
        this(store, store, root, config, io);
    }

    private RankCommit(ObjectStore store, ObjectStore unbounded, RootStore root, StoreConfig config, ExecutorService io) {
        this.store = store;
        this.unbounded = unbounded;
        this.root = root;
        this.config = config;
        this.io = io;
    }

    /** The same waits over {@code view}, another view of the same store (a save's deadline-bounded one). */
    RankCommit over(ObjectStore view) {
        return view == store ? this : new RankCommit(view, store, root.over(view), config, io);
    }

    /**
     * Every part found and checked: the top manifest over them (not yet written), the keys the
     * commit needs (top and part manifests, every chunk) and the oldest GC generation at which
     * any rank's save began (the commit's watermark).
     */
    record Gathered(Manifest top, byte[] topBytes, Set<String> needed, long startGeneration) {
    }

    /**
     * Rank 0: waits until every other rank's part manifest exists, checks that each is the same
     * checkpoint (id, run, step, world size) and that no two parts hold the same file.
     *
     * @throws dev.ckpt.store.error.FencedException when a newer job claimed the run meanwhile (ROOT
     *         is read once a round)
     * @throws DeadlineExceededException when the save's deadline passes first (before the timeout)
     * @throws RanksIncompleteException naming the missing ranks when the timeout passes
     *         first, or when a rank records that it gave up before writing its part
     */
    Gathered gather(WriterToken token, Manifest own, String ownSha, SaveRequest.Shard shard, Instant deadline) {
        int n = shard.worldSize();
        Manifest[] parts = new Manifest[n];
        String[] shas = new String[n];
        parts[0] = own;
        shas[0] = ownSha;
        TreeSet<Integer> missing = new TreeSet<>();
        for (int r = 1; r < n; r++) {
            missing.add(r);
        }
        Instant start = config.clock().instant();
        Instant until = until(start, shard.timeout(), deadline);
        long pause = 20;
        boolean lookingOnceMore = false;
        while (!missing.isEmpty()) {
            // At most ioConcurrency GETs per round, lowest ranks first: parts arrive at about the same
            // time, so a round that finds all of them moves straight on to the next ones.
            List<Integer> batch = new ArrayList<>();
            for (int r : missing) {
                if (batch.size() == config.ioConcurrency() && !lookingOnceMore) {
                    break;
                }
                batch.add(r);
            }
            List<CompletableFuture<byte[]>> gets = new ArrayList<>();
            for (int r : batch) {
                String key = Manifest.keyOfPart(own.id(), r);
                gets.add(CompletableFuture.supplyAsync(() -> getIfPresent(key), io));
            }
            boolean allFound = true;
            for (int i = 0; i < batch.size(); i++) {
                int r = batch.get(i);
                CompletableFuture<byte[]> get = gets.get(i);
                byte[] data = polled(() -> Tasks.await(get, "gather parts"), () -> gatherDeadline(own, start, missing));
                if (data == null) {
                    allFound = false;
                    continue;
                }
                parts[r] = checkedPart(own, r, n, data);
                shas[r] = Hashes.sha256Hex(data);
                missing.remove(r);
            }
            if (missing.isEmpty() || allFound) {
                continue;
            }
            // a newer job that took the run over fences this one: rank 0 hears it as its other ranks do
            RootState state = polled(() -> root.read().state(), () -> gatherDeadline(own, start, missing));
            Committer.checkFence(state, token);
            // a part a GC deleted never comes back: say so now, not at the timeout
            java.util.Optional<String> gone = deletedByGc(state, missing.stream().map(r -> Manifest.keyOfPart(own.id(), r))
                    .toList());
            if (gone.isPresent()) {
                throw new RanksIncompleteException(own.id(), new ArrayList<>(missing), notCommitted(own, n) + ": "
                        + gone.get() + " while rank 0 gathered the parts: the GC's grace is shorter than the ranks'"
                        + " wait. Give gc a --grace longer than --ranks-timeout; nothing was committed for this step,"
                        + " the next save starts afresh");
            }
            // one GET a round, whatever the world size
            String refusal = polled(() -> givenUp(own.id()), () -> gatherDeadline(own, start, missing)).orElse(null);
            if (refusal != null) {
                throw new RanksIncompleteException(own.id(), new ArrayList<>(missing), notCommitted(own, n) + ": "
                        + refusal + "; nothing was committed for this step, and " + noRetry(refusal, own.step()), true);
            }
            Instant now = config.clock().instant();
            if (!now.isBefore(until) && !lookingOnceMore && !byDeadline(start, shard.timeout(), deadline)) {
                // at the timeout, a part may have arrived after this round's GETs: GET every missing part once
                // more before giving up (at the deadline there is no time left to commit what it would find)
                lookingOnceMore = true;
                continue;
            }
            if (!now.isBefore(until) && byDeadline(start, shard.timeout(), deadline)) {
                throw gatherDeadline(own, start, missing);
            }
            if (!now.isBefore(until)) {
                throw new RanksIncompleteException(own.id(), new ArrayList<>(missing), notCommitted(own, n) + ": "
                        + describe(missing) + " did not write " + (missing.size() == 1 ? "its part" : "their parts")
                        + " within " + seconds(start, now) + " (rank 0 waited for "
                        + Manifest.keyOfPart(own.id(), missing.first()) + (missing.size() > 1 ? " and others" : "")
                        + " in " + store.describe() + "). A rank may have died, be slower than the timeout, or have been"
                        + " given another rank's number;"
                        + " nothing was committed for this step, the next save starts afresh");
            }
            sleep(Math.min(pause, Duration.between(now, until).toMillis()));
            pause = Math.min(pause * 2, maxPause(n));
        }
        // A rank whose part's write was under way at its deadline records that it gave up, and its part may land
        // after that: the record closed the step, so it is not committed though every part is there (helper-83).
        // One GET per commit; a record written after this look and before the commit's write is not seen.
        String closed = givenUp(own.id()).orElse(null);
        if (closed != null) {
            throw new RanksIncompleteException(own.id(), List.of(), notCommitted(own, n) + ": " + closed
                    + "; nothing was committed for this step, and " + noRetry(closed, own.step()), true);
        }
        List<Manifest> inOrder = List.of(parts);
        Set<String> twice = ManifestLoader.overlapping(inOrder);
        if (!twice.isEmpty()) {
            throw new RanksIncompleteException(own.id(), List.of(), "checkpoint " + own.id() + " was not committed:"
                    + " several ranks saved the same file " + String.join(", ", new ArrayList<>(twice).subList(0,
                    Math.min(3, twice.size())).stream().map(f -> f + " (" + ranksHolding(inOrder, f) + ")").toList())
                    + (twice.size() > 3 ? " (and " + (twice.size() - 3) + " more)" : "")
                    + "; each rank must save files of its own (for example under rank-<R>/)");
        }
        List<Manifest.PartRef> refs = new ArrayList<>();
        Set<String> needed = new HashSet<>();
        long startGeneration = Long.MAX_VALUE;
        for (int r = 0; r < n; r++) {
            Manifest p = parts[r];
            refs.add(new Manifest.PartRef(r, p.key(), shas[r], p.files().size(), p.logicalBytes()));
            needed.add(p.key());
            for (String h : p.chunks()) {
                needed.add(ChunkRef.keyOf(h));
            }
            startGeneration = Math.min(startGeneration, p.gcGeneration() == null ? 0 : p.gcGeneration());
        }
        Manifest top = Manifest.ofParts(own.id(), own.run(), own.step(), own.epoch(), config.clock().instant(),
                own.writer(), own.metadata(), refs);
        needed.add(top.key());
        return new Gathered(top, Json.writeManifest(top), needed, startGeneration);
    }

    /** Rank 0's deadline passed while it waited for the {@code missing} ranks' parts. */
    private DeadlineExceededException gatherDeadline(Manifest own, Instant start, TreeSet<Integer> missing) {
        Instant now = config.clock().instant();
        String first = Manifest.keyOfPart(own.id(), missing.first());
        return new DeadlineExceededException(notCommitted(own, own.part().worldSize()) + ": its deadline passed after rank"
                + " 0 had waited " + seconds(start, now) + " for " + describe(missing) + " to write " + (missing.size() == 1
                ? "its part" : "their parts") + " (" + first + (missing.size() > 1 ? " and others" : "") + " in "
                + store.describe() + "); nothing was committed for this step, the next save starts afresh; give the save"
                + " more time", first, Duration.between(start, now), Duration.between(start, now));
    }

    /**
     * {@code request}'s result. The save's deadline refusing it before it was sent means the
     * deadline passed between two polls: then this wait's own error, which says what it waited
     * for, not the store's "at read …". A request abandoned in flight (the store hung) keeps the
     * store's, which names the stuck object.
     */
    private static <T> T polled(java.util.function.Supplier<T> request,
                                java.util.function.Supplier<DeadlineExceededException> ownError) {
        try {
            return request.get();
        } catch (DeadlineExceededException e) {
            if (e.abandonedInFlight()) {
                throw e;
            }
            throw ownError.get();
        }
    }

    /**
     * ROOT once more after a rank's wait ended: rank 0's commit may have landed after the last
     * poll. With a deadline, by {@link #LAST_LOOK_GRACE} past it (the save's own view of the
     * store refuses every request past its deadline); null when ROOT cannot be read in time.
     */
    private RootState lastLook(Instant deadline) {
        Instant now = config.clock().instant();
        Instant by = deadline == null ? null : (now.isAfter(deadline) ? now : deadline).plus(LAST_LOOK_GRACE);
        dev.ckpt.store.objectstore.DeadlineObjectStore look = dev.ckpt.store.objectstore.DeadlineObjectStore.of(unbounded,
                by, config.clock(), "the last look at ROOT", "");
        try {
            return root.over(look).read().state();
        } catch (RuntimeException e) {
            return null; // unreadable now: the failure says what happened and that ls tells whether it committed
        } finally {
            look.close();
        }
    }

    /** "ranks 0 and 2": the ranks whose parts hold file {@code path}. */
    private static String ranksHolding(List<Manifest> partsInRankOrder, String path) {
        List<String> ranks = new ArrayList<>();
        for (int r = 0; r < partsInRankOrder.size(); r++) {
            if (partsInRankOrder.get(r).files().stream().anyMatch(f -> f.path().equals(path))) {
                ranks.add(Integer.toString(r));
            }
        }
        return "ranks " + (ranks.size() <= 1 ? String.join("", ranks)
                : String.join(", ", ranks.subList(0, ranks.size() - 1)) + " and " + ranks.get(ranks.size() - 1));
    }

    /** A rank's refusal record ({@link Manifest#keyOfRefusal}): who gave up on which checkpoint, and why. */
    record Refusal(String checkpoint, int rank, String reason, String at, String attempt) {
    }

    /**
     * Who gave up on checkpoint {@code id} and why ("rank 3 gave up on it at T (key): ..."),
     * or empty when no rank did. Any record under the id counts, whenever it was written: a
     * rank may give up before another has even started, so "written before I started" says
     * nothing about which attempt it belongs to. The id holds the run's epoch, so a record
     * can only be this job's, this attempt's or an earlier attempt's at the same step; that
     * retry cannot commit once a rank gave up (as it cannot once a part of it is stored).
     * One GET (a 404 while all is well).
     */
    java.util.Optional<String> givenUp(String id) {
        return java.util.Optional.ofNullable(describeRefusal(id, getIfPresent(Manifest.keyOfRefusal(id))));
    }

    /**
     * Before rank {@code token}'s save of checkpoint {@code id}: who gave up on it (as
     * {@link #givenUp}), or empty. A writer a newer job fenced hears that first (one more read
     * of ROOT, only when there is a record): being fenced is what it must act on.
     *
     * @throws dev.ckpt.store.error.FencedException when a newer job claimed the run
     */
    java.util.Optional<String> givenUpBefore(WriterToken token, String id) {
        java.util.Optional<String> g = givenUp(id);
        if (g.isPresent()) {
            Committer.checkFence(root.read().state(), token);
        }
        return g;
    }

    /** Whether checkpoint {@code id} is in ROOT; false when ROOT cannot be read (the caller is failing already). */
    boolean committed(String id) {
        try {
            return root.read().state().checkpoints().containsKey(id);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * What {@link #refuse} did: {@code RECORDED} this rank's reason, found a record
     * {@code ALREADY_THERE} (another rank gave up first; its reason stays, as that is what
     * the other ranks read), or {@code NOT_RECORDED} (the write failed).
     */
    enum Recorded { RECORDED, ALREADY_THERE, NOT_RECORDED }

    /**
     * A rank whose save of checkpoint {@code id} fails where the others would wait for it
     * (rank 0 at any point; another rank before its part is written) records why, so they stop
     * waiting. The record is created only if none is there ({@code If-None-Match: *}): the
     * first rank to give up is the one every rank names. Best effort: a rank that cannot
     * write, or died, leaves the others to their timeout. ROOT stays the truth: a rank that
     * finds the record reads ROOT again and succeeds if the checkpoint is there (rank 0 failed
     * after its commit landed).
     */
    Recorded refuse(String id, int rank, RuntimeException why) {
        String reason = why.getMessage() == null ? why.getClass().getSimpleName() : why.getMessage();
        Refusal r = new Refusal(id, rank, reason, config.clock().instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                .toString(), dev.ckpt.store.util.RandomIds.hex(8));
        try {
            byte[] record = Json.write(r);
            return store.putIfAbsent(Manifest.keyOfRefusal(id), record, 0, record.length) == PutResult.CREATED
                    ? Recorded.RECORDED : Recorded.ALREADY_THERE;
        } catch (RuntimeException e) {
            // S3 may answer two create-only writes at once with 409 for the loser: the winner's record is there
            try {
                if (getIfPresent(Manifest.keyOfRefusal(id)) != null) {
                    return Recorded.ALREADY_THERE;
                }
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            why.addSuppressed(e);
            return Recorded.NOT_RECORDED;
        }
    }

    /** The refusal record {@code record} of checkpoint {@code id} in words, null when there is none. */
    private static String describeRefusal(String id, byte[] record) {
        if (record == null) {
            return null;
        }
        String rank = "a rank";
        String reason = "no reason recorded";
        String at = "";
        if (record.length == 0) {
            reason = "its record is empty";
        } else {
            try {
                com.fasterxml.jackson.databind.JsonNode n = Json.MAPPER.readTree(record);
                rank = n.path("rank").isInt() ? "rank " + n.path("rank").asInt() : rank;
                reason = n.path("reason").asText("").isEmpty() ? reason : n.path("reason").asText();
                at = n.path("at").asText("").isEmpty() ? "" : " at " + Printable.of(n.path("at").asText());
            } catch (java.io.IOException e) {
                reason = "its record does not parse";
            }
        }
        String said = " was not committed: "; // that rank's own words repeat what the relaying message says first
        if (reason.startsWith("checkpoint " + id) && reason.contains(said)) {
            reason = reason.substring(reason.indexOf(said) + said.length());
        }
        String shown = Printable.of(withoutAdvice(reason));
        if (shown.length() > MAX_REASON) { // a record is anyone's text: a line, not a page
            shown = shown.substring(0, MAX_REASON) + "… (" + (shown.length() - MAX_REASON) + " more characters in the record)";
        }
        return rank + " gave up on it" + at + " (" + Manifest.keyOfRefusal(id) + "): " + shown;
    }

    /**
     * "this job cannot save step N again: save a later step", for a step a rank gave up on:
     * its record is under the step's id for good. Where {@code said} already advises to push
     * or save again (a source's problem, a GC's conflict; a relayed reason keeps its words),
     * it says that advice holds for a later step only.
     */
    static String noRetry(String said, long step) {
        return "this job cannot save step " + step + " again: " + (ADVISES_AGAIN.matcher(said).find()
                ? "where this message says to push or save again, save a later step" : "save a later step");
    }

    /** "push again" (older records), "save again", "Save it again": the advice a failure's message may already give. */
    private static final java.util.regex.Pattern ADVISES_AGAIN = java.util.regex.Pattern.compile(
            "\\b(push|save)( it)? again\\b", java.util.regex.Pattern.CASE_INSENSITIVE);

    /** The most of a recorded reason a relayed message shows, in characters. */
    static final int MAX_REASON = 2000;

    /** What a rank was told to do is for that rank: its reason up to the first piece of advice. */
    private static String withoutAdvice(String reason) {
        int cut = reason.length();
        for (String advice : new String[]{"; nothing was committed", "; save it again", "; save again"}) {
            int i = reason.indexOf(advice);
            if (i > 0 && i < cut) {
                cut = i;
            }
        }
        return reason.substring(0, cut);
    }

    /**
     * Ranks other than 0: waits until the checkpoint is in ROOT (one GET of ROOT per poll),
     * or until a rank records that it gave up ({@link #refuse}; one more GET per poll).
     *
     * @throws dev.ckpt.store.error.FencedException when a newer job claimed the run meanwhile
     * @throws DeadlineExceededException when the save's deadline passes first (before the timeout)
     * @throws RanksIncompleteException when a rank gave up, or the timeout passes first
     */
    void awaitCommit(WriterToken token, Manifest own, SaveRequest.Shard shard, Instant deadline) {
        Instant start = config.clock().instant();
        Instant until = until(start, shard.timeout(), deadline);
        long pause = 20;
        while (true) {
            boolean deadlinePassed = false; // between two polls: the deadline refused the next request
            String refusal = null;
            try {
                RootState s = root.read().state();
                if (s.checkpoints().containsKey(own.id())) {
                    return;
                }
                Committer.checkFence(s, token);
                refusal = givenUp(own.id()).orElse(null);
                if (refusal != null && root.read().state().checkpoints().containsKey(own.id())) {
                    return; // committed after all (rank 0 failed after its commit landed)
                }
            } catch (DeadlineExceededException e) {
                if (e.abandonedInFlight()) {
                    throw e; // the store hung: its error names the stuck object
                }
                deadlinePassed = true;
                refusal = null;
            }
            if (refusal != null) {
                throw new RanksIncompleteException(own.id(), List.of(), notCommitted(own, shard.worldSize()) + ": "
                        + refusal + (refusal.contains(own.key()) ? "" : ". Rank " + shard.rank() + "'s part " + own.key()
                        + deletedByGc(List.of(own.key())).map(d -> ": " + d + " (the GC's grace is shorter than the"
                                + " ranks' wait; give gc a --grace longer than --ranks-timeout)")
                        .orElse(" stays unreferenced until a GC removes it"))
                        + "; nothing was committed for this step, and " + noRetry(refusal, own.step()), true);
            }
            Instant now = config.clock().instant();
            if (!now.isBefore(until) || deadlinePassed) {
                // Rank 0's commit may have landed after this round's read of ROOT: read it once
                // more, so that a committed checkpoint is never reported as not committed.
                RootState last = lastLook(deadline);
                if (last != null) {
                    if (last.checkpoints().containsKey(own.id())) {
                        return;
                    }
                    Committer.checkFence(last, token);
                }
            }
            if (deadlinePassed || !now.isBefore(until) && byDeadline(start, shard.timeout(), deadline)) {
                throw new DeadlineExceededException(notCommitted(own, shard.worldSize()) + ": its deadline passed "
                        + seconds(start, now) + " after rank " + shard.rank() + " wrote its part " + own.key() + " in "
                        + store.describe() + ", while it waited for rank 0's commit. This rank's save failed; rank 0 may"
                        + " still commit the step (complete, every part present): ckpt-tool ls " + dev.ckpt.store.util.ShellWords.word(store.describe()) + " shows whether it did."
                        + " Give the save more time", "ROOT", Duration.between(start, now), Duration.between(start, now));
            }
            if (!now.isBefore(until)) {
                java.util.Optional<String> collected = deletedByGc(List.of(own.key()));
                if (collected.isPresent()) {
                    throw new RanksIncompleteException(own.id(), List.of(), notCommitted(own, shard.worldSize()) + ": "
                            + collected.get() + " while this rank waited " + seconds(start, now) + " for rank 0's commit:"
                            + " the GC's grace is shorter than the ranks' wait. Give gc a --grace longer than"
                            + " --ranks-timeout; the next save starts afresh");
                }
                throw new RanksIncompleteException(own.id(), List.of(), notCommitted(own, shard.worldSize())
                        + " within " + seconds(start, now) + " after rank " + shard.rank() + " wrote its part "
                        + own.key() + " in " + store.describe() + ": rank 0 commits once every part is there; it"
                        + " or another rank may have died or be slower than the timeout. This rank's save failed; if"
                        + " rank 0 is only slow it may still commit the step later (complete, every part present):"
                        + " ckpt-tool ls " + dev.ckpt.store.util.ShellWords.word(store.describe()) + " shows whether it did. The next save starts afresh either way");
            }
            sleep(Math.min(pause, Duration.between(now, until).toMillis()));
            pause = Math.min(pause * 2, maxPause(shard.worldSize()));
        }
    }

    /**
     * The longest pause between polls: 1 s, and 1 ms per rank beyond 1,000 ranks, so that
     * 16,384 ranks waiting for one commit poll ROOT about 1,000 times a second in all, within
     * S3's 5,500 GETs per second per prefix.
     */
    static long maxPause(int worldSize) {
        return Math.max(1000, worldSize);
    }

    private Manifest checkedPart(Manifest own, int rank, int n, byte[] data) {
        String key = Manifest.keyOfPart(own.id(), rank);
        Manifest p = Json.readManifest(key, data, null);
        String problem = null;
        if (p.part() == null) {
            problem = "it is not a part manifest";
        } else if (p.part().worldSize() != n) {
            problem = "rank " + rank + " saved it as one of " + p.part().worldSize() + " ranks, rank 0 as one of " + n
                    + " (every rank of a job must be given the same world size)";
        } else if (!p.run().equals(own.run()) || p.step() != own.step()) {
            problem = "it is run '" + p.run() + "' step " + p.step() + ", rank 0 saved step " + own.step();
        }
        if (problem != null) {
            throw new CorruptObjectException(key, "part manifest " + key + " does not belong to checkpoint " + own.id()
                    + ": " + problem + "; nothing was committed");
        }
        // helper-107: ranks started with other seeds, learning rates or sizes committed checkpoints of mixed training
        java.util.Map<String, String> ours = own.metadata() == null ? java.util.Map.of() : own.metadata();
        java.util.Map<String, String> its = p.metadata() == null ? java.util.Map.of() : p.metadata();
        TreeSet<String> keys = new TreeSet<>();
        for (java.util.Map<String, String> m : List.of(ours, its)) {
            m.keySet().stream().filter(k -> k.startsWith(dev.ckpt.store.error.RanksDisagreeException.SAME_ACROSS_RANKS))
                    .forEach(keys::add);
        }
        for (String k : keys) {
            String mine = ours.get(k);
            String theirs = its.get(k);
            if (!java.util.Objects.equals(mine, theirs)) {
                throw new dev.ckpt.store.error.RanksDisagreeException("checkpoint " + own.id() + " was not committed:"
                        + " rank " + rank + " was started with other settings than rank 0 ("
                        + k.substring(dev.ckpt.store.error.RanksDisagreeException.SAME_ACROSS_RANKS.length())
                        + ": rank 0 has " + (mine == null ? "none" : "'" + mine + "'") + ", rank " + rank + " "
                        + (theirs == null ? "none" : "'" + theirs + "'") + "); every rank of a job must be given the same"
                        + " ones, and no checkpoint of this job can be committed until they are");
            }
        }
        return p;
    }

    private byte[] getIfPresent(String key) {
        try {
            return store.get(key).data();
        } catch (NotFoundException e) {
            return null;
        }
    }

    /**
     * Which GC generation ROOT records as having deleted one of {@code keys} ("GC generation 7
     * deleted manifests/…/part-00001.json at T"), empty when none did or ROOT cannot be read:
     * a part waiting longer than the GC's grace is unreferenced, and a GC may take it.
     */
    private java.util.Optional<String> deletedByGc(List<String> keys) {
        try {
            return deletedByGc(root.read().state(), keys);
        } catch (RuntimeException e) {
            return java.util.Optional.empty(); // the plain message then: this is only a better explanation
        }
    }

    private static java.util.Optional<String> deletedByGc(RootState state, List<String> keys) {
        for (var g : state.gc().finished()) {
            for (String k : keys) {
                if (g.deleted().contains(k)) {
                    return java.util.Optional.of("GC generation " + g.generation() + " deleted " + k
                            + (g.finishedAt() == null ? "" : " (finished at " + g.finishedAt() + ")"));
                }
            }
        }
        return java.util.Optional.empty();
    }

    /** "checkpoint ID of run 'R' (step S, N ranks) was not committed": how each failed wait begins. */
    private static String notCommitted(Manifest own, int worldSize) {
        return "checkpoint " + own.id() + " of run '" + own.run() + "' (step " + own.step() + ", " + worldSize
                + " ranks) was not committed";
    }

    /** Whether the wait from {@code start} ends at the save's deadline rather than at the ranks' timeout. */
    private static boolean byDeadline(Instant start, Duration timeout, Instant deadline) {
        return deadline != null && deadline.isBefore(start.plus(timeout));
    }

    private static Instant until(Instant start, Duration timeout, Instant deadline) {
        return byDeadline(start, timeout, deadline) ? deadline : start.plus(timeout);
    }

    private static String describe(TreeSet<Integer> missing) {
        List<Integer> first = new ArrayList<>(missing).subList(0, Math.min(10, missing.size()));
        String list = first.toString().replaceAll("[\\[\\]]", "") + (missing.size() > 10 ? ", ..." : "");
        return (missing.size() == 1 ? "rank " : missing.size() + " ranks (") + list + (missing.size() == 1 ? "" : ")");
    }

    /** The time from {@code a} to {@code b} as "12 s" or, not a whole second, "0.8 s" ("within 0 s" for an 800ms --ranks-timeout; helper-79). */
    private static String seconds(Instant a, Instant b) {
        long ms = Math.max(0, Duration.between(a, b).toMillis());
        return ms % 1000 == 0 || ms >= 10_000 ? ms / 1000 + " s" : String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    private void sleep(long millis) {
        if (millis <= 0) {
            return;
        }
        try {
            config.sleeper().sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while waiting for the other ranks", e);
        }
    }
}

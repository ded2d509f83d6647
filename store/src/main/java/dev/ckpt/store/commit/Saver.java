package dev.ckpt.store.commit;

import dev.ckpt.store.util.NonFiles;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.TransferListener;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.commit.SourceDir.SourceFile;
import dev.ckpt.store.error.AlreadyExistsException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.RanksIncompleteException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Ids;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.TensorEntry;
import dev.ckpt.store.objectstore.DeadlineObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Saves a directory as a checkpoint through a staged pipeline — read (the calling thread),
 * each file's SHA-256 in order ({@link FileHashStage}), hash and compress (the CPU pool), create the
 * chunk object (the I/O pool, {@code ioConcurrency} requests in flight) — with a fixed
 * number of chunks in flight, so memory is bounded whatever the checkpoint size; chunks
 * already live in ROOT skipped, the manifest written create-only, then one ROOT commit with fencing and
 * retention. Nothing is visible until the commit; a crash at any point leaves only
 * unreferenced objects that GC removes after the grace age. A writer never deletes.
 */
public final class Saver {
    private final ObjectStore store;
    private final RootStore root;
    private final ManifestLoader manifests;
    private final StoreConfig config;
    private final ExecutorService cpu;
    private final ExecutorService io;
    private final Committer committer;
    private final RankCommit ranks;
    private final ChunkCodec codec;
    private final Chunker chunker;

    /** Chunks a restore of this store found missing or corrupt: never deduplicated against (see {@link SuspectChunks}). */
    private dev.ckpt.store.chunk.SuspectChunks suspects = new dev.ckpt.store.chunk.SuspectChunks();

    /** Shares {@code s} with the store's restores. */
    public Saver withSuspects(dev.ckpt.store.chunk.SuspectChunks s) {
        this.suspects = s;
        return this;
    }

    public Saver(ObjectStore store, RootStore root, ManifestLoader manifests, StoreConfig config, ExecutorService cpu, ExecutorService io) {
        this.store = store;
        this.root = root;
        this.manifests = manifests;
        this.config = config;
        this.cpu = cpu;
        this.io = io;
        this.committer = new Committer(root, config);
        this.ranks = new RankCommit(store, root, config, io);
        this.codec = new ChunkCodec(config.compressionLevel());
        this.chunker = new Chunker(config.chunkSize());
    }

    /** Where the bytes of a chunk (or of one file of a pack) are in the source: to re-read them for a re-upload. */
    record Location(Path path, long offset, int length) {
    }

    public SaveResult save(WriterToken token, SaveRequest req) {
        return save(token, req, TransferListener.NONE);
    }

    /**
     * Saves and reports the bytes hashed, deduplicated or uploaded so far to {@code listener}.
     * A rank of several that fails where the others would wait for it (rank 0 at any point,
     * another rank before its part is written) records why ({@link RankCommit#refuse}), so they
     * stop waiting. A rank that finds such a record before it saves uploads nothing and fails
     * at once: it is too late for this checkpoint (another rank gave up on it first), or it is
     * a retry of a step the same job gave up on, which cannot commit.
     */
    public SaveResult save(WriterToken token, SaveRequest req, TransferListener listener) {
        if (!token.run().equals(req.run())) {
            throw new InvalidInputException("writer token is for run '" + token.run() + "' but the save is for run '"
                    + req.run() + "'");
        }
        SaveRequest.Shard shard = req.shard();
        if (shard == null) {
            return save(token, req, listener, null);
        }
        String id = Ids.shardedCheckpointId(req.run(), req.step(), token.epoch());
        // under the save's deadline, as every request before the commit (helper-80: a hung read here took 152 s)
        DeadlineObjectStore before = DeadlineObjectStore.of(this.store, req.deadline(), config.clock(),
                "save of run " + req.run() + " step " + req.step() + " by rank " + shard.rank(),
                "nothing was saved; save again, with more time if the store is slow");
        java.util.Optional<String> givenUp;
        try {
            givenUp = before.call(Manifest.keyOfRefusal(id), "read", () -> ranks.givenUpBefore(token, id));
        } finally {
            before.close();
        }
        if (givenUp.isPresent()) {
            String own = ownSourceProblem(req.source());
            throw new RanksIncompleteException(id, List.of(), "checkpoint " + id + " of run '" + req.run() + "' (step "
                    + req.step() + ", " + shard.worldSize() + " ranks) was not saved by rank " + shard.rank() + ": "
                    + givenUp.get() + ". This rank uploaded nothing" + own + ". Whether that was in this attempt or in an"
                    + " earlier one, " + RankCommit.noRetry(givenUp.get() + own, req.step()), true);
        }
        AtomicBoolean partWritten = new AtomicBoolean();
        try {
            return save(token, req, listener, partWritten);
        } catch (RuntimeException e) {
            // rank 0 at any point, another rank while the others would still wait for its part; not a rank
            // that only stopped because another gave up (that rank's record already says why)
            boolean relayed = e instanceof RanksIncompleteException r && r.relayed();
            // a fenced rank records nothing: every rank of its job hears FENCED from ROOT itself
            boolean fenced = e instanceof dev.ckpt.store.error.FencedException;
            // a world of 1 has no other rank to tell: no record, and a retry of the step stays possible
            boolean mayLand = e instanceof dev.ckpt.store.error.CommitStateUnknownException;
            if (mayLand && shard.worldSize() > 1) {
                // rank 0's commit may still land: a record would tell the others it gave up (helper-82); they see it in ROOT
                ((CkptException) e).addNote("; the other ranks were not told to stop waiting, since the commit may still"
                        + " land: they see it in ROOT if it does");
            } else if ((shard.rank() == 0 || !partWritten.get()) && !relayed && !fenced && shard.worldSize() > 1) {
                tellOthers(id, req, shard, e);
            }
            throw e;
        } catch (Error e) {
            // no memory (or another Error) fails the save as an exception does: the others are told, not left to
            // wait until their --ranks-timeout for the part (helper-86). The Error itself goes on to the caller.
            if ((shard.rank() == 0 || !partWritten.get()) && shard.worldSize() > 1) {
                try {
                    tellOthers(id, req, shard, new dev.ckpt.store.error.StoreUnavailableException(
                            dev.ckpt.store.error.OutOfMemory.explain(e)));
                } catch (Throwable again) { // still no memory: the others wait, as before
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
    }

    /**
     * How long past the save's deadline a rank that gave up may spend recording why, for the other
     * ranks (they stop waiting for its part then): 1 s, a few requests to a store that answers.
     */
    static final java.time.Duration TELL_GRACE = java.time.Duration.ofSeconds(1);

    /**
     * Records why this rank gave up on checkpoint {@code id} ({@link RankCommit#refuse}), unless the
     * job committed it after all; with a deadline, within {@link #TELL_GRACE} past it (helper-80:
     * the record's write to a hung store took the client's retries past the deadline).
     */
    private void tellOthers(String id, SaveRequest req, SaveRequest.Shard shard, RuntimeException e) {
        java.time.Instant by = req.deadline() == null ? null
                : java.util.Collections.max(List.of(req.deadline(), config.clock().instant())).plus(TELL_GRACE);
        DeadlineObjectStore tell = DeadlineObjectStore.of(this.store, by, config.clock(), "the record of why rank "
                + shard.rank() + " gave up on checkpoint " + id, "");
        boolean committed;
        RankCommit.Recorded recorded;
        boolean committedAnyway = false;
        try {
            committed = tell.call(RootState.KEY, "read", () -> ranks.committed(id));
            recorded = committed ? null : tell.call(Manifest.keyOfRefusal(id), "write", () -> ranks.refuse(id, shard.rank(), e));
            if (recorded == RankCommit.Recorded.RECORDED && (shard.rank() != 0 || e instanceof AlreadyExistsException)) {
                // rank 0 looks for a record once it has every part, then commits: a part of this rank's that landed
                // late may have let it commit between that look and this record (helper-84). One more look at ROOT.
                try {
                    committedAnyway = tell.call(RootState.KEY, "read", () -> ranks.committed(id));
                } catch (dev.ckpt.store.error.DeadlineExceededException late) {
                    // no time for it: the message below says what the record means, and ls what happened
                }
            }
        } catch (dev.ckpt.store.error.DeadlineExceededException late) {
            if (e instanceof CkptException c) {
                c.addNote("; rank " + shard.rank() + " could not record this for the other ranks within "
                        + dev.ckpt.store.util.Durations.format(TELL_GRACE) + " past the deadline (the store did not"
                        + " answer): they wait for its part until their own deadline or --ranks-timeout");
            }
            return;
        } finally {
            tell.close();
        }
        if (committed) {
            // the same job saving a step it already committed: nothing to give up on
            if (e instanceof AlreadyExistsException) {
                // a process that never saved this step finds it committed when another process holds its rank too
                // (helper-117: two given rank 0 were told only that rank 0 "cannot save that step again")
                AlreadyExistsException again = new AlreadyExistsException("checkpoint " + id + " (run '" + req.run()
                        + "', step " + req.step() + ") is already committed by this job, with a part of rank "
                        + shard.rank() + " that this process did not write: either another process of this job was"
                        + " given rank " + shard.rank() + " too (check --rank or the launcher's RANK or SLURM_PROCID),"
                        + " or this job saved that step before; rank " + shard.rank() + " cannot save it again (a part"
                        + " is never replaced): save a later step");
                again.initCause(e);
                throw again;
            }
            return;
        }
        if (committedAnyway && e instanceof AlreadyExistsException c) {
            // another process holding this rank: its part went in, the record came too late (helper-117)
            c.addNote("; rank " + shard.rank() + " recorded this in " + Manifest.keyOfRefusal(id) + ", but the step was"
                    + " committed meanwhile with the other process's part: checkpoint " + id + " is in the store (ckpt-tool ls "
                    + dev.ckpt.store.util.ShellWords.word(this.store.describe()) + ")");
            return;
        }
        if (committedAnyway && e instanceof CkptException c) {
            c.addNote("; rank " + shard.rank() + " recorded this in " + Manifest.keyOfRefusal(id) + ", but rank 0 had"
                    + " already committed the step with every part (this rank's part landed after all): checkpoint " + id
                    + " is in the store (ckpt-tool ls " + dev.ckpt.store.util.ShellWords.word(this.store.describe()) + "), and the record changes nothing");
            return;
        }
        if (recorded == RankCommit.Recorded.RECORDED && e instanceof dev.ckpt.store.error.RanksDisagreeException c) {
            // no later step commits either until the ranks agree: "save a later step" would mislead
            c.addNote("; rank " + shard.rank() + " recorded this in " + Manifest.keyOfRefusal(id) + ", so the other ranks"
                    + " stop waiting");
            c.closeStep();
            return;
        }
        if (recorded == RankCommit.Recorded.RECORDED && e instanceof AlreadyExistsException c) {
            // the process whose part went in may be a live rank 0 that looked for a record before this one and commits
            // after it: no look here can rule that out (helper-117 saw the step committed after "stop waiting")
            c.addNote("; rank " + shard.rank() + " recorded this in " + Manifest.keyOfRefusal(id) + ", so the other ranks"
                    + " stop waiting, unless the process that wrote this rank's part commits the step first (ckpt-tool ls "
                    + dev.ckpt.store.util.ShellWords.word(this.store.describe()) + " shows whether it did); "
                    + RankCommit.noRetry(c.getMessage(), req.step()));
            c.closeStep();
            return;
        }
        if (recorded != RankCommit.Recorded.NOT_RECORDED && e instanceof CkptException c) {
            String key = Manifest.keyOfRefusal(id);
            c.addNote((recorded == RankCommit.Recorded.RECORDED
                    ? "; rank " + shard.rank() + " recorded this in " + key + ", so the other ranks stop waiting, and "
                    : "; another rank had already recorded in " + key + " why it gave up, so the other ranks stop"
                    + " waiting and name that rank's reason, not this one; ") + RankCommit.noRetry(c.getMessage(), req.step()));
            c.closeStep();
        }
    }

    /**
     * "; this rank's own source cannot be saved either: ..." when {@code source} would be
     * refused too, else "": a rank stopped by another rank's record learns of its own problem
     * in the same run, not in the next one. Only on that rare path: it walks the directory.
     */
    private static String ownSourceProblem(Path source) {
        try {
            SourceDir.scan(source);
            return "";
        } catch (InvalidInputException e) {
            return "; this rank's own source cannot be saved either: " + e.getMessage();
        }
    }

    private SaveResult save(WriterToken token, SaveRequest req, TransferListener listener, AtomicBoolean partWritten) {
        long t0 = System.nanoTime();
        // with a deadline, every request of the save but the commit's is abandoned when it passes
        DeadlineObjectStore store = DeadlineObjectStore.of(this.store, req.deadline(), config.clock(),
                "save of run " + req.run() + " step " + req.step(), "nothing was committed (chunks it uploaded stay"
                        + " unreferenced until GC removes them); save again, with more time if the store is slow");
        SourceDir source = req.scanned() != null ? req.scanned() : SourceDir.scan(req.source());
        List<SourceFile> files = source.files();
        RootState start = store.call(RootState.KEY, "read", () -> root.read().state());
        Committer.checkFence(start, token); // fail fast; the commit checks again
        long startGeneration = start.gc().generation();
        Map<String, ChunkRef> live = liveChunks(store, start, req.shard());
        // suspect chunks are written again, not taken as stored: the object is missing or corrupt (the write repairs
        // it, in the encoding the live checkpoints record for it)
        Map<String, ChunkRef> suspectLive = new java.util.HashMap<>();
        live.entrySet().removeIf(e -> suspects.contains(e.getKey()) && suspectLive.put(e.getKey(), e.getValue()) == null);
        SourceDir.settle(files);
        long t1 = System.nanoTime();
        long total = files.stream().mapToLong(SourceFile::size).sum();
        AtomicLong done = new AtomicLong();
        listener.progress(0, total);

        Map<String, List<Location>> locations = new ConcurrentHashMap<>();
        SavePipeline pipeline = new SavePipeline(store, codec, config, chunker.chunkSize(), cpu, io, live, locations,
                listener, done, total).withSuspects(suspects, suspectLive);
        // the look at the chunks it takes as stored: its listing (a small store) starts now, so it overlaps the reads
        DeduplicatedChunks deduplicated = new DeduplicatedChunks(store, root, codec, io, suspects, pipeline, live);
        Packer packer = new Packer(pipeline, io, config.packBelow(), chunker.chunkSize());
        List<FileEntry> entries = new ArrayList<>();
        try (FileHashStage hashes = new FileHashStage(pipeline)) {
            List<List<CompletableFuture<ChunkRef>>> perFile = new ArrayList<>();
            List<CompletableFuture<String>> fileHashes = new ArrayList<>();
            List<List<TensorEntry>> fileTensors = new ArrayList<>(); // the tensor index of each safetensors file
            for (SourceFile f : files) {
                List<CompletableFuture<ChunkRef>> futures = new ArrayList<>();
                FileEntry prior = req.unchanged().get(f.relative());
                if (prior != null && reusable(prior, f, live)) {
                    long offset = 0;
                    for (ChunkRef c : prior.chunks()) {
                        locations.putIfAbsent(c.hash(), List.of(new Location(f.path(), offset, c.rawLength())));
                        offset += c.rawLength();
                        futures.add(CompletableFuture.completedFuture(live.get(c.hash())));
                        pipeline.look(live.get(c.hash()));
                        pipeline.dedupChunks.incrementAndGet();
                        pipeline.dedupBytes.addAndGet(c.rawLength());
                    }
                    listener.progress(done.addAndGet(f.size()), total);
                    perFile.add(futures);
                    fileHashes.add(CompletableFuture.completedFuture(prior.sha256()));
                    fileTensors.add(prior.tensors()); // the same bytes: the same tensors
                    continue;
                }
                CompletableFuture<String> fileHash;
                if (packer.packs(f.relative(), f.size())) {
                    // a small file: planned into a pack here, read, hashed and stored with its pack on the I/O pool
                    pipeline.checkFailed();
                    Packer.Member m = packer.add(f);
                    futures.add(m.ref());
                    fileHash = m.sha256();
                    fileTensors.add(null);
                } else {
                    fileHash = readSource(f, ch -> {
                        Chunker.Layout layout = chunker.layout(f.path(), f.size());
                        fileTensors.add(tensorIndex(layout));
                        FileHashStage.File hashing = hashes.open(layout.pieces().size());
                        for (int k = 0; k < layout.pieces().size(); k++) {
                            Chunker.Piece piece = layout.pieces().get(k);
                            pipeline.checkFailed();
                            byte[] buf = pipeline.take(piece.length());
                            try {
                                readFully(ch, piece, f.path(), buf, 0);
                            } catch (RuntimeException | IOException e) {
                                pipeline.unread(buf);
                                throw e;
                            }
                            futures.add(hashes.add(hashing, k, buf, piece,
                                    List.of(new Location(f.path(), piece.offset(), piece.length()))));
                        }
                        return hashing.sha256;
                    });
                }
                perFile.add(futures);
                fileHashes.add(fileHash);
            }
            packer.flush(); // the last pack
            for (int i = 0; i < files.size(); i++) {
                List<ChunkRef> refs = new ArrayList<>();
                for (CompletableFuture<ChunkRef> fut : perFile.get(i)) {
                    refs.add(pipeline.await(fut));
                }
                SourceFile f = files.get(i);
                String sha256 = pipeline.await(fileHashes.get(i));
                source.checkHash(f.relative(), sha256); // an import's: the archive's hash, before anything is committed
                entries.add(new FileEntry(f.relative(), f.size(), f.mode(), sha256, refs, fileTensors.get(i)));
            }
        } catch (RuntimeException | Error e) {
            pipeline.abort(); // chunks not yet started are skipped; requests already sent finish on their own
            throw e;
        }
        List<String> repaired = deduplicated.confirm(entries, locations, startGeneration);
        long t2 = System.nanoTime();

        SaveRequest.Shard shard = req.shard();
        Manifest.Writer writer = new Manifest.Writer(token.writerId(), token.epoch());
        Manifest manifest = shard == null
                ? Manifest.of(Ids.newCheckpointId(req.run(), req.step()), req.run(), req.step(), req.epoch(),
                config.clock().instant(), writer, req.metadata(), entries)
                : Manifest.ofPart(Ids.shardedCheckpointId(req.run(), req.step(), token.epoch()), req.run(), req.step(),
                req.epoch(), config.clock().instant(), writer, req.metadata(), entries,
                new Manifest.Part(shard.rank(), shard.worldSize()), startGeneration);
        String id = manifest.id();
        byte[] manifestBytes = Json.writeManifest(manifest);
        String manifestSha = Hashes.sha256Hex(manifestBytes);
        if (shard != null && shard.rank() != 0) {
            // a write of the part abandoned at the deadline may still land, and rank 0 then commits the step (helper-82)
            store.nowLeaves("nothing was committed yet, but rank " + shard.rank() + "'s part " + manifest.key() + " may"
                    + " have been written (its write was under way), and rank 0 commits the step if it finds every part:"
                    + " ckpt-tool ls " + dev.ckpt.store.util.ShellWords.word(store.describe()) + " shows whether it did; give the save more time if the store is slow");
        }
        putManifest(store, manifest.key(), manifestBytes);
        if (partWritten != null) {
            partWritten.set(true);
            if (shard.rank() != 0) {
                store.nowLeaves("rank " + shard.rank() + "'s part " + manifest.key() + " is written, and rank 0 may still"
                        + " commit the step (complete, every part present): ckpt-tool ls " + dev.ckpt.store.util.ShellWords.word(store.describe())
                        + " shows whether it did; give the"
                        + " save more time if the store is slow");
            }
        }
        long t3 = System.nanoTime();

        Map<String, byte[]> ownManifests = new java.util.HashMap<>(); // the manifests this process can re-create
        ownManifests.put(manifest.key(), manifestBytes);
        store.check("the commit"); // a commit does not start late
        // the commit's requests are bounded too (helper-81: a hung one held a push 30-152 s past --deadline 3s);
        // RootStore reports a write of ROOT abandoned in flight as a commit state unknown (exit 6), not as 7
        Committer committer = store.bounded() ? new Committer(root.over(store), config) : this.committer;
        RankCommit ranks = store.bounded() ? this.ranks.over(store) : this.ranks;
        Committer.Commit commit;
        String withdrawn; // the manifest a refused commit deletes again: this save's, or for ranks the job's top manifest
        if (shard == null) {
            withdrawn = manifest.key();
            commit = committer.begin(token, manifest, manifestSha, req.retention(), startGeneration, req.gcWait(),
                    req.deadline(), listener::notice);
        } else if (shard.rank() != 0) {
            listener.committing(id);
            ranks.awaitCommit(token, manifest, shard, req.deadline());
            store.close();
            return result(manifest, req, pipeline, entries, 0, List.of(), source, repaired, t0, t1, t2, t3);
        } else {
            RankCommit.Gathered all = ranks.gather(token, manifest, manifestSha, shard, req.deadline());
            withdrawn = all.top().key();
            putManifest(store, all.top().key(), all.topBytes());
            ownManifests.put(all.top().key(), all.topBytes());
            commit = committer.begin(token, CheckpointEntry.of(all.top(), Hashes.sha256Hex(all.topBytes())),
                    all.needed(), req.retention(), all.startGeneration(), req.gcWait(), req.deadline(), listener::notice);
        }
        Map<String, ChunkRef> refsByHash = manifest.chunkRefs();
        int reuploaded = 0;
        String committing = commit.id();
        commit.beforeWrite(() -> listener.committing(committing));
        Outcome<List<String>> committed = attempt(commit, withdrawn, store);
        while (committed instanceof Outcome.NeedObjects<List<String>> need) {
            // a GC generation deleted objects this checkpoint needs since the save began: re-create them
            for (String key : new java.util.TreeSet<>(need.keys())) {
                byte[] ownManifest = ownManifests.get(key);
                if (ownManifest != null) {
                    putManifest(store, key, ownManifest);
                } else {
                    String hash = ChunkRef.hashOfKey(key);
                    List<Location> loc = locations.get(hash);
                    ChunkRef ref = refsByHash.get(hash);
                    if (loc == null || ref == null) {
                        if (shard != null && store.head(key).isPresent()) {
                            // another rank's object, which this rank cannot re-create: listed because an abandoned
                            // sweep (its GC gone or its lease expired) may have deleted it, but it is there (that
                            // rank uploaded it again, or the sweep never reached it). The commit cancels that sweep,
                            // so nothing deletes it after this look; it was refused here before (a helper's case)
                            reuploaded++;
                            continue;
                        }
                        if (shard != null) {
                            throw new RanksIncompleteException(id, List.of(), "checkpoint " + id + " was not"
                                    + " committed: a GC deleted " + key + " of another rank's part before the commit"
                                    + " (the parts took longer than the GC grace age); nothing was committed for this"
                                    + " step, the next save starts afresh");
                        }
                        throw new IllegalStateException("no local source for chunk " + key);
                    }
                    reupload(store, ref, loc);
                }
                reuploaded++;
            }
            commit.reuploaded(need);
            committed = attempt(commit, withdrawn, store);
        }
        store.close(); // the deadline's threads only; the store stays open
        return result(manifest, req, pipeline, entries, reuploaded, committed.value(), source, repaired, t0, t1, t2, t3);
    }

    /**
     * {@link Committer.Commit#attempt}; a refusal ({@code FencedException}, {@code
     * GcLeaseHeldException}: decided on ROOT as read, nothing written) first {@link #withdraw}s
     * {@code manifestKey}: the manifest of a save of one writer, or rank 0's top manifest of a
     * job's checkpoint (helper-121: a fenced job's came back after recover). The job cannot
     * commit that step again (fenced for good; after a GC's refusal, rank 0 records it given up),
     * so its top manifest serves nothing; the parts stay for GC (recover reads a part only
     * through its top manifest).
     */
    private Outcome<List<String>> attempt(Committer.Commit commit, String manifestKey, DeadlineObjectStore store) {
        try {
            return commit.attempt();
        } catch (dev.ckpt.store.error.FencedException | dev.ckpt.store.error.GcLeaseHeldException e) {
            if (manifestKey != null) {
                withdraw(store, store.bounded() ? root.over(store) : root, manifestKey, e);
            }
            throw e;
        }
    }

    /**
     * Deletes the manifest of a save whose commit was refused (fenced by a newer writer, held off
     * by a GC past its wait), so that {@code recover} never brings back as committed a checkpoint
     * that never was: it keeps every manifest it finds, and a fenced writer's save came back as its
     * run's latest (helper-120). A refusal is decided on ROOT as read, nothing was written; the
     * manifest is deleted only if ROOT, read again, does not reference it (no other process writes
     * this key: its id is drawn afresh per save). A failed delete adds a note; the refusal stands
     * and GC removes the manifest after the grace age. The chunks stay for GC (another save may use
     * them).
     */
    private static void withdraw(ObjectStore store, RootStore root, String key, CkptException reason) {
        try {
            boolean referenced = root.read().state().checkpoints().values().stream()
                    .anyMatch(e -> e.manifest().equals(key));
            if (!referenced) {
                store.delete(key);
            }
        } catch (RuntimeException e) {
            reason.addNote("; its manifest " + key + " could not be removed (" + e.getMessage() + "): GC removes it");
        }
    }

    private static SaveResult result(Manifest manifest, SaveRequest req, SavePipeline pipeline, List<FileEntry> entries,
                                     int reuploaded, List<String> dropped, SourceDir source, List<String> repaired,
                                     long t0, long t1, long t2, long t3) {
        long t4 = System.nanoTime();
        return new SaveResult(manifest.id(), req.run(), req.step(), entries.size(), manifest.logicalBytes(),
                pipeline.newChunks.get(), pipeline.newBytes.get(), pipeline.storedBytes.get(),
                pipeline.dedupChunks.get(), pipeline.dedupBytes.get(), reuploaded, dropped,
                Duration.ofNanos(t1 - t0).plus(req.scanned() != null ? req.scanned().took() : Duration.ZERO),
                Duration.ofNanos(t2 - t1), Duration.ofNanos(t3 - t2),
                Duration.ofNanos(t4 - t3), source.emptyDirectories(), source.leftOut(), repaired);
    }

    /** The manifest's tensor index of a file: its safetensors tensors, or null for any other file. */
    private static List<TensorEntry> tensorIndex(Chunker.Layout layout) {
        if (layout.tensors() == null) {
            return null;
        }
        List<TensorEntry> out = new ArrayList<>();
        for (Chunker.Tensor t : layout.tensors()) {
            out.add(new TensorEntry(t.name(), t.dtype(), t.shape(), t.begin(), t.end()));
        }
        return out;
    }

    /**
     * An unchanged-file claim is used only if the size matches and every chunk is live in ROOT.
     * A packed file is read again instead (it is small): its pack holds other files too, so
     * the file alone could not re-create the pack if a GC deleted it before the commit.
     */
    private static boolean reusable(FileEntry prior, SourceFile f, Map<String, ChunkRef> live) {
        if (prior.size() != f.size() || prior.packed()) {
            return false;
        }
        long sum = 0;
        for (ChunkRef c : prior.chunks()) {
            if (!live.containsKey(c.hash())) {
                return false;
            }
            sum += c.rawLength();
        }
        return sum == f.size();
    }

    /**
     * Re-creates a chunk that a GC removed since the save began, from its source bytes, as the
     * manifest (already written) records it; refused when this save's settings encode it
     * otherwise (another compression level): the checkpoint would record bytes its object does
     * not hold.
     */
    private void reupload(ObjectStore store, ChunkRef ref, List<Location> locs) {
        String why = "that a GC removed meanwhile";
        ChunkCodec.Encoded enc = DeduplicatedChunks.encodeFromSource(codec, ref, locs, why);
        if (enc.length() != ref.storedLength()) {
            throw new dev.ckpt.store.error.CommitConflictException("chunk " + ref.key() + " " + why + " was recorded at"
                    + " another compression setting than this save's, so it cannot be re-created as the checkpoint"
                    + " records it; nothing was committed: save again (the next save stores it afresh)");
        }
        store.putIfAbsent(ref.key(), enc.buffer(), 0, enc.length());
    }

    /** "process 1234 on host h7" (the host when the environment names it), for a message other processes relay. */
    static String thisProcess() {
        String host = System.getenv("HOSTNAME");
        return "process " + ProcessHandle.current().pid() + (host == null || host.isBlank() ? ""
                : " on host " + dev.ckpt.store.util.Printable.cut(host, 64));
    }

    private static void putManifest(ObjectStore store, String key, byte[] bytes) {
        if (store.putIfAbsent(key, bytes, 0, bytes.length) == PutResult.ALREADY_EXISTS) {
            // Either our own earlier attempt (a retried request) or a collision: compare.
            byte[] existing = store.get(key).data();
            if (!Arrays.equals(existing, bytes)) {
                // a part: the same rank's part of the same job and step, from another process (two given the same
                // rank; it said only "this job already tried") or an earlier attempt. The other ranks relay this
                // reason, so it names the process (helper-119), and it never says "nothing was committed": the
                // other process may commit the step (helper-117)
                throw new AlreadyExistsException("manifest " + key + " already exists with other content" + (key.contains("/part-")
                        ? ": another process wrote that part of this step first. Either two processes of this job"
                        + " were given the same rank (each needs its own, 0 to the world size - 1: check --rank or the"
                        + " launcher's RANK or SLURM_PROCID), or this job already tried to save this step (the ranks'"
                        + " checkpoint id is run, step and epoch, and a part is never replaced); the part of " + thisProcess()
                        + " was not written"
                        : "; nothing was committed: save again (a new id is drawn)"));
            }
        }
    }

    /**
     * The chunks of live checkpoints, to deduplicate against. A rank of a job of N ranks reads
     * only its own part of checkpoints saved by N ranks (its data is mostly in its own earlier
     * parts; a chunk another rank stored is found by the create-only write): reading every
     * part would cost each of N ranks N GETs per checkpoint.
     */
    private Map<String, ChunkRef> liveChunks(DeadlineObjectStore store, RootState state, SaveRequest.Shard shard) {
        Map<String, ChunkRef> live = new ConcurrentHashMap<>();
        for (CheckpointEntry e : state.checkpoints().values()) {
            try {
                boolean ownPart = shard != null && e.ranks() == shard.worldSize() && e.ranks() > 1;
                // under the save's deadline (helper-80: a hung manifest read took a stall timeout per checkpoint)
                live.putAll(manifests.load(store, e, ownPart ? shard.rank() : null).chunkRefs());
            } catch (dev.ckpt.store.error.DeadlineExceededException ex) {
                throw ex;
            } catch (CkptException ex) {
                // An unreadable manifest only costs deduplication: its chunks get uploaded again.
            }
        }
        return live;
    }

    /** What is done with a source file while it is open: reads it, returns what it made of it. */
    interface SourceRead<T> {
        T read(FileChannel ch) throws IOException;
    }

    /**
     * Opens the source file {@code f}, gives it to {@code body}, and refuses it (naming it,
     * saying what changed) if it is not the file the scan found or changed while it was read.
     * On the reader thread for a large file, on the I/O pool for the files of a pack.
     */
    static <T> T readSource(SourceFile f, SourceRead<T> body) {
        // a file replaced since the scan is refused before it is opened: opening a FIFO that took its place
        // would wait for a writer, for ever (a break helper's push hung so); and what was opened is checked,
        // for one that came between the check and the open (NonFiles ends the wait on such a FIFO)
        SourceDir.checkUnchanged(f);
        try (FileChannel ch = NonFiles.open(f.path(), StandardOpenOption.READ)) {
            SourceDir.checkOpened(ch, f);
            T made = body.read(ch);
            if (ch.size() != f.size()) {
                throw new InvalidInputException("file " + f.path() + " changed size while it was being saved ("
                        + f.size() + " -> " + ch.size() + " bytes); " + CHANGED);
            }
            // same size is not proof: a file rewritten in place while it was read would be committed torn
            SourceDir.checkUnchanged(f);
            return made;
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("file " + f.path() + " disappeared while it was being saved; " + CHANGED, e);
        } catch (AccessDeniedException e) {
            throw SourceDir.unreadable(f.path(), e);
        } catch (IOException e) {
            SourceDir.checkUnchanged(f); // replaced by a directory or another file meanwhile: says so
            throw new InvalidInputException("cannot read file " + f.path() + ": " + LocalFiles.reason(e) + "; nothing was committed", e);
        }
    }

    /** Reads {@code piece} of the file at {@code path} into {@code into} at {@code at}. */
    static void readFully(FileChannel ch, Chunker.Piece piece, Path path, byte[] into, int at) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(into, at, piece.length());
        LocalFiles.readFully(ch, buf, piece.offset());
        if (buf.hasRemaining()) {
            throw new InvalidInputException("file " + path + " became shorter while it was being saved (it now ends at or"
                    + " before byte " + (piece.offset() + buf.position() - at) + "); " + CHANGED);
        }
    }

    /** The end of every message about a file that changed under a save. */
    private static final String CHANGED = "nothing was committed: save again once whatever writes it has finished";
}

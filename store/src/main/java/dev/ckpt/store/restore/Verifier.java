package dev.ckpt.store.restore;

import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.util.ChunkBuffers;
import dev.ckpt.store.util.Tasks;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.StoredBytes;

import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Checks committed checkpoints. Structural: every manifest reads and matches ROOT, and
 * every chunk it references exists with the recorded stored size, from a single listing
 * of {@code chunks/} (no HEAD per chunk). Deep: additionally downloads chunks (all, or a
 * deterministic sample, at least one chunk of each checkpoint) and re-hashes them; with all
 * chunks, whole files are re-hashed too. What checkpoints share is read once per verify: a
 * sample fetches each distinct chunk once, and a full read skips a file (same SHA-256, same
 * chunks) that an earlier checkpoint of the same verify already proved whole. A problem found
 * once is reported for every checkpoint it touches.
 */
public final class Verifier {
    private final ObjectStore store;
    private final ManifestLoader manifests;
    private final StoreConfig config;
    private final ExecutorService cpu;
    private final ExecutorService io;

    /** A chunk's read: the buffer taken for it, and what the store read (into that buffer, or a new array). */
    private record Read(byte[] buffer, StoredBytes got) {
    }

    public Verifier(ObjectStore store, ManifestLoader manifests, StoreConfig config, ExecutorService cpu, ExecutorService io) {
        this.store = store;
        this.manifests = manifests;
        this.config = config;
        this.cpu = cpu;
        this.io = io;
    }

    /**
     * @param fraction share of chunks to download and re-hash in a deep verify, 0 for a
     *                 structural verify, 1 for all (then whole files are checked too)
     */
    public VerifyReport verify(List<CheckpointEntry> checkpoints, double fraction) {
        Map<String, Long> sizes = new HashMap<>();
        for (ObjectInfo o : store.list("chunks/")) {
            sizes.put(o.key(), o.size());
        }
        List<VerifyReport.Problem> problems = new ArrayList<>();
        int chunks = 0;
        long bytes = 0;
        // across the checkpoints of this verify: each chunk re-hashed (a hash -> null if it was sound,
        // else the problem found) and each file proved whole (its SHA-256 and chunk list)
        Map<String, RuntimeException> chunkOutcomes = new HashMap<>();
        // the distinct chunks counted as re-hashed: a full read fetches a sound chunk again for a later
        // checkpoint's file (its SHA-256 needs the bytes), which is not another chunk (helper-115: "27 chunks
        // re-hashed" where stats counted 19)
        Set<String> counted = new HashSet<>();
        Set<List<Object>> filesProved = new HashSet<>();
        Map<String, Set<String>> reportedBy = new HashMap<>(); // checkpoint id -> chunk keys reported for it
        // at most maxChunksInFlight reads at a time, each holding one until its chunk is decoded
        ChunkBuffers reads = new ChunkBuffers(ChunkCodec.maxEncodedLength(config.chunkSize()));
        for (CheckpointEntry e : checkpoints) {
            Manifest m;
            try {
                m = manifests.load(e);
            } catch (CkptException ex) {
                // without the notes that point at verify itself (helper-113: circular in verify's own output)
                // the object that failed: a rank's part manifest, where it was one (the others' parts still restore)
                String key = ex instanceof NotFoundException nf && nf.key() != null ? nf.key()
                        : ex instanceof CorruptObjectException co && co.key() != null ? co.key() : e.manifest();
                problems.add(new VerifyReport.Problem(e.id(), key, VerifyReport.Kind.MANIFEST_UNREADABLE, ex.reason()));
                continue;
            }
            String differs = entryDiffers(e, m, manifests.loadTop(e).worldSize());
            if (differs != null) {
                problems.add(new VerifyReport.Problem(e.id(), e.manifest(), VerifyReport.Kind.ROOT_MISMATCH, differs));
            }
            boolean structuralOk = true;
            Set<String> reported = new HashSet<>(); // chunk keys reported for this checkpoint: each once
            for (ChunkRef c : m.chunkRefs().values()) {
                Long size = sizes.get(c.key());
                if (size == null) {
                    // not lost when something else stands there (a local store's directory or FIFO): say what
                    problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.MISSING,
                            "chunk " + c.key() + " of checkpoint " + e.id() + " is missing" + ObjectStores.inPlaceOf(store, c.key())
                                    .map(why -> ": " + why).orElse("")));
                    structuralOk = false;
                    reported.add(c.key());
                } else if (size != c.storedLength()) {
                    problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.SIZE_MISMATCH,
                            "chunk " + c.key() + " of checkpoint " + e.id() + " has " + size + " bytes, expected "
                                    + c.storedLength()));
                    structuralOk = false;
                    reported.add(c.key()); // its read would fail again: once is enough
                }
            }
            if (fraction <= 0) {
                continue;
            }
            // Missing or of another size than this manifest records, by the listing: not read for this checkpoint,
            // nor counted as re-hashed (helper-113: "4 chunks re-hashed" where 3 were read; a link in a chunk's
            // place, MISSING to the listing, was read through and counted), and a file holding one is not proved
            // whole. Per checkpoint, not per chunk: another manifest may record the object's size right
            // (helper-114: a shared chunk was called corrupt in the healthy checkpoints).
            Set<String> listedBad = Set.copyOf(reported);
            // one window of chunks in flight across all files, in order (per file it kept one chunk
            // in flight for a checkpoint of small files); GET on the I/O executor, decode on the CPU one.
            // Consecutive pieces of the same chunk (the files of a pack) share one fetch.
            List<FileEntry> files = m.files();
            List<Piece> pieces = new ArrayList<>();
            List<ChunkRef> fetches = new ArrayList<>();
            reportedBy.put(e.id(), reported);
            int[] left = new int[files.size()];
            boolean[] proved = new boolean[files.size()];
            boolean[] fileOk = new boolean[files.size()];
            java.util.Arrays.fill(fileOk, true);
            boolean sampledAny = false;
            for (int i = 0; i < files.size(); i++) {
                if (fraction >= 1 && filesProved.contains(proof(files.get(i)))) {
                    proved[i] = true; // read whole by an earlier checkpoint of this verify
                    sampledAny |= !files.get(i).chunks().isEmpty();
                    continue;
                }
                // a file holding a chunk already found bad cannot be proved whole: only its unknown chunks are read
                boolean doomed = files.get(i).chunks().stream().anyMatch(c -> chunkOutcomes.get(c.hash()) != null
                        || listedBad.contains(c.key()));
                fileOk[i] = !doomed;
                for (ChunkRef c : files.get(i).chunks()) {
                    if (listedBad.contains(c.key())) {
                        sampledAny = true; // its problem is reported: the checkpoint is not "ok" unread
                        continue;
                    }
                    if (fraction >= 1 || sampled(c, fraction)) {
                        sampledAny = true;
                        RuntimeException known = chunkOutcomes.get(c.hash());
                        if (chunkOutcomes.containsKey(c.hash()) && (fraction < 1 || doomed)) {
                            // re-hashed for an earlier checkpoint of this verify: its outcome holds here too (a
                            // full read needs a sound chunk's bytes again for its file's SHA-256, unless the file
                            // holds a bad chunk)
                            reportOnce(problems, reported, e, c, known, structuralOk);
                            continue;
                        }
                        boolean same = !fetches.isEmpty() && c.sliced()
                                && fetches.get(fetches.size() - 1).hash().equals(c.hash());
                        if (!same) {
                            fetches.add(c.whole());
                        }
                        pieces.add(new Piece(i, c, fetches.size() - 1));
                        left[i]++;
                    }
                }
            }
            // A sample reads at least one chunk of each checkpoint: a small one (a few chunks, or one
            // pack) could otherwise report "ok" with nothing read. The first chunk: deterministic too.
            for (int i = 0; !sampledAny && i < files.size(); i++) {
                if (!files.get(i).chunks().isEmpty()) {
                    ChunkRef c = files.get(i).chunks().get(0);
                    sampledAny = true;
                    if (chunkOutcomes.containsKey(c.hash())) { // already read for an earlier checkpoint
                        reportOnce(problems, reported, e, c, chunkOutcomes.get(c.hash()), structuralOk);
                        break;
                    }
                    fetches.add(c.whole());
                    pieces.add(new Piece(i, c, 0));
                    left[i]++;
                }
            }
            MessageDigest[] md = new MessageDigest[files.size()];
            for (int i = 0; i < files.size(); i++) {
                md[i] = fraction >= 1 && !proved[i] ? Hashes.sha256() : null;
            }
            int nextFile = finishFiles(e, m, files, left, md, fileOk, 0, problems, filesProved);
            // A chunk repeated in the checkpoint (zeros, a shared block) is fetched once: its later
            // occurrences take the same future while it is kept, at most maxChunksInFlight of them at a
            // time (past that bound one is fetched again: memory stays bounded).
            Map<String, Integer> lastFetch = new HashMap<>();
            for (int k = 0; k < fetches.size(); k++) {
                lastFetch.put(fetches.get(k).hash(), k);
            }
            Map<String, CompletableFuture<byte[]>> kept = new HashMap<>();
            Deque<Future<byte[]>> window = new ArrayDeque<>();
            int nextFetch = 0;
            int currentFetch = -1;
            byte[] raw = null;
            RuntimeException fetchFailed = null;
            for (Piece p : pieces) {
                if (p.fetch() != currentFetch) {
                    while (nextFetch < fetches.size() && window.size() < config.maxChunksInFlight()) {
                        int k = nextFetch++;
                        ChunkRef c = fetches.get(k);
                        CompletableFuture<byte[]> f = kept.get(c.hash());
                        if (f == null) {
                            // into a reused buffer (as a restore reads): no new multi-MiB array per GET
                            f = CompletableFuture.supplyAsync(() -> {
                                byte[] buffer = reads.takeFor(c.storedLength());
                                return new Read(buffer, store.getInto(c.key(), buffer)  // failed: buffer dropped
                                        .orElseThrow(() -> ChunkProblems.longer(c)));
                            }, io).thenApplyAsync(r -> {
                                try {
                                    return ChunkCodec.decode(c, r.got().array(), r.got().length());
                                } finally {
                                    reads.give(r.buffer());
                                }
                            }, cpu);
                            if (lastFetch.get(c.hash()) > k && kept.size() < config.maxChunksInFlight()) {
                                kept.put(c.hash(), f);
                            }
                        }
                        if (lastFetch.get(c.hash()) == k) {
                            kept.remove(c.hash());
                        }
                        window.add(f);
                    }
                    currentFetch = p.fetch();
                    ChunkRef c = fetches.get(currentFetch);
                    raw = null;
                    fetchFailed = null;
                    try {
                        raw = Tasks.await(window.poll(), "verify");
                        if (counted.add(c.hash())) {
                            chunks++;
                            bytes += raw.length;
                        }
                        chunkOutcomes.put(c.hash(), null);
                    } catch (NotFoundException | CorruptObjectException ex) {
                        fetchFailed = ex;
                        if (ex instanceof CorruptObjectException && counted.add(c.hash())) {
                            chunks++; // read and re-hashed: that is how it was found
                            bytes += c.rawLength();
                        }
                        chunkOutcomes.put(c.hash(), ex);
                        // once per checkpoint, however often the chunk repeats in it
                        reportOnce(problems, reported, e, c, ex, structuralOk);
                    }
                }
                if (fetchFailed != null) {
                    fileOk[p.file()] = false;
                } else if (md[p.file()] != null) {
                    md[p.file()].update(raw, p.ref().sliceOffset(), p.ref().sliceLength());
                }
                left[p.file()]--;
                nextFile = finishFiles(e, m, files, left, md, fileOk, nextFile, problems, filesProved);
            }
        }
        // A corrupt chunk found for a later checkpoint is damage in every earlier one that holds it too
        // (a sample may have read it for one checkpoint only)
        boolean anyCorrupt = chunkOutcomes.values().stream().anyMatch(x -> x instanceof CorruptObjectException);
        for (CheckpointEntry e : anyCorrupt ? checkpoints : List.<CheckpointEntry>of()) {
            Set<String> reported = reportedBy.get(e.id());
            if (reported == null) {
                continue;
            }
            Manifest m;
            try {
                m = manifests.load(e); // read above: from the loader's cache
            } catch (CkptException ex) {
                continue;
            }
            for (ChunkRef c : m.chunkRefs().values()) {
                RuntimeException known = chunkOutcomes.get(c.hash());
                if (known instanceof CorruptObjectException) {
                    reportOnce(problems, reported, e, c, known, true);
                }
            }
        }
        // in the order of the checkpoints (the pass above adds to earlier ones), each one's in the order found
        Map<String, Integer> order = new HashMap<>();
        for (CheckpointEntry e : checkpoints) {
            order.putIfAbsent(e.id(), order.size());
        }
        problems.sort(java.util.Comparator.comparingInt(p -> order.getOrDefault(p.checkpointId(), Integer.MAX_VALUE)));
        return new VerifyReport(fraction > 0, checkpoints.stream().map(CheckpointEntry::id).toList(), chunks, bytes,
                problems);
    }

    /** A chunk (or a pack's slice) to re-hash, of the {@code file}-th file, from the {@code fetch}-th fetch. */
    private record Piece(int file, ChunkRef ref, int fetch) {
    }

    /**
     * A chunk's problem ({@code ex}; null: none) as this checkpoint's, unless already in {@code reported};
     * a missing one only if the listing did not already report it.
     */
    private static void reportOnce(List<VerifyReport.Problem> problems, Set<String> reported, CheckpointEntry e, ChunkRef c,
                                   RuntimeException ex, boolean structuralOk) {
        if (ex == null || !reported.add(c.key())) {
            return;
        }
        if (ex instanceof NotFoundException) {
            if (structuralOk) {
                problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.MISSING, ex.getMessage()));
            }
        } else {
            problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.CORRUPT, ex.getMessage()));
        }
    }

    /** What makes a file proved whole for every checkpoint that holds it: its SHA-256 and its chunks, in order. */
    private static List<Object> proof(FileEntry f) {
        return List.of(f.sha256(), f.size(), f.chunks());
    }

    /**
     * Checks, in order from {@code from}, the whole files whose chunks are all in (adding those that
     * hash right to {@code proved}); returns the first that is not.
     */
    private static int finishFiles(CheckpointEntry e, Manifest m, List<FileEntry> files, int[] left, MessageDigest[] md,
                                   boolean[] fileOk, int from, List<VerifyReport.Problem> problems, Set<List<Object>> proved) {
        int i = from;
        for (; i < files.size() && left[i] == 0; i++) {
            FileEntry f = files.get(i);
            if (md[i] != null && fileOk[i]) {
                String actual = Hashes.hex(md[i].digest());
                if (!actual.equals(f.sha256())) {
                    problems.add(new VerifyReport.Problem(e.id(), m.key(), VerifyReport.Kind.CORRUPT, "file " + dev.ckpt.store.util.Printable.of(f.path())
                            + " of checkpoint " + e.id() + " hashes to " + actual + " but the manifest says " + f.sha256()));
                } else {
                    proved.add(proof(f));
                }
            }
        }
        return i;
    }

    private static boolean sampled(ChunkRef c, double fraction) {
        long v = Long.parseLong(c.hash().substring(0, 8), 16);
        return v < fraction * 0x1_0000_0000L;
    }

    /**
     * What ROOT's entry {@code e} says of the checkpoint's id, run, step or number of ranks that
     * its manifest {@code m} (of {@code ranks} ranks, its top manifest's count) does not, or that
     * it records no SHA-256 of {@code m}, as a sentence; null when they agree. ls, restore, retention and the
     * trainer's resume go by the entry: a hand-edited ROOT whose entry named another run passed
     * verify (stop 56's list).
     */
    static String entryDiffers(CheckpointEntry e, Manifest m, int ranks) {
        if (e.manifestSha256() == null) {
            // nothing then proves the manifest the entry names (helper-140: verify said ok)
            return "ROOT's entry for checkpoint " + e.id() + " records no SHA-256 of its manifest " + e.manifest()
                    + ", so nothing proves the manifest is the one committed: ROOT was edited by hand or damaged";
        }
        if (e.id().equals(m.id()) && e.run().equals(m.run()) && e.step() == m.step()) {
            int recorded = e.worldSize() == null ? 1 : e.worldSize();
            // ls shows ROOT's count of ranks, and a restore of a rank goes by the manifest's (helper-140: edited, verify
            // said ok)
            return recorded == ranks ? null : "ROOT's entry for checkpoint " + e.id() + " says it was saved by "
                    + recorded + (recorded == 1 ? " rank" : " ranks") + ", but its manifest " + e.manifest() + " has "
                    + ranks + (ranks == 1 ? " rank" : " ranks") + ": ROOT was edited by hand or damaged";
        }
        return "ROOT's entry for checkpoint " + e.id() + " says " + (e.id().equals(m.id()) ? "" : "id " + e.id() + ", ")
                + "run '" + e.run() + "', step " + e.step() + ", but its manifest " + e.manifest() + " says "
                + (e.id().equals(m.id()) ? "" : "id " + m.id() + ", ") + "run '" + m.run() + "', step " + m.step()
                + ": ROOT was edited by hand or damaged, and ls, restore and retention go by what it says";
    }
}

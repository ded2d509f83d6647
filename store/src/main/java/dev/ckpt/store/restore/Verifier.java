package dev.ckpt.store.restore;

import dev.ckpt.store.config.StoreConfig;
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

import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Checks committed checkpoints. Structural: every manifest reads and matches ROOT, and
 * every chunk it references exists with the recorded stored size, from a single listing
 * of {@code chunks/} (no HEAD per chunk). Deep: additionally downloads chunks (all, or a
 * deterministic sample) and re-hashes them; with all chunks, whole files are re-hashed too.
 */
public final class Verifier {
    private final ObjectStore store;
    private final ManifestLoader manifests;
    private final StoreConfig config;
    private final ExecutorService cpu;
    private final ExecutorService io;

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
        for (CheckpointEntry e : checkpoints) {
            Manifest m;
            try {
                m = manifests.load(e);
            } catch (CkptException ex) {
                problems.add(new VerifyReport.Problem(e.id(), e.manifest(), VerifyReport.Kind.MANIFEST_UNREADABLE, ex.getMessage()));
                continue;
            }
            boolean structuralOk = true;
            for (ChunkRef c : m.chunkRefs().values()) {
                Long size = sizes.get(c.key());
                if (size == null) {
                    problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.MISSING,
                            "chunk " + c.key() + " of checkpoint " + e.id() + " is missing"));
                    structuralOk = false;
                } else if (size != c.storedLength()) {
                    problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.SIZE_MISMATCH,
                            "chunk " + c.key() + " of checkpoint " + e.id() + " has " + size + " bytes, expected "
                                    + c.storedLength()));
                    structuralOk = false;
                }
            }
            if (fraction <= 0) {
                continue;
            }
            for (FileEntry f : m.files()) {
                MessageDigest md = fraction >= 1 ? Hashes.sha256() : null;
                boolean fileOk = true;
                Deque<Future<byte[]>> window = new ArrayDeque<>();
                List<ChunkRef> refs = f.chunks().stream().filter(c -> fraction >= 1 || sampled(c, fraction)).toList();
                int next = 0;
                while (next < refs.size() || !window.isEmpty()) {
                    while (next < refs.size() && window.size() < config.maxChunksInFlight()) {
                        ChunkRef c = refs.get(next++);
                        window.add(io.submit(() -> ChunkCodec.decode(c, store.get(c.key()).data())));
                    }
                    ChunkRef c = refs.get(next - window.size());
                    try {
                        byte[] raw = Tasks.await(window.poll(), "verify");
                        chunks++;
                        bytes += raw.length;
                        if (md != null) {
                            md.update(raw);
                        }
                    } catch (NotFoundException ex) {
                        fileOk = false;
                        if (structuralOk) {
                            problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.MISSING, ex.getMessage()));
                        }
                    } catch (CorruptObjectException ex) {
                        fileOk = false;
                        problems.add(new VerifyReport.Problem(e.id(), c.key(), VerifyReport.Kind.CORRUPT, ex.getMessage()));
                    }
                }
                if (md != null && fileOk) {
                    String actual = Hashes.hex(md.digest());
                    if (!actual.equals(f.sha256())) {
                        problems.add(new VerifyReport.Problem(e.id(), m.key(), VerifyReport.Kind.CORRUPT, "file " + f.path()
                                + " of checkpoint " + e.id() + " hashes to " + actual + " but the manifest says " + f.sha256()));
                    }
                }
            }
        }
        return new VerifyReport(fraction > 0, checkpoints.size(), chunks, bytes, problems);
    }

    private static boolean sampled(ChunkRef c, double fraction) {
        long v = Long.parseLong(c.hash().substring(0, 8), 16);
        return v < fraction * 0x1_0000_0000L;
    }
}

package dev.ckpt.store.manifest;

import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.objectstore.ObjectStore;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads manifests of committed checkpoints, verifying each against the SHA-256 that ROOT
 * recorded (a part manifest against the SHA-256 its top manifest recorded). Manifests are
 * immutable, so verified ones are cached by key.
 */
public final class ManifestLoader {
    private final ObjectStore store;
    private final Map<String, Manifest> cache = new ConcurrentHashMap<>();
    private final Map<String, Manifest> merged = new ConcurrentHashMap<>();

    public ManifestLoader(ObjectStore store) {
        this.store = store;
    }

    /**
     * The manifest of a committed checkpoint; for a checkpoint saved by several ranks, the
     * merged view of all its parts (see {@link Manifest#merged}).
     *
     * @throws NotFoundException if the manifest object (or a part's) is missing
     * @throws CorruptObjectException if it does not match ROOT (or its top manifest) or does not parse
     */
    public Manifest load(CheckpointEntry entry) {
        Manifest done = merged.get(entry.manifest() + "\0" + entry.manifestSha256());
        if (done != null) {
            return done;
        }
        Manifest top = loadTop(entry);
        if (top.parts() == null) {
            return top;
        }
        List<Manifest> parts = new ArrayList<>();
        for (Manifest.PartRef p : top.parts()) {
            parts.add(part(entry, top, p));
        }
        Manifest m;
        try {
            m = Manifest.merged(top, parts);
        } catch (IllegalArgumentException e) {
            throw new CorruptObjectException(entry.manifest(), "the parts of checkpoint " + entry.id()
                    + " do not form one checkpoint: " + e.getMessage());
        }
        merged.put(entry.manifest() + "\0" + entry.manifestSha256(), m);
        return m;
    }

    /**
     * The keys of a committed checkpoint's part manifests, as its top manifest lists them;
     * none for a checkpoint of one writer. Taken from the manifest, not from ROOT's world
     * size: ROOT records none for a world of 1, yet rank 0 of a world of 1 saves a part (GC
     * once deleted that part of a live checkpoint by trusting ROOT).
     */
    public List<String> partKeys(CheckpointEntry entry) {
        Manifest top = loadTop(entry);
        return top.parts() == null ? List.of() : top.parts().stream().map(Manifest.PartRef::key).toList();
    }

    /** The checkpoint's own manifest as stored: for a checkpoint of several ranks, the top manifest listing the parts. */
    public Manifest loadTop(CheckpointEntry entry) {
        return read(entry.manifest(), entry.manifestSha256(), entry.id(), "cannot be restored");
    }

    /**
     * {@link #load} ({@code rank} null) or {@link #loadPart}, as one request of {@code d}, the
     * caller's store under its deadline: a read still in flight when the deadline passes is
     * abandoned and named "X.json" or "X.json or X/part-N.json" (either may be the one stuck).
     */
    public Manifest load(dev.ckpt.store.objectstore.DeadlineObjectStore d, CheckpointEntry entry, Integer rank) {
        return d.call(rank == null ? entry.manifest() : entry.manifest() + " or " + Manifest.keyOfPart(entry.id(), rank),
                "read", () -> rank == null ? load(entry) : loadPart(entry, rank));
    }

    /**
     * One rank's part of a checkpoint saved by several ranks, or for a checkpoint of one
     * writer (rank 0 of world size 1) its whole manifest.
     *
     * @throws NotFoundException if the checkpoint has no such rank
     */
    public Manifest loadPart(CheckpointEntry entry, int rank) {
        Manifest top = loadTop(entry);
        if (top.parts() == null) {
            if (rank != 0) {
                throw new NotFoundException(entry.id() + " rank " + rank, "checkpoint " + entry.id()
                        + " was saved by one writer: it has only rank 0");
            }
            return top;
        }
        if (rank < 0 || rank >= top.parts().size()) {
            throw new NotFoundException(entry.id() + " rank " + rank, "checkpoint " + entry.id() + " was saved by "
                    + top.parts().size() + " ranks (0 to " + (top.parts().size() - 1) + "); it has no rank " + rank);
        }
        return part(entry, top, top.parts().get(rank));
    }

    private Manifest part(CheckpointEntry entry, Manifest top, Manifest.PartRef ref) {
        // what is lost without it is the whole checkpoint and this rank's part, not the other ranks' parts (helper-114:
        // verify called such a checkpoint unrestorable, and restore --rank 0 of it worked)
        Manifest p = read(ref.key(), ref.sha256(), entry.id(), "cannot be restored whole, nor rank "
                + ref.rank() + "'s part; the other ranks' parts still restore one at a time (restore --rank R)");
        if (p.part() == null || p.part().rank() != ref.rank() || p.part().worldSize() != top.parts().size()
                || !p.id().equals(top.id())) {
            throw new CorruptObjectException(ref.key(), "part manifest " + ref.key() + " is not rank " + ref.rank()
                    + " of " + top.parts().size() + " of checkpoint " + top.id());
        }
        return p;
    }

    /** {@code lost}: what of the checkpoint cannot be restored without this manifest ("cannot be restored"), for the message. */
    private Manifest read(String key, String sha256, String id, String lost) {
        // by the hash too: a second ROOT entry naming the same manifest with another hash was taken from the cache
        // unchecked (helper-140)
        String cacheKey = key + "\0" + sha256;
        Manifest cached = cache.get(cacheKey);
        if (cached != null) {
            return cached;
        }
        byte[] data;
        try {
            data = store.get(key).data();
        } catch (NotFoundException e) {
            if (e.inItsPlace() != null) { // not lost: a local store's directory or FIFO stands there
                throw StoreUnavailableException.needingAction("cannot read manifest " + key + " of checkpoint " + id
                        + " in " + store.describe() + ": " + e.inItsPlace(), e);
            }
            NotFoundException missing = new NotFoundException(key, "manifest " + key + " of checkpoint "
                    + id + " is missing from " + store.describe() + "; the checkpoint " + lost);
            // a note, which verify itself leaves out (CkptException.reason)
            missing.addNote(" (ckpt-tool verify " + dev.ckpt.store.util.ShellWords.word(store.describe())
                    + " finds every damaged checkpoint)");
            throw missing;
        }
        Manifest m;
        try {
            m = Json.readManifest(key, data, sha256);
        } catch (CorruptObjectException e) {
            // a next step, as for a missing one (helper-114: a corrupt manifest's refusal said only what was wrong)
            e.addNote("; checkpoint " + id + " " + lost + " (ckpt-tool verify "
                    + dev.ckpt.store.util.ShellWords.word(store.describe()) + " finds every damaged checkpoint)");
            throw e;
        }
        cache.put(cacheKey, m);
        return m;
    }

    /** Paths held by more than one of these part manifests (empty when they are disjoint). */
    public static Set<String> overlapping(List<Manifest> parts) {
        Set<String> seen = new HashSet<>();
        Set<String> twice = new java.util.TreeSet<>();
        for (Manifest p : parts) {
            for (FileEntry f : p.files()) {
                if (!seen.add(f.path())) {
                    twice.add(f.path());
                }
            }
        }
        return twice;
    }
}

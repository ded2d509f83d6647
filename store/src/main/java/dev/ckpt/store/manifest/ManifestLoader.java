package dev.ckpt.store.manifest;

import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.objectstore.ObjectStore;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads manifests of committed checkpoints, verifying each against the SHA-256 that ROOT
 * recorded. Manifests are immutable, so verified ones are cached by key.
 */
public final class ManifestLoader {
    private final ObjectStore store;
    private final Map<String, Manifest> cache = new ConcurrentHashMap<>();

    public ManifestLoader(ObjectStore store) {
        this.store = store;
    }

    /**
     * The manifest of a committed checkpoint.
     *
     * @throws NotFoundException if the manifest object is missing
     * @throws CorruptObjectException if it does not match ROOT or does not parse
     */
    public Manifest load(CheckpointEntry entry) {
        Manifest cached = cache.get(entry.manifest());
        if (cached != null) {
            return cached;
        }
        byte[] data;
        try {
            data = store.get(entry.manifest()).data();
        } catch (NotFoundException e) {
            throw new NotFoundException(entry.manifest(), "manifest " + entry.manifest() + " of checkpoint "
                    + entry.id() + " is missing from " + store.describe()
                    + "; the checkpoint cannot be restored (run ckpt-tool verify)");
        }
        Manifest m = Json.readManifest(entry.manifest(), data, entry.manifestSha256());
        cache.put(entry.manifest(), m);
        return m;
    }
}

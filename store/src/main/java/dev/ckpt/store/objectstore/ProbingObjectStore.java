package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.ConditionalWritesUnsupportedException;

import java.util.List;
import java.util.Optional;

/**
 * Runs {@link ConditionalWriteProbe} once, before the first conditional write, and from
 * then on refuses every conditional write if the backend does not honour them. Reads and
 * plain writes pass through untouched.
 */
public final class ProbingObjectStore implements ObjectStore {
    private final ObjectStore delegate;
    private volatile ConditionalWriteProbe.Result result;

    public ProbingObjectStore(ObjectStore delegate) {
        this.delegate = delegate;
    }

    /** The backend being probed. */
    public ObjectStore delegate() {
        return delegate;
    }

    /** Runs the probe now (if not yet run) and returns what it found. */
    public ConditionalWriteProbe.Result probe() {
        ConditionalWriteProbe.Result r = result;
        if (r == null) {
            synchronized (this) {
                r = result;
                if (r == null) {
                    r = ConditionalWriteProbe.run(delegate);
                    result = r;
                }
            }
        }
        return r;
    }

    private void requireConditionalWrites() {
        ConditionalWriteProbe.Result r = probe();
        if (!r.ok()) {
            throw new ConditionalWritesUnsupportedException(delegate.describe() + " does not honour the conditional writes"
                    + " ckpt needs to commit safely: " + String.join("; ", r.problems())
                    + ". Nothing was written. Use AWS S3, MinIO or a recent Ceph RGW, or a shared filesystem");
        }
    }

    @Override
    public StoredObject get(String key) {
        return delegate.get(key);
    }

    @Override
    public byte[] getRange(String key, long offset, int length) {
        return delegate.getRange(key, offset, length);
    }

    @Override
    public Optional<ObjectInfo> head(String key) {
        return delegate.head(key);
    }

    @Override
    public String put(String key, byte[] data) {
        return delegate.put(key, data);
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data) {
        requireConditionalWrites();
        return delegate.putIfAbsent(key, data);
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        requireConditionalWrites();
        return delegate.putIfMatch(key, data, expectedEtag);
    }

    @Override
    public void delete(String key) {
        delegate.delete(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        return delegate.list(prefix);
    }

    @Override
    public String describe() {
        return delegate.describe();
    }

    @Override
    public void close() {
        delegate.close();
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.ConditionalWritesUnsupportedException;

/**
 * Runs {@link ConditionalWriteProbe} once, before the first conditional write, and from
 * then on refuses every conditional write if the backend does not honour them. Reads and
 * plain writes pass through untouched.
 */
public final class ProbingObjectStore extends ForwardingObjectStore {
    private volatile ConditionalWriteProbe.Result result;

    public ProbingObjectStore(ObjectStore delegate) {
        super(delegate);
    }

    /**
     * Runs the probe now (if not yet run) and returns what it found. A transient failure while
     * probing is thrown and not remembered: the next call probes again.
     */
    public ConditionalWriteProbe.Result probe() {
        ConditionalWriteProbe.Result r = result;
        if (r == null) {
            synchronized (this) {
                r = result;
                if (r == null) {
                    r = ConditionalWriteProbe.run(delegate());
                    result = r;
                }
            }
        }
        return r;
    }

    private void requireConditionalWrites() {
        ConditionalWriteProbe.Result r = probe();
        if (!r.ok()) {
            throw new ConditionalWritesUnsupportedException(describe() + " does not honour the conditional writes"
                    + " ckpt needs to commit safely: " + String.join("; ", r.problems())
                    + ". Nothing was written. Use AWS S3, MinIO or a recent Ceph RGW, or a shared filesystem");
        }
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        requireConditionalWrites();
        return super.putIfAbsent(key, data, offset, length);
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        requireConditionalWrites();
        return super.putIfMatch(key, data, expectedEtag);
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.ConditionalWritesUnsupportedException;

import java.util.List;
import java.util.Optional;

/**
 * Runs {@link ConditionalWriteProbe} once, before the first conditional write, and from
 * then on refuses every conditional write if the backend does not honour them. Reads and
 * plain writes pass through untouched.
 *
 * <p>With a {@link ProbeCache}, a passing verdict for the same store identity recorded less than
 * the cache's TTL ago stands in for the probe (no probe requests at all), and a passing probe is
 * recorded. A conditional write that contradicts a cached verdict drops it: the backend reports
 * that conditional writes are unsupported, or it had to learn another {@link IfMatchForm} than the
 * one cached.
 */
public final class ProbingObjectStore extends ForwardingObjectStore {
    private final ProbeCache cache;
    private final ProbeCache.Identity identity;
    private final ProbeCache.Entry cached;
    private volatile ConditionalWriteProbe.Result result;
    /** Whether the last probe's passing verdict was written to the cache. */
    private volatile boolean recorded;

    public ProbingObjectStore(ObjectStore delegate) {
        this(delegate, ProbeCache.off(), null);
    }

    /** Probes {@code delegate} unless {@code cache} holds a fresh passing verdict for {@code identity} (null = no cache). */
    public ProbingObjectStore(ObjectStore delegate, ProbeCache cache, ProbeCache.Identity identity) {
        super(delegate);
        this.cache = identity == null ? ProbeCache.off() : cache;
        this.identity = identity;
        this.cached = identity == null ? null : this.cache.fresh(identity).orElse(null);
        if (cached != null) {
            result = new ConditionalWriteProbe.Result(delegate.describe(), true, true, true, cached.ifMatchForm(), List.of());
        }
    }

    /** The fresh passing verdict this store started from instead of probing, if any. */
    public Optional<ProbeCache.Entry> cachedVerdict() {
        return Optional.ofNullable(cached);
    }

    /** The cache entry for this store whatever its age (doctor shows it), if there is a cache and an entry. */
    public Optional<ProbeCache.Entry> cacheEntry() {
        return identity == null ? Optional.empty() : cache.read(identity);
    }

    /** Whether verdicts for this store are cached on this machine. */
    public boolean cacheEnabled() {
        return identity != null && cache.enabled();
    }

    /** How old {@code e} is by the cache's clock. */
    public java.time.Duration age(ProbeCache.Entry e) {
        return cache.age(e);
    }

    /**
     * Runs the probe now (if not yet run, and no fresh cached verdict stands in for it) and returns what
     * it found. A transient failure while probing is thrown and not remembered: the next call probes again.
     */
    public ConditionalWriteProbe.Result probe() {
        ConditionalWriteProbe.Result r = result;
        if (r == null) {
            synchronized (this) {
                r = result;
                if (r == null) {
                    r = runProbe();
                }
            }
        }
        return r;
    }

    /**
     * Probes now whatever is cached (doctor), records a passing verdict and drops the cached one on a failing
     * verdict; later conditional writes go by this verdict.
     */
    public synchronized ConditionalWriteProbe.Result probeAgain() {
        return runProbe();
    }

    /** Probes, records the verdict in the cache (a failed one is not written, and drops an earlier entry), and keeps it. */
    private synchronized ConditionalWriteProbe.Result runProbe() {
        ConditionalWriteProbe.Result r = ConditionalWriteProbe.run(delegate());
        if (identity != null) {
            recorded = cache.record(identity, r);
        }
        result = r;
        return r;
    }

    /** Whether the last probe's passing verdict was written to the cache (false: off, failed, or not writable). */
    public boolean verdictRecorded() {
        return recorded;
    }

    /** The cache's directory, if there is a cache. */
    public Optional<java.nio.file.Path> cacheDirectory() {
        return identity == null ? Optional.empty() : cache.directory();
    }

    private void requireConditionalWrites() {
        ConditionalWriteProbe.Result r = probe();
        if (!r.ok()) {
            throw new ConditionalWritesUnsupportedException(describe() + " does not honour the conditional writes"
                    + " ckpt needs to commit safely: " + String.join("; ", r.problems())
                    + ". Nothing was written. Use AWS S3, MinIO or a recent Ceph RGW, or a shared filesystem");
        }
    }

    /** Reads need no probe: passed on, into the caller's buffer. */
    @Override
    public Optional<StoredBytes> getInto(String key, byte[] buffer) {
        return delegate().getInto(key, buffer);
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        requireConditionalWrites();
        try {
            return super.putIfAbsent(key, data, offset, length);
        } catch (ConditionalWritesUnsupportedException e) {
            contradicted();
            throw e;
        }
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        requireConditionalWrites();
        String etag;
        try {
            etag = super.putIfMatch(key, data, expectedEtag);
        } catch (ConditionalWritesUnsupportedException e) {
            contradicted();
            throw e;
        }
        ProbeCache.Entry c = cached;
        if (c != null && c.ifMatchForm() != null && delegate().ifMatchForm().filter(f -> f != c.ifMatchForm()).isPresent()) {
            contradicted(); // the server honours another form than the cached verdict says: that verdict is stale
        }
        return etag;
    }

    /** A conditional write contradicted the cached verdict: drop it, so the next process probes. */
    private void contradicted() {
        if (cached != null) {
            cache.forget(identity);
        }
    }
}

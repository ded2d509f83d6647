package dev.ckpt.store.objectstore;

import java.time.Instant;
import java.util.Optional;

/**
 * An object store that passes every call to another; subclasses override what they change.
 * There is one create-only write, {@link #putIfAbsent(String, byte[], int, int)}, so a subclass
 * that overrides it sees every create-only write. {@link #getInto} is not passed on: it reads
 * through this store's {@link #get} (the interface's default), so a subclass that changes
 * {@code get} sees every read; one that leaves reads alone passes it on, for its speed
 * ({@link ProbingObjectStore}, {@link DeadlineObjectStore}).
 */
public abstract class ForwardingObjectStore implements ObjectStore {
    private final ObjectStore delegate;

    protected ForwardingObjectStore(ObjectStore delegate) {
        this.delegate = delegate;
    }

    public ObjectStore delegate() {
        return delegate;
    }

    @Override
    public StoredObject get(String key) {
        return delegate.get(key);
    }

    @Override
    public Optional<IfMatchForm> ifMatchForm() {
        return delegate.ifMatchForm();
    }

    @Override
    public Optional<ObjectInfo> head(String key) {
        return delegate.head(key);
    }

    @Override
    public Optional<Long> sizeOf(String key) {
        return delegate.sizeOf(key);
    }

    @Override
    public String put(String key, byte[] data) {
        return delegate.put(key, data);
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        return delegate.putIfAbsent(key, data, offset, length);
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        return delegate.putIfMatch(key, data, expectedEtag);
    }

    @Override
    public void delete(String key) {
        delegate.delete(key);
    }

    @Override
    public ObjectListing list(String prefix) {
        return delegate.list(prefix);
    }

    @Override
    public Leftovers removeLeftovers(Instant writtenBefore, boolean dryRun) {
        return delegate.removeLeftovers(writtenBefore, dryRun);
    }

    @Override
    public String describe() {
        return delegate.describe();
    }

    @Override
    public java.util.Optional<String> server() {
        return delegate.server();
    }

    @Override
    public void close() {
        delegate.close();
    }
}

package dev.ckpt.store.objectstore;

import java.util.List;
import java.util.Optional;

/**
 * An object store that passes every call to another; subclasses override what they change.
 * {@link #putIfAbsent(String, byte[], int)} is deliberately not forwarded: its default copies
 * the bytes and calls {@link #putIfAbsent(String, byte[])}, so a subclass that overrides only
 * that one still sees every create-only write. Wrappers on a hot path forward it themselves.
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
        return delegate.putIfAbsent(key, data);
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

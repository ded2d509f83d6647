package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;

import java.time.Clock;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A complete object store in memory: the fake used by unit tests, with the same
 * semantics as the real backends (atomic create-only and compare-and-swap writes,
 * MD5 ETags). Modification times come from the injected clock, so GC grace ages can be
 * driven by a fake clock.
 */
final class InMemoryObjectStore implements ObjectStore {
    private record Entry(byte[] data, String etag, java.time.Instant lastModified) {
    }

    private final ConcurrentSkipListMap<String, Entry> objects = new ConcurrentSkipListMap<>();
    private final Clock clock;
    private final String name;

    InMemoryObjectStore(String name, Clock clock) {
        this.name = name;
        this.clock = clock;
    }

    private Entry entry(byte[] data) {
        return entry(data, 0, data.length);
    }

    private Entry entry(byte[] data, int offset, int length) {
        byte[] copy = Arrays.copyOfRange(data, offset, offset + length);
        return new Entry(copy, Keys.etagOf(copy), clock.instant());
    }

    @Override
    public StoredObject get(String key) {
        Entry e = objects.get(Keys.validate(key));
        if (e == null) {
            throw NotFoundException.object(key);
        }
        return new StoredObject(key, e.data.clone(), e.etag);
    }

    @Override
    public Optional<ObjectInfo> head(String key) {
        Entry e = objects.get(Keys.validate(key));
        return e == null ? Optional.empty()
                : Optional.of(new ObjectInfo(key, e.data.length, e.lastModified, e.etag));
    }

    @Override
    public String put(String key, byte[] data) {
        Entry e = entry(data);
        objects.put(Keys.validate(key), e);
        return e.etag;
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        Keys.validate(key);
        java.util.Objects.checkFromIndexSize(offset, length, data.length);
        return objects.putIfAbsent(key, entry(data, offset, length)) == null ? PutResult.CREATED : PutResult.ALREADY_EXISTS;
    }

    @Override
    public Optional<IfMatchForm> ifMatchForm() {
        return Optional.empty();
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        Keys.validate(key);
        Entry next = entry(data);
        Entry result = objects.compute(key, (k, current) -> {
            if (current == null || !current.etag.equals(expectedEtag)) {
                throw new PreconditionFailedException(key, expectedEtag, current == null ? null : current.etag);
            }
            return next;
        });
        return result.etag;
    }

    @Override
    public void delete(String key) {
        objects.remove(Keys.validate(key));
    }

    /** Lazy like the real backends: iterates the sorted map's live view (weakly consistent, never a snapshot). */
    @Override
    public ObjectListing list(String prefix) {
        return () -> objects.tailMap(prefix, true).entrySet().stream()
                .takeWhile(e -> e.getKey().startsWith(prefix))
                .map(e -> new ObjectInfo(e.getKey(), e.getValue().data.length, e.getValue().lastModified, e.getValue().etag))
                .iterator();
    }

    /** Nothing: a write here is one map update. */
    @Override
    public Leftovers removeLeftovers(java.time.Instant writtenBefore, boolean dryRun) {
        return Leftovers.NONE;
    }

    @Override
    public String describe() {
        return "mem://" + name;
    }
}

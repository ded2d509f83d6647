package dev.ckpt.store.objectstore;

import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A lazy, sorted listing of objects: each {@link #iterator()} starts a new listing and
 * fetches it as it is consumed (S3: one ListObjectsV2 page of up to 1000 keys at a time;
 * the local store: one directory at a time), so a caller holds in memory only what it
 * keeps itself. Keys come in ascending order. {@code hasNext()} and {@code next()} may
 * throw {@link dev.ckpt.store.error.StoreUnavailableException} when a page cannot be
 * fetched; the entries already returned stay valid. A listing is not a snapshot: objects
 * created or deleted while it runs may or may not appear. Nothing needs closing.
 */
@FunctionalInterface
public interface ObjectListing extends Iterable<ObjectInfo> {

    /** A sequential stream over a new listing. */
    default Stream<ObjectInfo> stream() {
        return StreamSupport.stream(spliterator(), false);
    }

    /** True when no object matches; fetches at most the first page. */
    default boolean isEmpty() {
        return !iterator().hasNext();
    }
}

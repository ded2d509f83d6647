package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.objectstore.ObjectInfo;

import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * A lazy listing over S3 pages: the first page is requested by the first {@code hasNext()},
 * each further one when the previous is used up, so at most one page (up to 1000 keys) is
 * held at a time. S3 lists keys in UTF-8 byte order, which is key order for the ASCII keys
 * ckpt writes.
 */
final class Pages implements Iterator<ObjectInfo> {
    /** Keys a ListObjectsV2 request asks for, the S3 maximum. */
    static final int PAGE_SIZE = 1000;

    /** One page: its objects (already filtered to valid keys) and the token of the next page, null after the last. */
    record Page(List<ObjectInfo> objects, String next) {
    }

    private final Function<String, Page> fetch;
    private Iterator<ObjectInfo> current = Collections.emptyIterator();
    private String token;
    private boolean started;

    /** @param fetch requests the page at a token (null: the first page); throws the backend's mapped errors */
    Pages(Function<String, Page> fetch) {
        this.fetch = fetch;
    }

    @Override
    public boolean hasNext() {
        while (!current.hasNext() && (!started || token != null)) {
            Page p = fetch.apply(token);
            started = true;
            token = p.next();
            current = p.objects().iterator();
        }
        return current.hasNext();
    }

    @Override
    public ObjectInfo next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return current.next();
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;

import java.util.List;
import java.util.Optional;

/**
 * The storage SPI: a flat namespace of immutable-bytes objects addressed by key.
 *
 * <p>Keep it small. Everything the checkpoint store does is built from these methods; a
 * new backend implements them and passes {@code ObjectStoreContractTest}. Keys are
 * relative, '/'-separated, without empty segments, '.' or '..' segments, or a leading
 * '/'; segments starting with '.' are reserved for backends' own temporary files.
 *
 * <p>Every method may throw {@link StoreUnavailableException} for a transient failure;
 * for a write that means the write may or may not have happened.
 * Objects are whole or absent: no reader ever sees a partly written object.
 */
public interface ObjectStore extends AutoCloseable {

    /**
     * Reads a whole object with its ETag.
     *
     * @throws NotFoundException if there is no object at {@code key}
     */
    StoredObject get(String key);

    /**
     * Reads {@code length} bytes starting at {@code offset}; fewer when the object ends first.
     *
     * @throws NotFoundException if there is no object at {@code key}
     * @throws IllegalArgumentException if offset or length is negative
     */
    byte[] getRange(String key, long offset, int length);

    /** Size, modification time and ETag of an object; empty when it does not exist. */
    Optional<ObjectInfo> head(String key);

    /**
     * Writes an object unconditionally, replacing any existing one atomically: readers see
     * the old or the new content, never a mix. Returns the new ETag.
     */
    String put(String key, byte[] data);

    /**
     * Creates an object only if none exists at {@code key} ({@code If-None-Match: *}).
     * Atomic across threads and processes: of concurrent creators exactly one gets
     * {@link PutResult#CREATED}; the others get {@link PutResult#ALREADY_EXISTS} and the
     * existing object is left untouched.
     *
     * <p>Over a network a response can be lost after the server stored the object. Backends
     * settle that by looking at the object: if it holds exactly these bytes the answer is
     * {@code CREATED} (identical bytes are the same object, whoever wrote them). Callers that
     * must tell their write from an identical one write unique content.
     */
    PutResult putIfAbsent(String key, byte[] data);

    /**
     * {@link #putIfAbsent(String, byte[])} of the first {@code length} bytes of {@code data}.
     * The caller may reuse the array once this returns, so a save can pass one buffer per
     * worker instead of a new multi-MiB array per chunk (which the JVM allocates, zeroes and
     * collects as a "humongous" object: see docs/benchmarks.md). Backends that can send a
     * part of an array override this; the default copies.
     *
     * @throws IndexOutOfBoundsException if {@code length} is negative or beyond the array; nothing is written
     */
    default PutResult putIfAbsent(String key, byte[] data, int length) {
        java.util.Objects.checkFromIndexSize(0, length, data.length);
        return putIfAbsent(key, length == data.length ? data : java.util.Arrays.copyOf(data, length));
    }

    /**
     * Replaces an object only if its current ETag is {@code expectedEtag} ({@code If-Match}).
     * Atomic across threads and processes: of concurrent writers holding the same ETag,
     * at most one succeeds. Returns the new ETag.
     *
     * <p>When a response is lost, backends settle the outcome by reading the object: if it
     * holds these bytes the write succeeded. A write that landed and was then replaced by a
     * later write (of another writer that read it) before the settling read is reported as
     * refused; callers that must know keep an identifier of their write in the content, as
     * ROOT keeps its recent transaction ids.
     *
     * @throws PreconditionFailedException if the object is missing or its ETag differs;
     *         nothing was written
     */
    String putIfMatch(String key, byte[] data, String expectedEtag);

    /**
     * The spelling of the ETag this backend sends in {@code If-Match}, once known: HTTP
     * backends learn it on their first conditional replace whose current ETag matched
     * (see {@link IfMatchForm}). Empty for backends without HTTP conditions (the local and
     * in-memory stores) and before the first conditional replace.
     */
    default java.util.Optional<IfMatchForm> ifMatchForm() {
        return java.util.Optional.empty();
    }

    /** Deletes an object. Idempotent: deleting a missing object succeeds. */
    void delete(String key);

    /**
     * Lists the objects whose keys start with {@code prefix}, sorted by key. The listing
     * is not a snapshot: objects created or deleted while it runs may or may not appear.
     * {@link ObjectInfo#etag()} may be null in listings.
     */
    List<ObjectInfo> list(String prefix);

    /** A description for messages, e.g. {@code file:///data/store}; never contains credentials. */
    String describe();

    @Override
    default void close() {
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;

import java.time.Instant;
import java.util.Optional;

/**
 * The storage SPI: a flat namespace of immutable-bytes objects addressed by key.
 *
 * <p>Keep it small. Everything the checkpoint store does is built from these methods; a
 * new backend implements each of them (the defaults are only {@link #getInto}, a faster form of
 * {@link #get}, {@link #server} and {@link #close}) and passes
 * {@code ObjectStoreContractTest}. Keys are relative, '/'-separated, without empty
 * segments, '.' or '..' segments, or a leading '/'; segments starting with '.' are
 * reserved for backends' own temporary files. Every method taking a key throws
 * {@link IllegalArgumentException} naming it for an invalid key, before any request.
 *
 * <p>Every method may throw {@link StoreUnavailableException} for a transient failure;
 * for a write that means the write may or may not have happened. Backends do not retry
 * beyond their client's transport retries (see docs/design.md, "One retry policy").
 * Objects are whole or absent: no reader ever sees a partly written object.
 */
public interface ObjectStore extends AutoCloseable {

    /**
     * Reads a whole object with its ETag. The bytes and the ETag are of one version.
     *
     * @throws NotFoundException if there is no object at {@code key}
     */
    StoredObject get(String key);

    /**
     * Reads a whole object into {@code buffer} when it fits; empty when it is longer, and then
     * the backends do not read its body (a 3 GiB object in a chunk's place ran restores and
     * verifies out of memory, helper-112's kind): for a caller that reads many objects of a
     * known size bound (a restore's chunks, whose stored length the manifest records, so that a
     * longer object is damage) and reuses its buffers. A new multi-MiB array per read
     * is zeroed by the JVM and, as the heap grows to hold them, faulted in fresh by the kernel: a
     * quarter of a restore's CPU (docs/benchmarks.md, "Restore: reads into reused buffers"). No
     * ETag is read. Past the returned length, {@code buffer}'s bytes are unspecified. <b>After a
     * failure the caller drops {@code buffer}</b>: a call abandoned at a deadline
     * ({@link DeadlineObjectStore}) may still be writing into it.
     *
     * <p>The default reads with {@link #get} into a new array (a longer object is read, then
     * answered empty); backends whose client can fill a given array override it.
     *
     * @return the object's bytes, in {@code buffer} or (the default) a new array; empty when the
     *         object is longer than {@code buffer}
     * @throws NotFoundException if there is no object at {@code key}
     */
    default Optional<StoredBytes> getInto(String key, byte[] buffer) {
        byte[] data = get(key).data();
        return data.length > buffer.length ? Optional.empty() : Optional.of(new StoredBytes(data, data.length));
    }

    /** Size, modification time and ETag of an object; empty when there is no object at {@code key}. */
    Optional<ObjectInfo> head(String key);

    /**
     * The size in bytes of the object at {@code key}, or empty when there is none: {@link #head}
     * without the ETag, which a backend may only get by reading the object (the local store
     * hashes its content). For a look at whether an object is there at its recorded size (a
     * save's look at the chunks it deduplicated against); on S3 it is a HEAD.
     */
    default Optional<Long> sizeOf(String key) {
        return head(key).map(ObjectInfo::size);
    }

    /**
     * Writes an object unconditionally, creating it or replacing any existing one atomically:
     * readers see the old or the new content, never a mix. Returns the new ETag.
     */
    String put(String key, byte[] data);

    /**
     * Creates an object of the {@code length} bytes of {@code data} from {@code offset} only if
     * none exists at {@code key} ({@code If-None-Match: *}). Atomic across threads and
     * processes: of concurrent creators exactly one gets {@link PutResult#CREATED}; the others
     * get {@link PutResult#ALREADY_EXISTS} and the existing object is left untouched. A missing
     * object is the normal case; an existing one is an answer, not an error.
     *
     * <p>The caller may reuse the array once this returns, so a save passes one buffer per
     * worker with a length instead of a new multi-MiB array per chunk (which the JVM allocates,
     * zeroes and collects as a "humongous" object: see docs/benchmarks.md). Backends send the
     * slice without copying it where their client allows.
     *
     * <p>Over a network a response can be lost after the server stored the object. Backends
     * settle that by looking at the object once: if it holds exactly these bytes the answer is
     * {@code CREATED} (identical bytes are the same object, whoever wrote them); if it is still
     * absent the failure is thrown. Callers that must tell their write from an identical one
     * write unique content.
     *
     * @throws IndexOutOfBoundsException if the slice is not inside {@code data}; nothing is written
     */
    PutResult putIfAbsent(String key, byte[] data, int offset, int length);

    /**
     * Replaces an object only if its current ETag is {@code expectedEtag} ({@code If-Match}).
     * Atomic across threads and processes: of concurrent writers holding the same ETag,
     * at most one succeeds. Returns the new ETag.
     *
     * <p>When a response is lost, backends settle the outcome by reading the object once: if
     * it holds these bytes the write succeeded. A write that landed and was then replaced by a
     * later write (of another writer that read it) before the settling read is reported as
     * refused; callers that must know keep an identifier of their write in the content, as
     * ROOT keeps its recent transaction ids. A concurrent conditional write the server refuses
     * with 409 is reported as refused too: nothing was written, the caller re-reads and retries.
     *
     * @throws PreconditionFailedException if there is no object at {@code key} or its ETag
     *         differs; nothing was written
     */
    String putIfMatch(String key, byte[] data, String expectedEtag);

    /**
     * The spelling of the ETag this backend sends in {@code If-Match}, once known: HTTP
     * backends learn it on their first conditional replace whose current ETag matched
     * (see {@link IfMatchForm}). Empty for backends without HTTP conditions (the local and
     * in-memory stores) and before the first conditional replace.
     */
    Optional<IfMatchForm> ifMatchForm();

    /** Deletes an object atomically. Idempotent: deleting a missing object succeeds. */
    void delete(String key);

    /**
     * The objects whose keys start with {@code prefix}, sorted by key, as a lazy listing (see
     * {@link ObjectListing}): calling this sends nothing; iterating fetches page by page.
     * {@code prefix} is any string, not a key ("" lists everything; a prefix that matches
     * nothing gives an empty listing). Keys a backend cannot name as valid keys (directory
     * markers, foreign objects, its own temporary files) are skipped.
     * {@link ObjectInfo#etag()} may be null in listings.
     */
    ObjectListing list(String prefix);

    /**
     * Removes what writes that never finished left behind: data that {@link #get}, {@link #head}
     * and {@link #list} never show, such as the temporary file of a local store's writer that
     * was killed before it renamed the file into place. Only what was last written before
     * {@code writtenBefore} is touched, so writes in progress keep theirs; callers pass an age
     * no write lasts (GC: the longer of its grace age and an hour). Never removes or changes
     * an object. Returns what was removed or, with {@code dryRun}, what would be.
     *
     * <p>Backends whose unfinished writes leave nothing return {@link Leftovers#NONE}: an S3
     * PUT that does not complete stores nothing, and ckpt sends no multipart uploads.
     */
    Leftovers removeLeftovers(Instant writtenBefore, boolean dryRun);

    /** A description for messages, e.g. {@code file:///data/store}; never contains credentials. */
    String describe();

    /**
     * The server behind the store, for {@code doctor} and the trainer's first line (which server a
     * run talks to was nowhere to be seen; helper-76): for S3 its endpoint (user info masked) or
     * "AWS S3", addressing, region and client, e.g. {@code 'http://minio:9000', path-style, region
     * us-east-1, client aws}; empty for a local directory. Never contains credentials.
     */
    default java.util.Optional<String> server() {
        return java.util.Optional.empty();
    }

    @Override
    default void close() {
    }
}

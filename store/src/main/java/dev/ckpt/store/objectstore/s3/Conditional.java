package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.objectstore.Keys;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Settles conditional writes over HTTP, where a response can be lost after the server
 * stored the request, and the client (the SDK) may repeat the request on its transport:
 * the repeat then meets its own write and gets 412. A conditional write is one request
 * here: nothing is retried. After a 412, a 409 or an I/O failure the backend looks at the
 * object once: if it holds exactly our bytes, our write landed; if it changed, the condition
 * failed; if it is unchanged (or absent) after an I/O failure, the failure is rethrown and the
 * caller decides (RootStore's one retry loop, or the save that fails). For ROOT this is exact
 * (every ROOT is unique: its transaction id); for chunks, identical bytes are the same chunk
 * whoever wrote them. ETags are compared with the MD5 of our bytes where the server's ETag is
 * that MD5 (no SSE-KMS, single-part); otherwise the content is read back when its size is ours.
 */
final class Conditional {

    private Conditional() {
    }

    /**
     * Thrown by a backend's attempt when the server answers 409 ConditionalRequestConflict
     * (a concurrent conditional write on the key, nothing written): {@code mapped} is the
     * backend's error for it.
     */
    static final class Conflict extends RuntimeException {
        private final StoreUnavailableException mapped;

        Conflict(RuntimeException mapped) {
            super(null, null, false, false);
            this.mapped = mapped instanceof StoreUnavailableException u ? u
                    : new StoreUnavailableException(mapped.getMessage(), mapped);
        }
    }

    /**
     * @param attempt performs the create-only PUT once: true = created, false = 412; throws StoreUnavailable on
     *                I/O failure, Conflict on 409
     */
    static PutResult putIfAbsent(ObjectStore self, String key, byte[] data, int offset, int length, boolean md5Etags,
                                 BooleanSupplier attempt) {
        Objects.checkFromIndexSize(offset, length, data.length);
        StoreUnavailableException failure;
        try {
            if (attempt.getAsBoolean()) {
                return PutResult.CREATED;
            }
            // 412: someone's object is there; ours if a repeated request met our own write
            return holds(self, key, data, offset, length, md5Etags).isPresent() ? PutResult.CREATED : PutResult.ALREADY_EXISTS;
        } catch (Conflict c) {
            failure = c.mapped;
        } catch (StoreUnavailableException e) {
            failure = e;
        }
        // settle: look at the object once
        Optional<ObjectInfo> now = self.head(key);
        if (now.isEmpty()) {
            throw failure; // absent: our request did not land (and an in-flight one could only create it)
        }
        return holds(self, now.get(), data, offset, length, md5Etags).isPresent() ? PutResult.CREATED : PutResult.ALREADY_EXISTS;
    }

    /**
     * The {@link IfMatchForm} a server honours, learnt on the first conditional replace that
     * succeeds (one per backend instance). Until then {@link #putIfMatch} sends the quoted
     * form and, when the server refuses it although the object's current ETag is the one
     * expected, the bare form once. A hint (the form a cached probe verdict recorded) is sent
     * first instead of the quoted form, with the same fallback: a wrong hint costs one refused request.
     */
    static final class Forms {
        private volatile IfMatchForm known;
        private volatile IfMatchForm hint;

        Optional<IfMatchForm> known() {
            return Optional.ofNullable(known);
        }

        IfMatchForm first() {
            IfMatchForm k = known;
            if (k != null) {
                return k;
            }
            IfMatchForm h = hint;
            return h == null ? IfMatchForm.QUOTED : h;
        }

        void hint(IfMatchForm form) {
            hint = form;
        }

        void learnt(IfMatchForm form) {
            if (known == null) {
                known = form;
            }
        }
    }

    /**
     * @param attempt performs the PUT once with the given {@code If-Match} header value: returns the new ETag,
     *                throws PreconditionFailed (412, 404), StoreUnavailable or Conflict (409)
     */
    static String putIfMatch(ObjectStore self, String key, byte[] data, String expectedEtag, boolean md5Etags,
                             Forms forms, Function<String, String> attempt) {
        IfMatchForm form = forms.first();
        try {
            String etag = settled(self, key, data, expectedEtag, md5Etags, () -> attempt.apply(form.header(expectedEtag)));
            forms.learnt(form);
            return etag;
        } catch (Conflict c) {
            throw conflict(key, expectedEtag);
        } catch (PreconditionFailedException refused) {
            if (forms.known().isPresent() || !currentEtagIs(self, key, expectedEtag)) {
                throw refused; // the form is settled, or the condition really was false
            }
            // the object's ETag is the one we sent, yet the server refused: it does not read this form
            IfMatchForm other = form.other();
            try {
                String etag = settled(self, key, data, expectedEtag, md5Etags, () -> attempt.apply(other.header(expectedEtag)));
                forms.learnt(other);
                return etag;
            } catch (Conflict c) {
                throw conflict(key, expectedEtag);
            }
        }
    }

    /** A 409: another conditional write on the key was in progress; ours wrote nothing. The caller re-reads. */
    private static PreconditionFailedException conflict(String key, String expectedEtag) {
        return new PreconditionFailedException(key, expectedEtag, "(another, being written concurrently: HTTP 409)");
    }

    private static boolean currentEtagIs(ObjectStore self, String key, String expectedEtag) {
        return self.head(key).map(i -> S3Errors.etag(i.etag())).filter(e -> e.equals(S3Errors.etag(expectedEtag))).isPresent();
    }

    /** One conditional replace, its outcome settled by looking at the object once after a 412 or an I/O failure. */
    private static String settled(ObjectStore self, String key, byte[] data, String expectedEtag, boolean md5Etags,
                                  Supplier<String> attempt) {
        try {
            return attempt.get();
        } catch (PreconditionFailedException e) {
            Optional<String> mine = holds(self, key, data, 0, data.length, md5Etags);
            if (mine.isPresent()) {
                return mine.get(); // a repeated request met our own earlier write
            }
            throw e;
        } catch (StoreUnavailableException e) {
            Optional<ObjectInfo> now = self.head(key);
            if (now.isEmpty()) {
                throw new PreconditionFailedException(key, expectedEtag, null);
            }
            Optional<String> mine = holds(self, now.get(), data, 0, data.length, md5Etags);
            if (mine.isPresent()) {
                return mine.get();
            }
            if (!S3Errors.etag(now.get().etag()).equals(S3Errors.etag(expectedEtag))) {
                // someone else's write replaced the version ours was conditional on: ours can no longer land
                throw new PreconditionFailedException(key, expectedEtag, now.get().etag());
            }
            throw e; // unchanged: our request did not land; the caller decides whether to try again
        }
    }

    /** The object's ETag if it holds exactly the {@code length} bytes of {@code data} from {@code offset}. */
    private static Optional<String> holds(ObjectStore self, String key, byte[] data, int offset, int length,
                                          boolean md5Etags) {
        return self.head(key).flatMap(now -> holds(self, now, data, offset, length, md5Etags));
    }

    /** {@link #holds} of an object whose metadata was just read. */
    private static Optional<String> holds(ObjectStore self, ObjectInfo now, byte[] data, int offset, int length,
                                          boolean md5Etags) {
        if (md5Etags) {
            return Optional.ofNullable(S3Errors.etag(now.etag())).filter(e -> e.equals(Keys.etagOf(data, offset, length)));
        }
        return readBack(self, now, data, offset, length);
    }

    /**
     * Reads the object back to compare it with ours, unless its size already says it is not
     * ours: an object of any size may stand at the key (helper-112: with SSE-KMS a 3 GiB object in
     * a chunk's place was read whole by a save's create-only write, out of memory).
     */
    private static Optional<String> readBack(ObjectStore self, ObjectInfo now, byte[] data, int offset, int length) {
        if (now.size() != length) {
            return Optional.empty();
        }
        String key = now.key();
        try {
            var current = self.get(key);
            return Arrays.equals(current.data(), 0, current.data().length, data, offset, offset + length)
                    ? Optional.of(current.etag()) : Optional.empty();
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }
}

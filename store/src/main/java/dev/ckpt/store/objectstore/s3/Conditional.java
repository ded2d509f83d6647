package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.objectstore.Keys;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;

import java.util.Arrays;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Settles conditional writes over HTTP, where a response can be lost after the server
 * stored the request, and the client (the SDK) retries: the retry then meets its own
 * write and gets 412. After a 412 or an I/O failure we look at the object: if it holds
 * exactly our bytes, our write landed. For ROOT this is exact (every ROOT is unique: its
 * transaction id); for chunks, identical bytes are the same chunk whoever wrote them.
 * ETags are compared with the MD5 of our bytes where the server's ETag is that MD5
 * (no SSE-KMS, single-part); otherwise the content is read back.
 */
final class Conditional {
    private static final int ATTEMPTS = 3;
    private static final int CONFLICT_ATTEMPTS = 5;

    private Conditional() {
    }

    /**
     * Thrown by a backend's attempt when the server answers 409 ConditionalRequestConflict
     * (a concurrent conditional write on the key): the attempt is repeated after a pause;
     * after the last one, {@code ifLast} (the backend's mapped error) is thrown.
     */
    static final class Conflict extends RuntimeException {
        private final RuntimeException ifLast;

        Conflict(RuntimeException ifLast) {
            super(null, null, false, false);
            this.ifLast = ifLast;
        }
    }

    private static <T> T repeatingConflicts(Supplier<T> attempt) {
        for (int i = 1; ; i++) {
            try {
                return attempt.get();
            } catch (Conflict c) {
                if (i >= CONFLICT_ATTEMPTS) {
                    throw c.ifLast;
                }
                Backoff.pause(i);
            }
        }
    }

    /** @param attempt performs the create-only PUT: true = created, false = 412; throws StoreUnavailable on I/O failure, Conflict on 409 */
    static PutResult putIfAbsent(ObjectStore self, String key, byte[] data, int length, boolean md5Etags,
                                 BooleanSupplier attempt) {
        java.util.Objects.checkFromIndexSize(0, length, data.length);
        StoreUnavailableException last = null;
        for (int i = 0; i < ATTEMPTS; i++) {
            try {
                if (repeatingConflicts(attempt::getAsBoolean)) {
                    return PutResult.CREATED;
                }
                return holds(self, key, data, length, md5Etags).isPresent() ? PutResult.CREATED : PutResult.ALREADY_EXISTS;
            } catch (StoreUnavailableException e) {
                last = e;
                Optional<ObjectInfo> now = self.head(key);
                if (now.isPresent()) {
                    return holds(self, key, data, length, md5Etags).isPresent() ? PutResult.CREATED : PutResult.ALREADY_EXISTS;
                }
                // absent: the request did not land (an in-flight one would be refused: its condition
                // is If-None-Match and we are about to create the object); try again
            }
        }
        throw last;
    }

    /**
     * The {@link IfMatchForm} a server honours, learnt on the first conditional replace that
     * succeeds (one per backend instance). Until then {@link #putIfMatch} sends the quoted
     * form and, when the server refuses it although the object's current ETag is the one
     * expected, the bare form once.
     */
    static final class Forms {
        private volatile IfMatchForm known;

        Optional<IfMatchForm> known() {
            return Optional.ofNullable(known);
        }

        IfMatchForm first() {
            IfMatchForm k = known;
            return k == null ? IfMatchForm.QUOTED : k;
        }

        void learnt(IfMatchForm form) {
            if (known == null) {
                known = form;
            }
        }
    }

    /**
     * @param attempt performs the PUT with the given {@code If-Match} header value: returns the new ETag, throws
     *                PreconditionFailed, StoreUnavailable or Conflict
     */
    static String putIfMatch(ObjectStore self, String key, byte[] data, String expectedEtag, boolean md5Etags,
                             Forms forms, Function<String, String> attempt) {
        IfMatchForm form = forms.first();
        try {
            String etag = putIfMatch(self, key, data, expectedEtag, md5Etags, () -> attempt.apply(form.header(expectedEtag)));
            forms.learnt(form);
            return etag;
        } catch (PreconditionFailedException refused) {
            if (forms.known().isPresent() || !currentEtagIs(self, key, expectedEtag)) {
                throw refused; // the form is settled, or the condition really was false
            }
            // the object's ETag is the one we sent, yet the server refused: it does not read this form
            IfMatchForm other = form.other();
            String etag = putIfMatch(self, key, data, expectedEtag, md5Etags, () -> attempt.apply(other.header(expectedEtag)));
            forms.learnt(other);
            return etag;
        }
    }

    private static boolean currentEtagIs(ObjectStore self, String key, String expectedEtag) {
        return self.head(key).map(i -> S3Errors.etag(i.etag())).filter(e -> e.equals(S3Errors.etag(expectedEtag))).isPresent();
    }

    private static String putIfMatch(ObjectStore self, String key, byte[] data, String expectedEtag, boolean md5Etags,
                                     Supplier<String> attempt) {
        StoreUnavailableException last = null;
        for (int i = 0; i < ATTEMPTS; i++) {
            try {
                return repeatingConflicts(attempt);
            } catch (PreconditionFailedException e) {
                Optional<String> mine = holds(self, key, data, data.length, md5Etags);
                if (mine.isPresent()) {
                    return mine.get(); // a retried request met our own earlier write
                }
                throw e;
            } catch (StoreUnavailableException e) {
                last = e;
                Optional<ObjectInfo> now = self.head(key);
                if (now.isEmpty()) {
                    throw new PreconditionFailedException(key, expectedEtag, null);
                }
                Optional<String> mine = holds(self, key, data, data.length, md5Etags);
                if (mine.isPresent()) {
                    return mine.get();
                }
                if (!S3Errors.etag(now.get().etag()).equals(S3Errors.etag(expectedEtag))) {
                    // someone else's write replaced the version ours was conditional on: ours can no longer land
                    throw new PreconditionFailedException(key, expectedEtag, now.get().etag());
                }
                // unchanged: our request did not land; try again
            }
        }
        throw last;
    }

    /** The object's ETag if it holds exactly the first {@code length} bytes of {@code data}. */
    private static Optional<String> holds(ObjectStore self, String key, byte[] data, int length, boolean md5Etags) {
        if (md5Etags) {
            return self.head(key).map(ObjectInfo::etag).map(S3Errors::etag).filter(e -> e.equals(Keys.etagOf(data, length)));
        }
        try {
            var current = self.get(key);
            return Arrays.equals(current.data(), 0, current.data().length, data, 0, length)
                    ? Optional.of(current.etag()) : Optional.empty();
        } catch (dev.ckpt.store.error.NotFoundException e) {
            return Optional.empty();
        }
    }

}

package dev.ckpt.store.commit;

import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.RootState;

import java.time.Instant;
import java.util.Set;

/**
 * What a ROOT transition decided, as a value: a pure function of (current ROOT, request,
 * now) returns one of these, and {@link RootStore#update(java.util.function.Function,
 * Instant)} writes only a {@link Write}. The other outcomes leave ROOT as it is and go
 * back to the caller, which acts on them (waits, re-uploads, reports) and may ask again.
 * {@code docs/design.md} ("ROOT transitions") tabulates which transition returns which.
 *
 * @param <T> what the transition reports to its caller (an epoch, the ids dropped, ...)
 */
public sealed interface Outcome<T> permits Outcome.Write, Outcome.Unchanged, Outcome.WaitUntil,
        Outcome.NeedObjects, Outcome.Refused {

    /** Replace ROOT with {@code next}. After the write, {@code next} is the state as stored (stamped). */
    record Write<T>(RootState next, T value) implements Outcome<T> {
    }

    /** Nothing to change: the request already holds (e.g. the checkpoint is committed). */
    record Unchanged<T>(T value) implements Outcome<T> {
    }

    /**
     * Not now: a live GC sweep ({@code gc}) is deleting {@code blocking} objects the request needs;
     * ask again, at the latest at {@code until} (when its lease expires and it may be taken over).
     */
    record WaitUntil<T>(Instant until, GcState gc, int blocking) implements Outcome<T> {
    }

    /**
     * Not yet: these objects must be (re-)created first — chunks or a manifest a finished GC
     * generation deleted, or manifests a GC has not read yet. Ask again with {@code watermark}
     * once they are (null when the request has no watermark).
     */
    record NeedObjects<T>(Set<String> keys, Watermark watermark) implements Outcome<T> {
        public NeedObjects {
            keys = Set.copyOf(keys);
        }
    }

    /** Never, as asked: {@code reason} says why (fenced, not found, lost lease, another GC). */
    record Refused<T>(CkptException reason) implements Outcome<T> {
    }

    /**
     * What a commit has accounted for of the GC's work (the re-upload watermark): every
     * generation up to {@code finishedThrough} had finished when the objects it deleted were
     * re-uploaded, so it cannot delete them again; {@code expiredSweep} is the lease of an
     * abandoned sweep whose dead list was re-uploaded. It is the lease, not the generation,
     * that is remembered: the same generation can be taken over by another GC, or renewed by
     * its own GC waking up, and delete again after the re-upload; both change the owner or the
     * expiry, and the dead list is then re-uploaded again before the commit (see
     * GcLeaseWaitTest#aSweepTakenOverAfterTheReuploadIsReuploadedAgain).
     */
    record Watermark(long finishedThrough, SweepLease expiredSweep) {
        /** A save that began at GC generation {@code startGeneration}: generations before it deleted nothing it needs. */
        public static Watermark at(long startGeneration) {
            return new Watermark(startGeneration - 1, null);
        }
    }

    /** One holding of a sweep's lease: a takeover or a renewal makes another. */
    record SweepLease(long generation, String owner, Instant leaseExpiry) {
        static SweepLease of(GcState gc) {
            return new SweepLease(gc.generation(), gc.owner(), gc.leaseExpiry());
        }
    }

    /** The value of a {@link Write} or {@link Unchanged}; otherwise the refusal is thrown. */
    default T value() {
        if (this instanceof Write<T> w) {
            return w.value();
        }
        if (this instanceof Unchanged<T> u) {
            return u.value();
        }
        if (this instanceof Refused<T> r) {
            throw r.reason();
        }
        throw new IllegalStateException("outcome " + this + " has no value: the caller must handle it");
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.util.Sleeper;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.CommitStateUnknownException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.objectstore.StoredObject;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;

/**
 * The transactional ROOT object: read the latest state with its ETag, apply a pure
 * function, write the result with {@code If-Match}. This layer knows nothing about what
 * the state means; {@code f} re-checks its own preconditions on every attempt.
 *
 * <p>Outcomes of {@link #update}: the new state is returned once written; a conflict
 * (412) re-reads and re-applies {@code f} with bounded, jittered backoff and finally
 * throws {@link CommitConflictException} (nothing was written, retrying is safe); a
 * write whose outcome is unknown (I/O error, timeout, lost response) is settled by
 * reading ROOT back and looking for this update's transaction id, which stays the same
 * across attempts and is kept in {@code recentTxns}. If that cannot be settled,
 * {@link CommitStateUnknownException} is thrown and nothing is cleaned up.
 */
public final class RootStore {
    /** A ROOT state together with the ETag it was read at (null when ROOT does not exist yet). */
    public record Versioned(RootState state, String etag) {
    }

    private final ObjectStore store;
    private final Sleeper sleeper;
    private final int maxAttempts;

    public RootStore(ObjectStore store, Sleeper sleeper, int maxAttempts) {
        this.store = store;
        this.sleeper = sleeper;
        this.maxAttempts = maxAttempts;
    }

    public RootStore(ObjectStore store) {
        this(store, Sleeper.REAL, 60);
    }

    public ObjectStore objectStore() {
        return store;
    }

    /**
     * Reads ROOT; an empty state with a null ETag when the store has no ROOT yet.
     *
     * @throws CorruptObjectException when ROOT is damaged, or missing from a store that holds
     *         manifests (ROOT was deleted or lost: treating the store as new would hide every
     *         committed checkpoint, and a GC would then delete them); the message points to
     *         {@code ckpt-tool recover}. Costs the first page of a LIST of {@code manifests/}, only when ROOT is absent.
     */
    public Versioned read() {
        StoredObject o;
        try {
            o = store.get(RootState.KEY);
        } catch (NotFoundException e) {
            if (!store.list("manifests/").isEmpty()) {
                throw new CorruptObjectException(RootState.KEY, "ROOT of " + store.describe() + " is missing, but the"
                        + " store holds manifests under manifests/ (ROOT was deleted or lost);"
                        + " nothing was changed: if no writer or GC is running, rebuild it from the manifests with"
                        + " ckpt-tool recover " + store.describe() + " (see the README, Operating a store)");
            }
            return new Versioned(RootState.empty(), null);
        }
        return new Versioned(Json.readRoot(RootState.KEY + " of " + store.describe(), o.data(), store.describe()), o.etag());
    }

    /**
     * Applies {@code f} to the latest ROOT and writes the result atomically. If {@code f}
     * returns its argument unchanged, nothing is written. Exceptions thrown by {@code f}
     * propagate unchanged (after nothing was written by this attempt).
     *
     * @return the state as written (or the unchanged state)
     */
    public RootState update(UnaryOperator<RootState> f) {
        String txn = RandomIds.hex(12);
        boolean sawUnavailable = false;
        RuntimeException lastFailure = null;
        for (int attempt = 0; attempt < maxAttempts; attempt++) {
            if (attempt > 0) {
                backoff(attempt);
            }
            Versioned current;
            try {
                current = read();
            } catch (StoreUnavailableException e) {
                lastFailure = e;
                if (attempt >= maxAttempts / 2 && !sawUnavailable) {
                    throw e; // nothing of ours was written: a plain "unavailable" is accurate
                }
                continue;
            }
            if (current.state().recentTxns().contains(txn)) {
                return current.state(); // an earlier attempt whose response was lost did land
            }
            RootState next = f.apply(current.state());
            if (next == current.state()) {
                return next;
            }
            RootState stamped = next.stamped(txn);
            byte[] bytes = Json.write(stamped);
            try {
                if (current.etag() == null) {
                    if (store.putIfAbsent(RootState.KEY, bytes, 0, bytes.length) == PutResult.CREATED) {
                        return stamped;
                    }
                    // someone else (or an earlier attempt of ours) created ROOT: re-read
                } else {
                    store.putIfMatch(RootState.KEY, bytes, current.etag());
                    return stamped;
                }
            } catch (PreconditionFailedException e) {
                // 412: changed under us. If a client retried internally, our own write may be the
                // change, so the next read always checks our transaction id.
                lastFailure = e;
            } catch (StoreUnavailableException e) {
                sawUnavailable = true;
                lastFailure = e;
            }
        }
        if (sawUnavailable) {
            // A write whose response was lost may still land while its ETag is current: look once more.
            try {
                Versioned last = read();
                if (last.state().recentTxns().contains(txn)) {
                    return last.state();
                }
            } catch (StoreUnavailableException e) {
                lastFailure = e;
            }
            throw new CommitStateUnknownException(RootState.KEY + " of " + store.describe(), txn, lastFailure);
        }
        if (lastFailure instanceof StoreUnavailableException e) {
            throw e; // only reads failed: nothing of ours was written
        }
        throw new CommitConflictException("ROOT of " + store.describe() + " changed on each of " + maxAttempts
                + " attempts (heavy contention); nothing was committed and retrying is safe");
    }

    private void backoff(int attempt) {
        long cap = Math.min(1000, 5L << Math.min(attempt, 8));
        try {
            sleeper.sleep(ThreadLocalRandom.current().nextLong(cap / 2, cap + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while waiting to retry a ROOT update", e);
        }
    }
}

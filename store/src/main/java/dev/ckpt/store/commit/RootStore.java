package dev.ckpt.store.commit;

import dev.ckpt.store.commit.Outcome.Unchanged;
import dev.ckpt.store.commit.Outcome.Write;
import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.CommitStateUnknownException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.DeadlineExceededException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.objectstore.CallerDeadline;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.objectstore.StoredObject;
import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.util.RetryPolicy;
import dev.ckpt.store.util.Sleeper;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The transactional ROOT object: read the latest state with its ETag, apply a pure
 * transition ({@link Transitions}), write a {@link Write} with {@code If-Match}. This is the
 * only code that writes ROOT (recovery's rebuilt ROOT too: {@link #replaceUnreadable}); it knows nothing of what the state means beyond the transaction ids it stamps, and
 * the transition re-checks its own preconditions on every attempt.
 *
 * <p>Outcomes of {@link #update}: a {@link Write} is returned once written, with the state as
 * stored; any other outcome is returned at once, nothing written. A conflict (412) re-reads
 * and re-applies the transition, paced and bounded by the {@link RetryPolicy} and the
 * caller's deadline — the store's one retry loop — and finally throws
 * {@link CommitConflictException} (nothing was written, retrying is safe). A write whose
 * outcome is unknown (I/O error, timeout, lost response) is settled by reading ROOT back and
 * looking for this update's transaction id, which stays the same across attempts and is kept
 * in {@code recentTxns}. If that cannot be settled, {@link CommitStateUnknownException} is
 * thrown and nothing is cleaned up. Over a {@link dev.ckpt.store.objectstore.DeadlineObjectStore}
 * (a save's commit), a request abandoned at the caller's deadline ends the update: with no write
 * of this update sent, that {@link DeadlineExceededException} (nothing was written); with one
 * sent, or abandoned in flight, {@link CommitStateUnknownException}, as for a lost response.
 */
public final class RootStore {
    /** A ROOT state together with the ETag it was read at (null when ROOT does not exist yet). */
    public record Versioned(RootState state, String etag) {
    }

    private final ObjectStore store;
    private final Clock clock;
    private final Sleeper sleeper;
    private final RetryPolicy policy;
    /** Whether a store that holds nothing of a store's is refused ({@link #existingOnly()}). */
    private final boolean existingOnly;

    public RootStore(ObjectStore store, Clock clock, Sleeper sleeper, RetryPolicy policy) {
        this(store, clock, sleeper, policy, false);
    }

    private RootStore(ObjectStore store, Clock clock, Sleeper sleeper, RetryPolicy policy, boolean existingOnly) {
        this.store = store;
        this.clock = clock;
        this.sleeper = sleeper;
        this.policy = policy;
        this.existingOnly = existingOnly;
    }

    /**
     * These transactions for a command that reads or changes an existing store only (ls, show,
     * restore, verify, gc ...): {@link #read} refuses a location with no ROOT, no manifests/ and
     * no chunks/ (a mistyped path or prefix, a training's staging directory) instead of reading it
     * as an empty store, which would list nothing and exit 0 (a new-user tryout's case: {@code ls}
     * of a staging directory said "no checkpoints"). Costs nothing where ROOT exists; one LIST of
     * chunks/ where it does not. Saves, init and import create a store and do not use this.
     */
    public RootStore existingOnly() {
        return existingOnly ? this : new RootStore(store, clock, sleeper, policy, true);
    }

    /** With the system clock and {@link RetryPolicy#ROOT} limited to {@code maxAttempts}. */
    public RootStore(ObjectStore store, Sleeper sleeper, int maxAttempts) {
        this(store, Clock.systemUTC(), sleeper, RetryPolicy.ROOT.withMaxAttempts(maxAttempts));
    }

    public RetryPolicy policy() {
        return policy;
    }

    public RootStore(ObjectStore store) {
        this(store, Clock.systemUTC(), Sleeper.REAL, RetryPolicy.ROOT);
    }

    /**
     * These transactions over {@code view}, another view of the same store (a save's
     * {@link dev.ckpt.store.objectstore.DeadlineObjectStore}), with the same clock, sleeper and policy.
     */
    public RootStore over(ObjectStore view) {
        return view == store ? this : new RootStore(view, clock, sleeper, policy, existingOnly);
    }

    public ObjectStore objectStore() {
        return store;
    }

    /**
     * Reads ROOT; an empty state with a null ETag when the store has no ROOT yet.
     *
     * @throws BadConfigurationException for {@link #existingOnly()} transactions, when the store
     *         holds no ROOT, no manifests/ and no chunks/ (a store a save began but never committed
     *         to holds chunks, and reads as empty)
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
            if (e.inItsPlace() != null) { // not lost, nor a new store: a local store's directory or FIFO stands there
                throw StoreUnavailableException.needingAction("cannot read " + RootState.KEY + " of " + store.describe()
                        + ": " + e.inItsPlace() + "; nothing was changed", e);
            }
            if (!store.list("manifests/").isEmpty()) {
                throw new CorruptObjectException(RootState.KEY, "ROOT of " + store.describe() + " is missing, but the"
                        + " store holds manifests under manifests/ (ROOT was deleted or lost);"
                        + " nothing was changed: if no writer or GC is running, rebuild it from the manifests with"
                        + " ckpt-tool recover " + dev.ckpt.store.util.ShellWords.word(store.describe()) + " (see the README, Operating a store)");
            }
            if (existingOnly && store.list("chunks/").isEmpty()) {
                throw noStore(store);
            }
            return new Versioned(RootState.empty(), null);
        }
        return new Versioned(Json.readRoot(RootState.KEY + " of " + store.describe(), o.data(), store.describe()), o.etag());
    }

    /** The refusal of a location that holds no ROOT, manifests/ or chunks/ ({@link #existingOnly()}), naming it. */
    public static BadConfigurationException noStore(ObjectStore store) {
        return new BadConfigurationException("no ckpt store at " + store.describe() + ": it holds no " + RootState.KEY
                + ", manifests/ or chunks/" + leftoversOnly(store) + "; check the " + (store.describe().startsWith("s3://")
                ? "bucket and prefix" : "path") + " (ckpt-tool init, push and import make a store)");
    }

    /**
     * What a location that holds no store holds, when it is only what an interrupted ckpt-tool
     * left, and how to be rid of it; else empty. The probe's scratch objects (a push or doctor
     * stopped at its first write: init, then gc removes them), or, in a directory that lists no
     * object at all, the staging directory of an import killed as it unpacked into a new store
     * (helper-94: 100 MB that no command could clean or name), or of an export killed as it
     * wrote its archive into that directory (helper-95). On this error's path only: one
     * LIST of up to 1,000 keys, and in a directory a listing of its top.
     */
    private static String leftoversOnly(ObjectStore store) {
        List<String> keys;
        try (java.util.stream.Stream<dev.ckpt.store.objectstore.ObjectInfo> s = store.list("").stream()) {
            keys = s.limit(1000).map(dev.ckpt.store.objectstore.ObjectInfo::key).toList();
        } catch (RuntimeException e) {
            return "";
        }
        if (!keys.isEmpty() && keys.stream().allMatch(dev.ckpt.store.objectstore.ConditionalWriteProbe::isScratchKey)) {
            return " (only " + dev.ckpt.store.objectstore.ConditionalWriteProbe.PREFIX + ", the scratch objects of an"
                    + " interrupted check of conditional writes: ckpt-tool init " + dev.ckpt.store.util.ShellWords.word(store.describe())
                    + " makes a store here, and gc then removes them once an hour old)";
        }
        java.util.Optional<java.nio.file.Path> dir = dev.ckpt.store.objectstore.ObjectStores.localDirectory(store);
        if (!keys.isEmpty() || dir.isEmpty()) {
            return "";
        }
        try (java.util.stream.Stream<java.nio.file.Path> top = java.nio.file.Files.list(dir.get())) {
            // directories only (a user's file or link of such a name is no import's), each named as what it is (helper-96)
            List<java.nio.file.Path> staging = top.filter(p -> dev.ckpt.store.util.TempNames.isStaging(
                    p.getFileName().toString()) && java.nio.file.Files.isDirectory(p,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList();
            if (staging.isEmpty()) {
                return "";
            }
            java.nio.file.Path first = staging.get(0);
            boolean export = dev.ckpt.store.util.TempNames.matches(first.getFileName().toString(),
                    dev.ckpt.store.util.TempNames.EXPORT_STAGING);
            boolean young = java.nio.file.Files.getLastModifiedTime(first, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    .toInstant().isAfter(java.time.Instant.now().minus(java.time.Duration.ofHours(1)));
            String what = export ? "the directory of an export writing its archive here" : "the directory of an import"
                    + " making a store here";
            return " (only " + first + (staging.size() > 1 ? " and " + (staging.size() - 1) + " more import or export director"
                    + (staging.size() == 2 ? "y" : "ies") : "")
                    + ", " + what + (young ? ", written in the last hour: it may be running now; if none is, delete it"
                    : ", killed over an hour ago: delete it") + ", rm -r " + dev.ckpt.store.util.ShellWords.word(first.toString())
                    + ")";
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }

    /**
     * {@link #update(Function, Instant)} of a plain state change, for tests and tools that
     * edit ROOT directly: unchanged when {@code f} returns its argument.
     */
    public RootState change(UnaryOperator<RootState> f) {
        Outcome<RootState> o = update(r -> {
            RootState next = f.apply(r);
            return next == r ? new Unchanged<>(r) : new Write<>(next, next);
        }, null);
        return o instanceof Write<RootState> w ? w.next() : ((Unchanged<RootState>) o).value();
    }

    /** {@link #update(Function, Instant)} without a caller's deadline. */
    public <T> Outcome<T> update(Function<RootState, Outcome<T>> transition) {
        return update(transition, null);
    }

    /**
     * Applies {@code transition} to the latest ROOT and writes its {@link Write} atomically.
     * Exceptions thrown by the transition propagate (after nothing was written by this attempt).
     *
     * @param deadline no retry starts after this instant (null = only the policy's bounds); the first
     *                 attempt always runs
     * @return the outcome; for a {@link Write}, {@code next()} is the state as stored
     */
    public <T> Outcome<T> update(Function<RootState, Outcome<T>> transition, Instant deadline) {
        String txn = RandomIds.hex(12);
        boolean[] sent = {false}; // a write of this update was sent: its fate is open until read back
        try {
            return update(transition, deadline, txn, sent);
        } catch (DeadlineExceededException e) {
            if (sent[0]) {
                throw CommitStateUnknownException.pastDeadline(RootState.KEY + " of " + store.describe(), txn, e);
            }
            throw e; // nothing of ours was sent: nothing was written
        }
    }

    private <T> Outcome<T> update(Function<RootState, Outcome<T>> transition, Instant deadline, String txn, boolean[] sent) {
        long pausedMs = 0; // the policy bounds the pauses' sum, the deadline the clock's time
        boolean sawUnavailable = false; // a write of ours failed as unavailable: it may land yet
        int unavailable = 0;
        Write<T> written = null; // the last write we sent, in case its response was lost
        RuntimeException lastFailure = null;
        StoreUnavailableException refused = null; // a write refused until someone acts (a full disk, a directory at ROOT)
        int attempts = 0;
        for (int attempt = 0; attempt < policy.maxAttempts(); attempt++) {
            if (attempt > 0) {
                long ms = policy.pauseMillis(attempt, ThreadLocalRandom.current());
                if (pausedMs + ms > policy.maxElapsed().toMillis()
                        || (deadline != null && clock.instant().plusMillis(ms).isAfter(deadline))) {
                    break;
                }
                pause(ms);
                pausedMs += ms;
            }
            attempts++;
            Versioned current;
            try {
                current = read();
            } catch (StoreUnavailableException e) {
                lastFailure = e;
                if (++unavailable >= policy.maxUnavailable()) {
                    if (!sawUnavailable) {
                        throw e; // nothing of ours was written: a plain "unavailable" is accurate
                    }
                    break;
                }
                continue;
            }
            if (written != null && current.state().recentTxns().contains(txn)) {
                return new Write<>(current.state(), written.value()); // an earlier attempt whose response was lost landed
            }
            Outcome<T> outcome = transition.apply(current.state());
            if (!(outcome instanceof Write<T> w)) {
                return outcome;
            }
            RootState stamped = w.next().stamped(txn);
            written = new Write<>(stamped, w.value());
            byte[] bytes = Json.write(stamped);
            try {
                if (current.etag() == null) {
                    if (store.putIfAbsent(RootState.KEY, bytes, 0, bytes.length) == PutResult.CREATED) {
                        return written;
                    }
                    // someone else (or an earlier attempt of ours) created ROOT: re-read
                } else {
                    String etag = current.etag();
                    CallerDeadline.within(deadline, () -> store.putIfMatch(RootState.KEY, bytes, etag));
                    return written;
                }
            } catch (DeadlineExceededException e) {
                sent[0] |= e.abandonedInFlight(); // else refused before it was sent, or a wait for a lock: not sent
                throw e;
            } catch (PreconditionFailedException e) {
                sent[0] = true;
                // 412: changed under us. If a client retried internally, our own write may be the
                // change, so the next read always checks our transaction id.
                lastFailure = e;
            } catch (StoreUnavailableException e) {
                lastFailure = e;
                if (e.needsAction()) {
                    refused = e; // not applied, and no retry succeeds before someone acts
                    break;
                }
                sawUnavailable = true;
                sent[0] = true;
                if (++unavailable >= policy.maxUnavailable()) {
                    break;
                }
            }
        }
        if (refused != null && !sawUnavailable) {
            // No write of ours is in doubt but an earlier 412, which may be our own write after a client retry:
            // look once; otherwise the refusal, with what to do, is the answer (not "commit state unknown").
            try {
                Versioned last = read();
                if (last.state().recentTxns().contains(txn)) {
                    return new Write<>(last.state(), written.value());
                }
            } catch (RuntimeException e) {
                // unreadable too: the refusal still says what to do first
            }
            throw refused;
        }
        if (!sawUnavailable && lastFailure instanceof StoreUnavailableException e) {
            throw e; // only reads failed: nothing of ours was written
        }
        boolean readBack = false; // ROOT read after the last write, and it does not show ours
        if (written != null) {
            // The last write's fate is open: a lost response may still land, and a 412 may be our own write landing
            // after a client retry (found in review). Only a read tells: look once more.
            try {
                Versioned last = read();
                if (last.state().recentTxns().contains(txn)) {
                    return new Write<>(last.state(), written.value());
                }
                readBack = true;
            } catch (StoreUnavailableException e) {
                throw new CommitStateUnknownException(RootState.KEY + " of " + store.describe(), txn, e);
            }
        }
        if (sawUnavailable) {
            throw readBack ? CommitStateUnknownException.notShownYet(RootState.KEY + " of " + store.describe(), txn, lastFailure)
                    : new CommitStateUnknownException(RootState.KEY + " of " + store.describe(), txn, lastFailure);
        }
        boolean outOfTime = attempts < policy.maxAttempts();
        throw new CommitConflictException("ROOT of " + store.describe() + " changed on each of " + attempts
                + " attempts" + (outOfTime ? " until the time allowed ran out" : "") + " (heavy contention);"
                + " nothing was committed and retrying is safe");
    }

    /**
     * The one write of ROOT that is not a transition: {@code ckpt-tool recover} replaces a ROOT
     * that cannot be read (so no transition can apply to it) with {@code rebuilt}, already
     * stamped. Conditional like every ROOT write: {@code If-Match} on the damaged ROOT's ETag,
     * or create-only when ROOT is missing ({@code damagedEtag} null). One attempt, no retry.
     *
     * @return true when written; false when ROOT changed meanwhile (someone else repaired it)
     */
    public boolean replaceUnreadable(String damagedEtag, RootState rebuilt) {
        byte[] bytes = Json.write(rebuilt);
        if (damagedEtag == null) {
            return store.putIfAbsent(RootState.KEY, bytes, 0, bytes.length) == PutResult.CREATED;
        }
        try {
            store.putIfMatch(RootState.KEY, bytes, damagedEtag);
            return true;
        } catch (PreconditionFailedException e) {
            return false;
        }
    }

    private void pause(long ms) {
        try {
            sleeper.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while waiting to retry a ROOT update", e);
        }
    }
}

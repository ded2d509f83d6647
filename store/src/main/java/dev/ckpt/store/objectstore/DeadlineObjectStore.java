package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.DeadlineExceededException;
import dev.ckpt.store.error.StoreUnavailableException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The object store as one save or restore sees it under its caller's deadline. Every request
 * runs on a thread of this wrapper while the caller's thread waits, at most until the
 * deadline; then the caller gets {@link DeadlineExceededException} naming the object whose
 * request was in flight longest and the time spent, and every request still in flight is
 * abandoned: it goes on (or is interrupted at its client's next retry) on its own thread,
 * and nothing of the operation waits for it. A request made after the deadline fails at
 * once. Transport stalls are the backends' business (the S3 clients' stall timeout aborts
 * and retries an attempt that makes no progress); this bounds the whole operation.
 *
 * <p>Without a deadline every call goes straight to the wrapped store, on the caller's thread.
 * {@link #close()} does not close the wrapped store. A listing is bounded page by page (each
 * {@code hasNext} that may fetch one): save and restore list nothing, but a read of ROOT that
 * finds none lists {@code manifests/} (helper-80: a hung listing held a claim for 151 s).
 *
 * <p>A store that waits by the caller's deadline itself ({@link CallerDeadline}: a local
 * store's wait for its lock) says better what held it, e.g. the process holding the lock: when
 * the deadline passes, its own {@link DeadlineExceededException} is taken if it comes within
 * {@link #OWN_VERDICT_GRACE_MS} (helper-80: the wrapper's "in flight without an answer" had
 * won the race and lost the lock holder's process id and the advice). A request answered
 * within that grace is taken as answered: a write that got its answer has landed, and calling
 * it abandoned would report a commit in doubt that is not.
 */
public final class DeadlineObjectStore extends ForwardingObjectStore {
    /** How long past the deadline a request may still end with its answer or its store's own deadline error: 150 ms. */
    static final long OWN_VERDICT_GRACE_MS = 150;

    private final String operation;
    private volatile String consequence;
    /** Said instead of {@link #consequence} when a write was among the requests abandoned (it may land yet). */
    private volatile String consequenceIfWriting;
    /** The caller's deadline, in force ({@link CallerDeadline}) on this wrapper's threads too. */
    private final Instant deadline;
    private final long startNanos = System.nanoTime();
    private final long deadlineNanos;
    private final Duration allowed;
    private final ThreadPoolExecutor threads;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Call> inFlight = new ConcurrentHashMap<>();
    /** The slowest request that finished: named when none is in flight at the deadline. */
    private final AtomicReference<Call> slowest = new AtomicReference<>();
    /** The first deadline error: every later one says the same, whatever the abandoned requests threw. */
    private final AtomicReference<DeadlineExceededException> verdict = new AtomicReference<>();

    /** One request; {@code waiting}: its store says it waits for a lock and has sent nothing ({@link CallerDeadline#waitingForLock}). */
    private record Call(String key, String action, long started, long ended, AtomicBoolean waiting) {
        long nanos(long now) {
            return (ended == 0 ? now : ended) - started;
        }
    }

    private DeadlineObjectStore(ObjectStore delegate, Instant deadline, Clock clock, String operation, String consequence,
                                String consequenceIfWriting) {
        super(delegate);
        this.operation = operation;
        this.consequence = consequence;
        this.consequenceIfWriting = consequenceIfWriting;
        this.deadline = deadline;
        if (deadline == null) {
            this.allowed = null;
            this.deadlineNanos = 0;
            this.threads = null;
        } else {
            // the caller's instant is on the configured clock; from here on, elapsed time decides
            this.allowed = Duration.between(clock.instant(), deadline);
            this.deadlineNanos = startNanos + Math.max(0, allowed.toNanos());
            AtomicInteger n = new AtomicInteger();
            this.threads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 5, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "ckpt-deadline-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
    }

    /**
     * {@code store} for one operation that must be over by {@code deadline} (on {@code clock};
     * null = no deadline, a plain pass-through).
     *
     * @param operation   what is bounded, for the message: "save of run r step 5"
     * @param consequence what the caller leaves behind, for the message: "nothing was committed"
     */
    public static DeadlineObjectStore of(ObjectStore store, Instant deadline, Clock clock, String operation,
                                         String consequence) {
        return new DeadlineObjectStore(store, deadline, clock, operation, consequence, consequence);
    }

    /**
     * {@link #of}, saying {@code consequenceIfWriting} instead of {@code consequence} when a write
     * was in flight at the deadline: an abandoned write is not cancelled at the server and may
     * still land (for a claim of ROOT: "the claim may still land").
     */
    public static DeadlineObjectStore of(ObjectStore store, Instant deadline, Clock clock, String operation,
                                         String consequence, String consequenceIfWriting) {
        return new DeadlineObjectStore(store, deadline, clock, operation, consequence, consequenceIfWriting);
    }

    /**
     * From now on, what the caller is left with if the deadline passes (for the message): a
     * rank whose part is written leaves a step that rank 0 may still commit, not "nothing".
     */
    public void nowLeaves(String consequence) {
        this.consequence = consequence;
        this.consequenceIfWriting = consequence;
    }

    /** Whether there is a deadline. */
    public boolean bounded() {
        return threads != null;
    }

    /** Fails now if the deadline has passed (before a step that must not start late, e.g. a commit). */
    public void check(String next) {
        if (threads != null && System.nanoTime() - deadlineNanos >= 0) {
            throw exceeded(next, false);
        }
    }

    /**
     * Runs {@code op}, which makes requests on {@code key} through some other path (a manifest
     * loader, ROOT), under the deadline like a request of this store.
     */
    public <T> T call(String key, String action, Supplier<T> op) {
        if (threads == null) {
            return op.get();
        }
        check(action + " " + key);
        long id = ids.incrementAndGet();
        Call c = new Call(key, action, System.nanoTime(), 0, new AtomicBoolean());
        inFlight.put(id, c);
        Future<T> f;
        try {
            f = threads.submit(() -> {
                try {
                    // a wait inside the store (a local store's lock file) ends at the deadline too
                    return CallerDeadline.within(deadline, c.waiting(), op);
                } finally {
                    inFlight.remove(id);
                    Call done = new Call(key, action, c.started(), System.nanoTime(), c.waiting());
                    slowest.accumulateAndGet(done, (a, b) -> a == null || b.nanos(0) > a.nanos(0) ? b : a);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            inFlight.remove(id);
            throw exceeded(action + " " + key, false); // shut down: the deadline passed, nothing was sent
        }
        try {
            T result = f.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (verdict.get() != null) {
                // finished as the operation was abandoned: an interrupted client can end a download early
                // and call it done (the URL-connection client does), so nothing after the verdict counts
                throw exceeded(action + " " + key, true);
            }
            return result;
        } catch (TimeoutException e) {
            Late<T> late = late(f);
            DeadlineExceededException own = late.failure() instanceof DeadlineExceededException d ? d : null;
            if (late.ended() && own == null && verdict.get() == null) {
                // answered within the grace: a write answered has landed, a read is whole, a 404 is a 404
                if (late.failure() != null) {
                    throw asThrown(late.failure());
                }
                return late.value();
            }
            if (own != null && verdict.compareAndSet(null, own)) {
                threads.shutdownNow();
                // a copy of the store's own, as every later call gets; the store's wait sent nothing
                throw exceeded(action + " " + key, own.abandonedInFlight());
            }
            // sent, unless its store said it was still waiting for a lock (its own error came too late)
            boolean sent = own != null ? own.abandonedInFlight() : !c.waiting().get();
            DeadlineExceededException x = exceeded(action + " " + key, sent);
            threads.shutdownNow(); // abandoned requests stop at their client's next retry
            throw x;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException(operation + " interrupted", e);
        } catch (ExecutionException e) {
            if (verdict.get() != null) {
                // abandoned and interrupted: a consequence, not the cause (and it may have been sent)
                throw exceeded(action + " " + key, !(e.getCause() instanceof DeadlineExceededException d)
                        || d.abandonedInFlight());
            }
            throw asThrown(e.getCause());
        }
    }

    /** What a request threw, to throw again: a RuntimeException as itself, an Error thrown here, anything else wrapped. */
    private static RuntimeException asThrown(Throwable cause) {
        if (cause instanceof Error err) {
            throw err;
        }
        return cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
    }

    /** How a request ended within the grace past the deadline: with its value or its failure, or not at all. */
    private record Late<T>(boolean ended, T value, Throwable failure) {
    }

    /**
     * Waits {@link #OWN_VERDICT_GRACE_MS} more for {@code f}: a request may end just past the
     * deadline with its answer (a failure such as a 404 included: CI saw a rank's read of a
     * refusal record answered 404 in the grace reported as abandoned in flight), or with its
     * store's own deadline error (a local store's wait for its lock, which names the holder).
     */
    private static <T> Late<T> late(Future<T> f) {
        try {
            return new Late<>(true, f.get(OWN_VERDICT_GRACE_MS, TimeUnit.MILLISECONDS), null);
        } catch (ExecutionException e) {
            return new Late<>(true, null, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | java.util.concurrent.CancellationException e) {
            // still in flight: the wrapper's verdict it is
        }
        return new Late<>(false, null, null);
    }

    /**
     * The error for a deadline that passed while {@code next} was asked for: names the longest
     * request; {@code inFlight} says whether {@code next} itself was sent and abandoned.
     */
    private DeadlineExceededException exceeded(String next, boolean inFlight) {
        DeadlineExceededException first = verdict.get();
        if (first == null) {
            verdict.compareAndSet(null, firstVerdict(next));
            first = verdict.get();
        }
        return new DeadlineExceededException(first.circumstances(), first.consequence(), first.key(), first.stuckFor(),
                first.spent(), inFlight);
    }

    private DeadlineExceededException firstVerdict(String next) {
        long now = System.nanoTime();
        List<Call> calls = List.copyOf(inFlight.values()); // one look: a request may end while this is said
        Call stuck = calls.stream().min(Comparator.comparingLong(Call::started)).orElse(null);
        Duration spent = Duration.ofNanos(now - startNanos);
        String limit = allowed.isNegative() || allowed.isZero()
                ? "its deadline (which had already passed when it started, " + seconds(allowed.negated()) + " before)"
                : "its deadline (" + seconds(allowed) + " after it started)";
        if (stuck != null) {
            Duration d = Duration.ofNanos(stuck.nanos(now));
            boolean writing = calls.stream().anyMatch(c -> c.action().endsWith("write") && !c.waiting().get());
            return new DeadlineExceededException(operation + " did not finish by " + limit + " and was abandoned after "
                    + seconds(spent) + ": the " + stuck.action() + " of " + stuck.key() + " in " + describe()
                    + (stuck.waiting().get() ? " had waited " + seconds(d) + " for its lock, which another process held"
                    + " (nothing of it was sent)" : " had been in flight for " + seconds(d) + " without an answer")
                    + " (" + calls.size() + " request(s) in flight)", writing ? consequenceIfWriting : consequence, stuck.key(), d, spent, true);
        }
        Call slow = slowest.get();
        String key = slow != null ? slow.key() : null;
        Duration d = slow != null ? Duration.ofNanos(slow.nanos(0)) : Duration.ZERO;
        return new DeadlineExceededException(operation + " did not finish by " + limit + " and was abandoned after "
                + seconds(spent) + " (at " + next + ")" + (slow == null ? "" : "; its slowest request was the "
                + slow.action() + " of " + slow.key() + " in " + describe() + ", " + seconds(d)), consequence,
                key, d, spent, false);
    }

    private static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    @Override
    public StoredObject get(String key) {
        return call(key, "read", () -> super.get(key));
    }

    /** Into the caller's buffer, which it drops if the read fails (see {@link ObjectStore#getInto}). */
    @Override
    public Optional<StoredBytes> getInto(String key, byte[] buffer) {
        return call(key, "read", () -> delegate().getInto(key, buffer));
    }

    @Override
    public Optional<ObjectInfo> head(String key) {
        return call(key, "stat", () -> super.head(key));
    }

    @Override
    public Optional<Long> sizeOf(String key) {
        return call(key, "stat", () -> super.sizeOf(key));
    }

    @Override
    public String put(String key, byte[] data) {
        return call(key, "write", () -> super.put(key, data));
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        return call(key, "write", () -> super.putIfAbsent(key, data, offset, length));
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        return call(key, "conditional write", () -> super.putIfMatch(key, data, expectedEtag));
    }

    @Override
    public ObjectListing list(String prefix) {
        if (threads == null) {
            return super.list(prefix);
        }
        ObjectListing listing = call(prefix, "listing", () -> super.list(prefix));
        return () -> {
            java.util.Iterator<ObjectInfo> it = call(prefix, "listing", listing::iterator);
            return new java.util.Iterator<>() {
                @Override
                public boolean hasNext() {
                    return call(prefix, "listing", it::hasNext); // may fetch the next page
                }

                @Override
                public ObjectInfo next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return it.next();
                }
            };
        };
    }

    @Override
    public void delete(String key) {
        call(key, "delete", () -> {
            super.delete(key);
            return null;
        });
    }

    /** Lets idle threads go; requests still in flight finish on their own. The wrapped store stays open. */
    @Override
    public void close() {
        if (threads != null) {
            threads.shutdown();
        }
    }
}

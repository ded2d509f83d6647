package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.StoreUnavailableException;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Wraps any store and injects faults, for crash and race tests that run as ordinary unit
 * tests: errors before a request reaches the store, "the write happened but the response
 * was lost", latency, and crash points before or after the N-th write. It also counts
 * operations and records written keys, so tests can assert how many PUTs a save made.
 *
 * <p>After a simulated crash every call throws {@link SimulatedCrash}: the "process" is
 * dead, and background threads of the crashed operation cannot write anything more.
 */
public final class FaultInjectingObjectStore implements ObjectStore {

    /** Operations that can be targeted. */
    public enum Op { GET, HEAD, PUT, PUT_IF_ABSENT, PUT_IF_MATCH, DELETE, LIST;

        boolean isWrite() {
            return this == PUT || this == PUT_IF_ABSENT || this == PUT_IF_MATCH || this == DELETE;
        }
    }

    /** What happens to a targeted operation. */
    public enum Fault {
        /** Fail with StoreUnavailableException without touching the store. */
        ERROR_BEFORE,
        /** Perform the operation, then fail with StoreUnavailableException (response lost). */
        ERROR_AFTER,
        /** Crash the process before the operation. */
        CRASH_BEFORE,
        /** Perform the operation, then crash the process. */
        CRASH_AFTER
    }

    private record Rule(Predicate<Op> op, Predicate<String> key, Fault fault, AtomicInteger remaining) {
    }

    private final ObjectStore delegate;
    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    private final Map<Op, AtomicLong> counts = new EnumMap<>(Op.class);
    private final List<String> writtenKeys = new CopyOnWriteArrayList<>();
    private final AtomicLong writes = new AtomicLong();
    private volatile long crashAtWrite = -1;
    private volatile boolean crashAfter;
    private volatile boolean crashed;
    private volatile Random random;
    private volatile double errorProbability;
    private volatile long maxLatencyMillis;

    public FaultInjectingObjectStore(ObjectStore delegate) {
        this.delegate = delegate;
        for (Op op : Op.values()) {
            counts.put(op, new AtomicLong());
        }
    }

    public ObjectStore delegate() {
        return delegate;
    }

    /** The next {@code times} operations matching {@code op} and {@code key} get {@code fault}. */
    public FaultInjectingObjectStore inject(Op op, Predicate<String> key, Fault fault, int times) {
        rules.add(new Rule(o -> o == op, key, fault, new AtomicInteger(times)));
        return this;
    }

    /** Crash just before (or just after) the write with this 0-based index. */
    public FaultInjectingObjectStore crashAtWrite(long index, boolean after) {
        this.crashAfter = after;
        this.crashAtWrite = index;
        return this;
    }

    /**
     * Every operation fails with this probability, half of the failed writes after being
     * applied (response lost); each operation may also sleep up to {@code maxLatencyMillis}.
     */
    public FaultInjectingObjectStore randomFaults(long seed, double probability, long maxLatencyMillis) {
        this.random = new Random(seed);
        this.errorProbability = probability;
        this.maxLatencyMillis = maxLatencyMillis;
        return this;
    }

    /** Stops injecting faults; the store is usable again (also after a crash). */
    public FaultInjectingObjectStore heal() {
        rules.clear();
        crashAtWrite = -1;
        crashed = false;
        random = null;
        return this;
    }

    public boolean crashed() {
        return crashed;
    }

    public long count(Op op) {
        return counts.get(op).get();
    }

    /** Writes performed so far (including ones whose response was then lost). */
    public long writes() {
        return writes.get();
    }

    /** Keys of PUT, PUT_IF_ABSENT and PUT_IF_MATCH calls that reached the store, in order. */
    public List<String> writtenKeys() {
        return new ArrayList<>(writtenKeys);
    }

    public void resetCounts() {
        counts.values().forEach(c -> c.set(0));
        writtenKeys.clear();
    }

    private <T> T run(Op op, String key, Supplier<T> action) {
        if (crashed) {
            throw new SimulatedCrash("store already crashed; " + op + " " + key + " not performed");
        }
        counts.get(op).incrementAndGet();
        Fault fault = null;
        for (Rule r : rules) {
            if (r.op.test(op) && r.key.test(key) && r.remaining.getAndDecrement() > 0) {
                fault = r.fault;
                break;
            }
        }
        Random rnd = random;
        if (fault == null && rnd != null) {
            double p;
            long sleep;
            synchronized (rnd) {
                p = rnd.nextDouble();
                sleep = maxLatencyMillis > 0 ? rnd.nextLong(maxLatencyMillis + 1) : 0;
            }
            if (sleep > 0) {
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (p < errorProbability) {
                fault = op.isWrite() && p < errorProbability / 2 ? Fault.ERROR_AFTER : Fault.ERROR_BEFORE;
            }
        }
        if (op.isWrite()) {
            synchronized (this) {
                long index = writes.getAndIncrement();
                if (index == crashAtWrite) {
                    fault = crashAfter ? Fault.CRASH_AFTER : Fault.CRASH_BEFORE;
                }
                if (fault == Fault.CRASH_BEFORE) {
                    crashed = true;
                }
            }
        }
        if (fault == Fault.CRASH_BEFORE) {
            crashed = true;
            throw new SimulatedCrash("simulated crash before " + op + " " + key);
        }
        if (fault == Fault.ERROR_BEFORE) {
            throw new StoreUnavailableException("injected fault: " + op + " " + key + " failed before reaching the store");
        }
        T result = action.get();
        if (op == Op.PUT || op == Op.PUT_IF_ABSENT || op == Op.PUT_IF_MATCH) {
            writtenKeys.add(key);
        }
        if (fault == Fault.CRASH_AFTER) {
            crashed = true;
            throw new SimulatedCrash("simulated crash after " + op + " " + key);
        }
        if (fault == Fault.ERROR_AFTER) {
            throw new StoreUnavailableException("injected fault: " + op + " " + key + " applied but the response was lost");
        }
        return result;
    }

    @Override
    public StoredObject get(String key) {
        return run(Op.GET, key, () -> delegate.get(key));
    }

    @Override
    public Optional<ObjectInfo> head(String key) {
        return run(Op.HEAD, key, () -> delegate.head(key));
    }

    @Override
    public Optional<IfMatchForm> ifMatchForm() {
        return delegate.ifMatchForm();
    }

    @Override
    public String put(String key, byte[] data) {
        return run(Op.PUT, key, () -> delegate.put(key, data));
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        return run(Op.PUT_IF_ABSENT, key, () -> delegate.putIfAbsent(key, data, offset, length));
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        return run(Op.PUT_IF_MATCH, key, () -> delegate.putIfMatch(key, data, expectedEtag));
    }

    @Override
    public void delete(String key) {
        run(Op.DELETE, key, () -> {
            delegate.delete(key);
            return null;
        });
    }

    @Override
    /** A LIST operation (counted, faults injected) is the start of an iteration, as a real backend's first page request. */
    public ObjectListing list(String prefix) {
        return () -> run(Op.LIST, prefix, () -> delegate.list(prefix).iterator());
    }

    @Override
    public Leftovers removeLeftovers(java.time.Instant writtenBefore, boolean dryRun) {
        return delegate.removeLeftovers(writtenBefore, dryRun);
    }

    @Override
    public String describe() {
        return delegate.describe();
    }
}

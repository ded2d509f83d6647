package dev.ckpt.trainer;

import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Wraps a real object store: counts every write per key, optionally prints each write as
 * it starts ({@code [io] OP key}, so a test can kill the process in the middle of an
 * upload or a commit) and optionally makes writes slow (half the latency before the
 * write reaches the store, half after). A slow write that is interrupted fails as an
 * unavailable store would.
 */
final class TracingStore extends ForwardingObjectStore {
    private final Map<String, AtomicInteger> writes = new ConcurrentHashMap<>();
    private final List<String> order = new CopyOnWriteArrayList<>();
    private final PrintStream trace;
    private volatile long latencyMillis;
    private volatile Predicate<String> slowKeys = k -> true;

    TracingStore(ObjectStore delegate, PrintStream trace, long latencyMillis) {
        super(delegate);
        this.trace = trace;
        this.latencyMillis = latencyMillis;
    }

    TracingStore slow(long millis, Predicate<String> keys) {
        this.slowKeys = keys;
        this.latencyMillis = millis;
        return this;
    }

    int writesOf(String key) {
        AtomicInteger n = writes.get(key);
        return n == null ? 0 : n.get();
    }

    List<String> writtenKeys() {
        return List.copyOf(order);
    }

    private void before(String op, String key) {
        writes.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        order.add(key);
        if (trace != null) {
            trace.println("[io] " + op + " " + key);
            trace.flush();
        }
        pause(key);
    }

    private void pause(String key) {
        long ms = latencyMillis;
        if (ms > 0 && slowKeys.test(key)) {
            try {
                Thread.sleep(Math.max(1, ms / 2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreUnavailableException("interrupted while writing " + key);
            }
        }
    }

    @Override
    public String put(String key, byte[] data) {
        before("PUT", key);
        String r = super.put(key, data);
        pause(key);
        return r;
    }

    @Override
    public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
        before("PUT_IF_ABSENT", key);
        PutResult r = super.putIfAbsent(key, data, offset, length);
        pause(key);
        return r;
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        before("PUT_IF_MATCH", key);
        String r = super.putIfMatch(key, data, expectedEtag);
        pause(key);
        return r;
    }
}

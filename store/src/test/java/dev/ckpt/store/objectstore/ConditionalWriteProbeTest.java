package dev.ckpt.store.objectstore;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.ConditionalWritesUnsupportedException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConditionalWriteProbeTest {
    /** A server that accepts conditional headers and ignores them, as some S3-compatible servers do. */
    static final class IgnoresConditions extends ForwardingObjectStore {
        final boolean honourCreate;

        IgnoresConditions(boolean honourCreate) {
            super(MemoryStores.inMemory());
            this.honourCreate = honourCreate;
        }

        @Override
        public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
            if (honourCreate) {
                return super.putIfAbsent(key, data, offset, length);
            }
            put(key, java.util.Arrays.copyOfRange(data, offset, offset + length));
            return PutResult.CREATED;
        }

        @Override
        public String putIfMatch(String key, byte[] data, String expectedEtag) {
            return put(key, data);
        }

        @Override
        public String describe() {
            return "s3://naive/bucket/";
        }
    }

    @Test
    void honestStoresPassTheProbe() {
        ConditionalWriteProbe.Result r = ConditionalWriteProbe.run(MemoryStores.inMemory());
        assertTrue(r.ok(), r.problems().toString());
        assertTrue(r.createOnly() && r.staleIfMatchRefused() && r.currentIfMatchAccepted());
    }

    @Test
    void serverIgnoringIfNoneMatchIsRefusedBeforeAnythingIsCommitted() {
        IgnoresConditions naive = new IgnoresConditions(false);
        ConditionalWriteProbe.Result r = ConditionalWriteProbe.run(naive);
        assertFalse(r.ok());
        assertFalse(r.createOnly());
        try (CheckpointStore store = CheckpointStore.open(new ProbingObjectStore(naive), StoreConfig.defaults())) {
            ConditionalWritesUnsupportedException e = assertThrows(ConditionalWritesUnsupportedException.class, store::init);
            assertTrue(e.getMessage().contains("s3://naive/bucket/") && e.getMessage().contains("If-None-Match"), e.getMessage());
        }
        assertEquals(List.of(), naive.list("").stream().toList(), "no ROOT, and the probe cleaned up after itself");
    }

    @Test
    void serverIgnoringIfMatchIsRefused() {
        IgnoresConditions naive = new IgnoresConditions(true);
        ConditionalWriteProbe.Result r = ConditionalWriteProbe.run(naive);
        assertTrue(r.createOnly());
        assertFalse(r.staleIfMatchRefused());
        ProbingObjectStore probing = new ProbingObjectStore(naive);
        ConditionalWritesUnsupportedException e = assertThrows(ConditionalWritesUnsupportedException.class,
                () -> probing.putIfMatch("ROOT", new byte[]{1}, "x"));
        assertTrue(e.getMessage().contains("ignores If-Match"), e.getMessage());
    }

    @Test
    void aTransientFailureWhileProbingGivesNoVerdictAndTheNextWriteProbesAgain() {
        FaultInjectingObjectStore flaky = new FaultInjectingObjectStore(MemoryStores.inMemory());
        flaky.inject(FaultInjectingObjectStore.Op.PUT_IF_MATCH, k -> k.startsWith("probe/"),
                FaultInjectingObjectStore.Fault.ERROR_BEFORE, 1);
        ProbingObjectStore probing = new ProbingObjectStore(flaky);
        byte[] data = {1, 2, 3};
        dev.ckpt.store.error.StoreUnavailableException e = assertThrows(dev.ckpt.store.error.StoreUnavailableException.class,
                () -> probing.putIfAbsent("k", data, 0, 3));
        // said as the check the user did not ask for, not only as an unknown object under probe/
        assertTrue(e.getMessage().startsWith("before its first commit, ckpt checks that " + flaky.describe()
                + " honours conditional writes"), e.getMessage());
        assertTrue(flaky.head("k").isEmpty(), "nothing written");
        assertEquals(PutResult.CREATED, probing.putIfAbsent("k", data, 0, 3), "probed again, and the server honours conditions");
        assertTrue(probing.probe().ok());
    }

    @Test
    void credentialsThatMayNotWriteGiveNoVerdictButTheDeniedPermission() {
        java.util.concurrent.atomic.AtomicBoolean denied = new java.util.concurrent.atomic.AtomicBoolean(true);
        ProbingObjectStore probing = new ProbingObjectStore(new ForwardingObjectStore(MemoryStores.inMemory()) {
            @Override
            public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (denied.get()) {
                    throw new dev.ckpt.store.error.PermissionDeniedException("s3:PutObject",
                            "access denied: cannot create " + key, null);
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        });
        byte[] data = {1, 2, 3};
        var e = assertThrows(dev.ckpt.store.error.PermissionDeniedException.class, () -> probing.putIfAbsent("k", data, 0, 3),
                "a read-only role is told the permission, not that the server lacks conditional writes");
        assertEquals("s3:PutObject", e.permission());
        denied.set(false); // the permission granted
        assertEquals(PutResult.CREATED, probing.putIfAbsent("k", data, 0, 3), "probed again");
        assertTrue(probing.probe().ok());
    }

    /**
     * A store the probe cannot reach gives no verdict, whether its first read fails (credentials the
     * server rejects) or a later request does because the bucket went or the credentials expired
     * meanwhile (helper-72: "NOT honoured", exit 5, and the cached verdict dropped). A failure of a
     * conditional write while the store still answers a plain read stays a verdict.
     */
    @Test
    void aStoreThatStopsAnsweringDuringTheProbeGivesNoVerdict() {
        java.util.concurrent.atomic.AtomicInteger failFrom = new java.util.concurrent.atomic.AtomicInteger(0);
        java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
        ObjectStore unreachable = new ForwardingObjectStore(MemoryStores.inMemory()) {
            private void maybeFail() {
                if (requests.incrementAndGet() > failFrom.get()) {
                    throw new dev.ckpt.store.error.BadConfigurationException("cannot do it: bucket 'b' does not exist");
                }
            }

            @Override
            public StoredObject get(String key) {
                maybeFail();
                return super.get(key);
            }

            @Override
            public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                maybeFail();
                return super.putIfAbsent(key, data, offset, length);
            }
        };
        for (int from : new int[] {0, 1, 2}) { // the first read, the first create, the second create
            failFrom.set(from);
            requests.set(0);
            var e = assertThrows(dev.ckpt.store.error.BadConfigurationException.class,
                    () -> ConditionalWriteProbe.run(unreachable), "failing from request " + from);
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        }
        // a create refused while plain reads still work: a verdict about the server
        ObjectStore refusesCreates = new ForwardingObjectStore(MemoryStores.inMemory()) {
            @Override
            public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                throw new dev.ckpt.store.error.BadConfigurationException("the server rejected the request — NotImplemented"
                        + " (HTTP 501); it may not support this S3 feature");
            }
        };
        ConditionalWriteProbe.Result r = ConditionalWriteProbe.run(refusesCreates);
        assertFalse(r.ok());
        assertTrue(r.problems().get(0).contains("NotImplemented"), r.problems().toString());
    }
}

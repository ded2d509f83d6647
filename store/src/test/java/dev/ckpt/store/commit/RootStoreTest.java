package dev.ckpt.store.commit;

import dev.ckpt.store.objectstore.MemoryStores;
import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.CommitStateUnknownException;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore.Fault;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore.Op;
import dev.ckpt.store.testing.FakeClock;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RootStoreTest {
    private final FaultInjectingObjectStore objects = new FaultInjectingObjectStore(MemoryStores.inMemory());
    private final RootStore root = new RootStore(objects, ms -> { }, 10);

    /** Increments run "r"'s writer epoch: a change whose double application would show. */
    private static final UnaryOperator<RootState> BUMP = r -> {
        Map<String, RunState> runs = new HashMap<>(r.runs());
        RunState old = runs.get("r");
        runs.put("r", new RunState((old == null ? 0 : old.writerEpoch()) + 1, "w", Instant.EPOCH));
        return r.withRuns(runs);
    };

    private long epoch() {
        return root.read().state().runs().get("r").writerEpoch();
    }

    @Test
    void firstUpdateCreatesRootAndLaterOnesReplaceIt() {
        root.change(BUMP);
        root.change(BUMP);
        assertEquals(2, epoch());
        assertEquals(2, root.read().state().version());
    }

    @Test
    void lostResponseIsSettledByTheTransactionIdAndAppliedOnce() {
        root.change(BUMP);
        objects.inject(Op.PUT_IF_MATCH, k -> true, Fault.ERROR_AFTER, 1);
        root.change(BUMP);
        assertEquals(2, epoch(), "the write landed once, even though its response was lost");
    }

    @Test
    void requestThatNeverArrivedIsRetried() {
        root.change(BUMP);
        objects.inject(Op.PUT_IF_MATCH, k -> true, Fault.ERROR_BEFORE, 2);
        root.change(BUMP);
        assertEquals(2, epoch());
    }

    @Test
    void lostResponseOnCreateIsSettledToo() {
        objects.inject(Op.PUT_IF_ABSENT, k -> true, Fault.ERROR_AFTER, 1);
        root.change(BUMP);
        assertEquals(1, epoch());
    }

    @Test
    void conflictReappliesTheFunctionOnTheNewState() {
        root.change(BUMP);
        AtomicInteger calls = new AtomicInteger();
        RootStore other = new RootStore(objects, ms -> { }, 10);
        root.change(r -> {
            if (calls.getAndIncrement() == 0) {
                other.change(BUMP); // someone else commits between our read and our write
            }
            return BUMP.apply(r);
        });
        assertEquals(2, calls.get());
        assertEquals(3, epoch(), "both increments survive: no lost update");
    }

    @Test
    void endlessContentionEndsInARetryableConflict() {
        root.change(BUMP);
        RootStore other = new RootStore(objects, ms -> { }, 10);
        CommitConflictException e = assertThrows(CommitConflictException.class, () -> root.change(r -> {
            other.change(BUMP);
            return BUMP.apply(r);
        }));
        assertTrue(e.isRetryable());
        assertEquals(11, epoch(), "only the other writer's 10 increments landed");
    }

    @Test
    void writeThatStaysUnknownIsReportedAsUnknownNotAsFailure() {
        root.change(BUMP);
        objects.inject(Op.PUT_IF_MATCH, k -> true, Fault.ERROR_BEFORE, 100);
        objects.inject(Op.GET, k -> true, Fault.ERROR_BEFORE, 0);
        CommitStateUnknownException e = assertThrows(CommitStateUnknownException.class, () -> root.change(BUMP));
        assertTrue(e.getMessage().contains("do not clean anything up"), e.getMessage());
        assertEquals(1, epoch());
    }

    @Test
    void unchangedStateWritesNothing() {
        root.change(BUMP);
        long writes = objects.writes();
        root.change(r -> r);
        assertEquals(writes, objects.writes());
    }

    @Test
    void noAttemptStartsAfterTheCallersDeadline() {
        FakeClock clock = new FakeClock();
        java.time.Instant deadline = clock.instant().plusSeconds(3);
        RootStore timed = new RootStore(objects, clock, ms -> clock.advance(java.time.Duration.ofMillis(ms)),
                dev.ckpt.store.util.RetryPolicy.ROOT);
        timed.change(BUMP);
        RootStore other = new RootStore(objects, ms -> { }, 10);
        java.util.List<java.time.Instant> attempts = new java.util.ArrayList<>();
        CommitConflictException e = assertThrows(CommitConflictException.class, () -> timed.update(r -> {
            attempts.add(clock.instant());
            other.change(BUMP); // every attempt meets a conflict
            return new Outcome.Write<>(BUMP.apply(r), null);
        }, deadline));
        assertTrue(e.isRetryable());
        assertTrue(attempts.size() > 3 && attempts.size() < dev.ckpt.store.util.RetryPolicy.ROOT.maxAttempts(),
                "retried until the deadline, not for all attempts: " + attempts.size());
        assertTrue(attempts.stream().noneMatch(t -> t.isAfter(deadline)), "an attempt started after the deadline");
        assertTrue(e.getMessage().contains("time allowed ran out"), e.getMessage());
    }
}

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

    /**
     * A write refused until someone acts (a directory where ROOT or its lock file should be, a
     * full disk) is not applied: the update says what to do, at once, not "commit state unknown,
     * do not clean anything up" after every retry (found by a break helper: exit 6 for exit 1).
     */
    @Test
    void aWriteRefusedUntilSomeoneActsIsReportedAsSuchAfterOneAttempt() {
        root.change(BUMP);
        AtomicInteger writes = new AtomicInteger();
        dev.ckpt.store.error.StoreUnavailableException refusal = dev.ckpt.store.error.StoreUnavailableException
                .needingAction("cannot replace ROOT: a directory is in its place; move it out", null);
        RootStore refusing = new RootStore(new dev.ckpt.store.objectstore.ForwardingObjectStore(objects) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                writes.incrementAndGet();
                throw refusal;
            }
        }, ms -> { }, 10);
        assertEquals(refusal, assertThrows(dev.ckpt.store.error.StoreUnavailableException.class,
                () -> refusing.change(BUMP)));
        assertEquals(1, writes.get(), "no retry: none succeeds before someone acts");
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

    /** A store whose conditional replace of ROOT lands and then answers 412, as an SDK's retry of a lost response does. */
    private static final class LandsThen412 extends dev.ckpt.store.objectstore.ForwardingObjectStore {
        final AtomicInteger left = new AtomicInteger();

        LandsThen412(dev.ckpt.store.objectstore.ObjectStore delegate) {
            super(delegate);
        }

        @Override
        public String putIfMatch(String key, byte[] data, String expectedEtag) {
            String etag = super.putIfMatch(key, data, expectedEtag);
            if (left.getAndDecrement() > 0) {
                throw new dev.ckpt.store.error.PreconditionFailedException(key, expectedEtag, etag);
            }
            return etag;
        }
    }

    @Test
    void aDeadlineRightAfterOurOwnLanded412StillReportsTheWrite() {
        LandsThen412 s = new LandsThen412(MemoryStores.inMemory());
        FakeClock clock = new FakeClock();
        RootStore timed = new RootStore(s, clock, ms -> clock.advance(java.time.Duration.ofMillis(ms)),
                dev.ckpt.store.util.RetryPolicy.ROOT);
        timed.change(BUMP);
        s.left.set(1);
        Outcome<String> o = timed.update(r -> new Outcome.Write<>(BUMP.apply(r), "mine"), clock.instant().plusMillis(5));
        Outcome.Write<String> w = org.junit.jupiter.api.Assertions.assertInstanceOf(Outcome.Write.class, o);
        assertEquals("mine", w.value());
        assertEquals(2, w.next().runs().get("r").writerEpoch());
        assertEquals(2, timed.read().state().runs().get("r").writerEpoch(), "applied once");
    }

    @Test
    void aStoreUnavailableForEveryReadIsGivenUpAfterThePolicysUnavailableAttempts() {
        root.change(BUMP);
        objects.resetCounts();
        objects.inject(Op.GET, k -> true, Fault.ERROR_BEFORE, 1000);
        assertThrows(dev.ckpt.store.error.StoreUnavailableException.class, () -> root.change(BUMP));
        assertEquals(dev.ckpt.store.util.RetryPolicy.ROOT.maxUnavailable(), objects.count(Op.GET));
        assertEquals(0, objects.count(Op.PUT_IF_MATCH), "nothing was written");
    }

    @Test
    void writesThatStayUnavailableEndAfterThePolicysUnavailableAttemptsAndOneLastRead() {
        root.change(BUMP);
        objects.resetCounts();
        objects.inject(Op.PUT_IF_MATCH, k -> true, Fault.ERROR_BEFORE, 1000);
        CommitStateUnknownException e = assertThrows(CommitStateUnknownException.class, () -> root.change(BUMP));
        // the last read worked and did not show the write: said so, with the write's failure (helper-123: "reading it
        // back failed", of a read that had not)
        assertTrue(e.getMessage().contains("ROOT read back afterwards does not show it") && !e.getMessage().contains(
                "reading it back failed") && e.getMessage().contains("do not clean anything up"), e.getMessage());
        assertTrue(e.getMessage().contains(") failed (") && e.getMessage().contains("injected"), e.getMessage());
        int n = dev.ckpt.store.util.RetryPolicy.ROOT.maxUnavailable();
        assertEquals(n, objects.count(Op.PUT_IF_MATCH));
        assertEquals(n + 1, objects.count(Op.GET), "a read per attempt and one last read");
    }

    @Test
    void aLostResponseSettledByTheLastReadReturnsTheTransitionsValue() {
        root.change(BUMP);
        // every write's response is lost, the first one landed: the next read sees our transaction
        objects.inject(Op.PUT_IF_MATCH, k -> true, Fault.ERROR_AFTER, 1);
        Outcome<String> o = root.update(r -> new Outcome.Write<>(BUMP.apply(r), "value"));
        assertEquals("value", o.value());
        assertEquals(2, epoch());
    }

    @Test
    void withoutADeadlineAFakeClockJumpingHoursDoesNotEndTheUpdate() {
        FakeClock clock = new FakeClock();
        RootStore r2 = new RootStore(objects, clock, ms -> clock.advance(java.time.Duration.ofHours(1)),
                dev.ckpt.store.util.RetryPolicy.ROOT);
        r2.change(BUMP);
        RootStore other = new RootStore(objects, ms -> { }, 10);
        AtomicInteger calls = new AtomicInteger();
        r2.change(r -> {
            if (calls.getAndIncrement() < 5) {
                other.change(BUMP); // five conflicts, hours apart by the clock
            }
            return BUMP.apply(r);
        });
        assertEquals(6, calls.get());
        assertEquals(7, epoch());
    }

    /**
     * A store whose {@code hung} requests of ROOT never answer (until the test ends); {@code conflicts} conditional
     * writes are first answered 412 as if another writer had changed ROOT.
     */
    private static final class Hanging extends dev.ckpt.store.objectstore.ForwardingObjectStore {
        final java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
        volatile java.util.function.Predicate<String> hung = action -> false;
        final AtomicInteger conflicts = new AtomicInteger();

        Hanging(dev.ckpt.store.objectstore.ObjectStore delegate) {
            super(delegate);
        }

        private void maybeHang(String action) {
            if (hung.test(action)) {
                try {
                    never.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new dev.ckpt.store.error.StoreUnavailableException("interrupted", e);
                }
            }
        }

        @Override
        public dev.ckpt.store.objectstore.StoredObject get(String key) {
            maybeHang("read");
            return super.get(key);
        }

        @Override
        public String putIfMatch(String key, byte[] data, String expectedEtag) {
            if (conflicts.getAndDecrement() > 0) {
                hung = action -> action.equals("read"); // the re-read after the 412 hangs
                throw new dev.ckpt.store.error.PreconditionFailedException(key, expectedEtag, "another");
            }
            maybeHang("write");
            return super.putIfMatch(key, data, expectedEtag);
        }
    }

    /** {@code update} of BUMP over {@code s} bounded by a deadline 300 ms away; ROOT must exist. */
    private static RuntimeException pastItsDeadline(Hanging s) {
        dev.ckpt.store.objectstore.DeadlineObjectStore d = dev.ckpt.store.objectstore.DeadlineObjectStore.of(s,
                Instant.now().plusMillis(300), java.time.Clock.systemUTC(), "save of run r step 1",
                "nothing was committed");
        try {
            RootStore bounded = new RootStore(s).over(d);
            return assertThrows(RuntimeException.class, () -> bounded.change(BUMP));
        } finally {
            d.close();
            s.never.countDown();
        }
    }

    /** helper-81: the commit's requests of ROOT are bounded by the save's deadline, each with what it leaves. */
    @Test
    void aDeadlineInAReadWithNoWriteSentIsTheDeadlinesErrorAndOnAWriteInDoubtTheCommitStateIsUnknown() {
        Hanging readHangs = new Hanging(MemoryStores.inMemory());
        new RootStore(readHangs).change(BUMP);
        readHangs.hung = "read"::equals;
        RuntimeException read = pastItsDeadline(readHangs);
        assertEquals(dev.ckpt.store.error.DeadlineExceededException.class, read.getClass(), read.toString());
        assertTrue(read.getMessage().contains("the read of ROOT") && read.getMessage().endsWith("; nothing was committed"),
                read.getMessage());

        Hanging writeHangs = new Hanging(MemoryStores.inMemory());
        new RootStore(writeHangs).change(BUMP);
        writeHangs.hung = "write"::equals;
        RuntimeException write = pastItsDeadline(writeHangs);
        CommitStateUnknownException u = org.junit.jupiter.api.Assertions.assertInstanceOf(
                CommitStateUnknownException.class, write);
        assertTrue(u.getMessage().startsWith("save of run r step 1 did not finish by its deadline")
                && u.getMessage().contains("the conditional write of ROOT") && u.getMessage().contains("transaction "
                + u.transactionId()) && u.getMessage().contains("may or may not be applied")
                && !u.getMessage().contains("nothing was committed"), u.getMessage());

        // a 412 may be our own write, landed after a client's retry: a re-read that hangs leaves it in doubt too
        Hanging conflicted = new Hanging(MemoryStores.inMemory());
        new RootStore(conflicted).change(BUMP);
        conflicted.conflicts.set(1);
        RuntimeException after412 = pastItsDeadline(conflicted);
        assertEquals(CommitStateUnknownException.class, after412.getClass(), after412.toString());
        assertTrue(after412.getMessage().contains("the read of ROOT"), after412.getMessage());
        assertEquals(1, new RootStore(conflicted).read().state().runs().get("r").writerEpoch(), "nothing was written");
    }

    /** A store's own deadline error for a wait that sent nothing (a local store's lock) is no write in doubt. */
    @Test
    void aStoresOwnDeadlineErrorForAWaitThatSentNothingIsNoWriteInDoubt() {
        Instant[] lockedUntil = {Instant.now()};
        dev.ckpt.store.objectstore.ObjectStore locked = new dev.ckpt.store.objectstore.ForwardingObjectStore(
                MemoryStores.inMemory()) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                while (Instant.now().isBefore(lockedUntil[0])) { // the lock's wait, until the caller's deadline
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                throw new dev.ckpt.store.error.DeadlineExceededException("cannot replace ROOT by its deadline: process 7"
                        + " held its lock file", "ROOT", java.time.Duration.ofMillis(300), java.time.Duration.ofMillis(300));
            }
        };
        new RootStore(locked).change(BUMP);
        lockedUntil[0] = Instant.now().plusMillis(300);
        dev.ckpt.store.objectstore.DeadlineObjectStore d = dev.ckpt.store.objectstore.DeadlineObjectStore.of(locked,
                lockedUntil[0], java.time.Clock.systemUTC(), "save of run r step 1", "nothing was committed");
        RuntimeException e = assertThrows(RuntimeException.class, () -> new RootStore(locked).over(d).change(BUMP));
        d.close();
        assertEquals(dev.ckpt.store.error.DeadlineExceededException.class, e.getClass(), e.toString());
        assertTrue(e.getMessage().contains("process 7 held its lock file"), e.getMessage());
    }
}

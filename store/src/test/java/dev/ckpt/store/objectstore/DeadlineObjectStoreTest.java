package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.DeadlineExceededException;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a request that ends around its caller's deadline is reported: whether it may have been
 * sent (a write in doubt) decides between "nothing was written" and "commit state unknown".
 */
class DeadlineObjectStoreTest {
    /** A store whose conditional write takes {@code ms}, as a lock wait ({@code locked}) or as a request on the wire. */
    private static ObjectStore slowWrite(long ms, boolean locked) {
        return new ForwardingObjectStore(MemoryStores.inMemory()) {
            @Override
            public String putIfMatch(String key, byte[] data, String expectedEtag) {
                CallerDeadline.waitingForLock(locked);
                try {
                    Thread.sleep(ms);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new dev.ckpt.store.error.StoreUnavailableException("interrupted");
                } finally {
                    CallerDeadline.waitingForLock(false);
                }
                return "etag";
            }
        };
    }

    private static DeadlineExceededException pastItsDeadline(ObjectStore s) {
        DeadlineObjectStore d = DeadlineObjectStore.of(s, Instant.now().plusMillis(200), Clock.systemUTC(), "save of run r"
                + " step 1", "nothing was committed");
        try {
            return assertThrows(DeadlineExceededException.class, () -> d.putIfMatch("ROOT", new byte[1], "e"));
        } finally {
            d.close();
        }
    }

    /**
     * A read into the caller's buffer passes it on to the store below, with a deadline or without
     * one (a restore reuses its buffers: docs/benchmarks.md, "Restore: reads into reused
     * buffers"), and is bounded by the deadline like any read.
     */
    @Test
    void aReadIntoABufferPassesTheBufferOnAndEndsAtTheDeadline() {
        ObjectStore below = new ForwardingObjectStore(MemoryStores.inMemory()) {
            @Override
            public java.util.Optional<StoredBytes> getInto(String key, byte[] buffer) {
                if (key.equals("slow")) {
                    try {
                        Thread.sleep(2000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                byte[] data = get(key).data();
                System.arraycopy(data, 0, buffer, 0, data.length);
                return java.util.Optional.of(new StoredBytes(buffer, data.length));
            }
        };
        below.put("k", new byte[] {1, 2, 3});
        below.put("slow", new byte[] {4});
        for (Instant deadline : new Instant[] {null, Instant.now().plusMillis(300)}) {
            DeadlineObjectStore d = DeadlineObjectStore.of(below, deadline, Clock.systemUTC(), "restore of x",
                    "nothing was written");
            try {
                byte[] buffer = new byte[8];
                StoredBytes got = d.getInto("k", buffer).orElseThrow();
                assertSame(buffer, got.array(), "deadline " + deadline);
                assertEquals(3, got.length());
                if (deadline != null) {
                    DeadlineExceededException e = assertThrows(DeadlineExceededException.class,
                            () -> d.getInto("slow", new byte[8]));
                    assertTrue(e.getMessage().contains("the read of slow"), e.getMessage());
                }
            } finally {
                d.close();
            }
        }
    }

    /**
     * helper-82: on a CPU-starved machine a local store's own error for a lock wait came after the grace, and the
     * wait read as a write in flight (exit 6, the holder not named). A store that says it waits for a lock has
     * sent nothing, whenever its own error comes.
     */
    @Test
    void aRequestStillWaitingForALockAtTheDeadlineWasNotSent() {
        DeadlineExceededException locked = pastItsDeadline(slowWrite(2000, true));
        assertFalse(locked.abandonedInFlight(), locked.getMessage());
        assertTrue(locked.getMessage().contains("the conditional write of ROOT in ") && locked.getMessage().contains(
                "had waited ") && locked.getMessage().contains("for its lock, which another process held (nothing of it"
                + " was sent)") && locked.getMessage().endsWith("; nothing was committed"), locked.getMessage());

        DeadlineExceededException onTheWire = pastItsDeadline(slowWrite(2000, false));
        assertTrue(onTheWire.abandonedInFlight(), onTheWire.getMessage());
        assertTrue(onTheWire.getMessage().contains("had been in flight for "), onTheWire.getMessage());
    }

    /** A write answered within the grace past the deadline has landed: it is answered, not abandoned in doubt. */
    @Test
    void aRequestAnsweredWithinTheGraceIsTakenAsAnswered() {
        DeadlineObjectStore d = DeadlineObjectStore.of(slowWrite(220, false), Instant.now().plusMillis(200),
                Clock.systemUTC(), "save of run r step 1", "nothing was committed");
        try {
            assertEquals("etag", d.putIfMatch("ROOT", new byte[1], "e"));
            // the deadline has passed: the next request is refused before it is sent
            DeadlineExceededException next = assertThrows(DeadlineExceededException.class, () -> d.get("ROOT"));
            assertFalse(next.abandonedInFlight(), next.getMessage());
        } finally {
            d.close();
        }
    }

    /**
     * A failure answered within the grace is an answer too: CI saw a rank's read of a refusal record, answered 404
     * just past the deadline, reported as a read abandoned in flight, and the rank's own message lost.
     */
    @Test
    void aFailureAnsweredWithinTheGraceIsThatFailure() {
        ObjectStore late404 = new ForwardingObjectStore(MemoryStores.inMemory()) {
            @Override
            public StoredObject get(String key) {
                try {
                    Thread.sleep(220);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new dev.ckpt.store.error.NotFoundException(key, key + " not found");
            }
        };
        DeadlineObjectStore d = DeadlineObjectStore.of(late404, Instant.now().plusMillis(200), Clock.systemUTC(),
                "save of run r step 1", "nothing was committed");
        try {
            assertThrows(dev.ckpt.store.error.NotFoundException.class, () -> d.get("manifests/x/refused.json"));
        } finally {
            d.close();
        }
    }
}

package dev.ckpt.store.gc;

import dev.ckpt.store.error.GcLeaseHeldException;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GC that failed and could not give its lease back (ROOT could not be written) leaves it
 * for up to 10 minutes; the next GC's refusal says when that lease's owner is a process of
 * this host that is gone, so the user knows nothing is at work and when the lease ends.
 */
class GcLeaseOwnerTest {
    private static final Instant EXPIRY = Instant.parse("2026-12-02T13:32:43Z");

    private static GcLeaseHeldException held(String owner) {
        return new GcLeaseHeldException("GC generation 1 (owner " + owner + ") is running", 1, owner, EXPIRY);
    }

    private static String host() {
        String self = dev.ckpt.store.commit.LeaseOwner.newOwner();
        return self.substring(self.indexOf('@') + 1, self.lastIndexOf(" pid "));
    }

    @Test
    void aLeaseOfAGoneProcessOfThisHostIsSaidToBeLeftBehind() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long gone = p.pid();
        GcLeaseHeldException e = GarbageCollector.withOwnerGone(held("0011223344556677@" + host() + " pid " + gone), "file:///s/");
        assertTrue(e.getMessage().startsWith("GC generation 1 (owner ") && e.getMessage().contains("still holds the GC lease of file:///s/, but no process "
                + gone + " runs on this host now") && !e.getMessage().contains("is running") && e.getMessage().contains("(" + EXPIRY + ")"), e.getMessage());
        assertEquals(EXPIRY, e.leaseExpiry());
        assertEquals(1, e.generation());
    }

    @Test
    void aLiveOwnerAnotherHostOrAnOddOwnerIsLeftAsItIs() {
        for (String owner : new String[]{"0011223344556677@" + host() + " pid " + ProcessHandle.current().pid(),
                "0011223344556677@another-host-" + host() + " pid 1999999999", "someone", "x@" + host() + " pid what"}) {
            GcLeaseHeldException e = held(owner);
            assertSame(e, GarbageCollector.withOwnerGone(e, "file:///s/"), owner);
        }
    }
}

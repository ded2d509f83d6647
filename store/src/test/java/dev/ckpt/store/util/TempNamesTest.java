package dev.ckpt.store.util;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TempNamesTest {
    /**
     * Temporary names from many threads are what matches recognises and distinct (48
     * random bits each: 20,000 names meet with a chance below one in a million), and not one
     * after another (a counter would be guessed).
     */
    @Test
    void temporaryNamesAreDistinctAcrossThreadsAndRecognised() throws Exception {
        Set<String> names = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                for (int i = 0; i < 5_000; i++) {
                    String n = TempNames.next(".tmp");
                    assertTrue(TempNames.matches(n, ".tmp"), n);
                    assertTrue(names.add(n), "twice: " + n);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        assertEquals(20_000, names.size());
        long a = Long.parseLong(TempNames.next("").substring(6), 16);
        long b = Long.parseLong(TempNames.next("").substring(6), 16);
        long c = Long.parseLong(TempNames.next("").substring(6), 16);
        assertTrue(b - a != 1 || c - b != 1, "names follow each other: " + a + ", " + b + ", " + c);
    }

    /** Only ckpt's own shape is recognised: a user's file that merely looks alike is not a temporary. */
    @Test
    void namesOfOtherShapesAreNotTemporaries() {
        assertTrue(TempNames.matches(".ckpt-0123456789ab.tmp", ".tmp"));
        assertFalse(TempNames.matches(".ckpt-0123456789ab.tmp", ".old"));
        assertFalse(TempNames.matches(".ckpt-0123456789AB.tmp", ".tmp"), "upper-case hex is never made");
        assertFalse(TempNames.matches(".ckpt-0123456789a.tmp", ".tmp"), "11 digits");
        assertFalse(TempNames.matches("ckpt-0123456789abc.tmp", ".tmp"), "not hidden");
        assertFalse(TempNames.matches(".ckpt-0123456789ag.tmp", ".tmp"), "not hex");
    }
}

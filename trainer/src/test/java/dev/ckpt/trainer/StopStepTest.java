package dev.ckpt.trainer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The stop step a signalled rank proposes: past every rank, read by every rank in time, within the deadline. */
class StopStepTest {
    private static final long MS = 1_000_000L;

    @Test
    void noRankCanBePastTheSecondSaveStepAhead() {
        // slow steps: two polls take 5 steps, but a rank may be at the second save step from here, 40
        StopStep s = StopStep.choose(26, 10, 100 * MS, 200 * MS, 60_000 * MS);
        assertEquals(40, s.step());
        assertTrue(s.safe());
        assertTrue(s.because().contains("no rank can be past step 40"), s.because());
    }

    /**
     * Every rank reads the stop point at its next save step, so fast steps or a long poll
     * interval no longer push the stop past the second save step. The earlier rule took two
     * polls' worth of steps: at 1 s steps and --stop-poll-interval 30s that was step 87, 61 s
     * away against a 50 s deadline, and nothing was saved.
     */
    @Test
    void fastStepsOrALongPollIntervalStillStopAtTheSecondSaveStep() {
        StopStep fast = StopStep.choose(26, 10, 10 * MS, 200 * MS, 60_000 * MS);
        assertEquals(40, fast.step());
        assertTrue(fast.safe());
        assertTrue(fast.because().contains("every rank reads the stop point at its next save step"), fast.because());
        StopStep slowPolls = StopStep.choose(26, 10, 1000 * MS, 30_000 * MS, 50_000 * MS);
        assertEquals(40, slowPolls.step(), "14 s away, within half of the 50 s left");
        assertTrue(slowPolls.safe());
        assertEquals(10 + 10, StopStep.choose(0, 10, 0, 200 * MS, 60_000 * MS).step(), "unknown step time");
    }

    @Test
    void aDeadlineTooNearForTwoSaveIntervalsBringsTheStopNearerAndSaysSo() {
        // 1 s steps, --save-every 50: the safe step 100 is 75 s away, but only 50 s are left
        StopStep s = StopStep.choose(25, 50, 1000 * MS, 1000 * MS, 50_000 * MS);
        assertEquals(50, s.step(), "half the time left, 25 s, is 25 steps");
        assertFalse(s.safe());
        assertTrue(s.because().contains("a rank already past it will not save")
                && s.because().contains("two stop polls of 1.0 s take 3 steps at 1.0 s per step"), s.because());
        assertTrue(StopStep.choose(26, 100, 31_600_000L, 10 * MS, 1_000 * MS).because().contains("at 31.6 ms per step"),
                "not '0.0 s per step'");
        // never nearer than two polls
        assertEquals(25 + 3, StopStep.choose(25, 50, 1000 * MS, 1000 * MS, 2_000 * MS).step());
    }
}

package dev.ckpt.trainer;

import dev.ckpt.trainer.SaveTimes.Estimate;
import dev.ckpt.trainer.SaveTimes.Sample;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The preemption save's estimate from the recent saves: its arithmetic and its window. */
class SaveTimesTest {
    private static Duration ms(long n) {
        return Duration.ofMillis(n);
    }

    @Test
    void beforeAnySaveThereIsNoEstimate() {
        assertTrue(new SaveTimes().estimate(1 << 20).isEmpty());
    }

    @Test
    void theEstimateIsTheBytesAtTheRecentRatePlusTheSlowestCommitAndStagingPlusTheMargin() {
        SaveTimes t = new SaveTimes();
        t.record(new Sample(1_000_000, ms(1_000), ms(200), ms(100)));
        t.record(new Sample(3_000_000, ms(1_000), ms(400), ms(50)));
        Estimate e = t.estimate(4_000_000).orElseThrow();
        // 4 MB in 2 s: 2 MB/s, whatever the rate of each save alone
        assertEquals(2_000_000, e.bytesPerSecond(), 1);
        assertEquals(ms(2_000), e.upload());
        assertEquals(ms(400), e.commit());
        assertEquals(ms(100), e.local());
        assertEquals(ms(625), e.margin()); // a quarter of 2.5 s
        assertEquals(ms(3_125), e.total());
        assertTrue(e.fitsIn(ms(3_125)));
        assertFalse(e.fitsIn(ms(3_124)));
    }

    @Test
    void aSmallEstimateStillGetsTheMinimumMargin() {
        SaveTimes t = new SaveTimes();
        t.record(new Sample(1_000_000, ms(10), ms(10), ms(0)));
        assertEquals(SaveTimes.MARGIN_MIN, t.estimate(1_000_000).orElseThrow().margin());
    }

    @Test
    void onlyTheLastFewSavesCountSoASlowerLinkShowsAtOnce() {
        SaveTimes t = new SaveTimes();
        t.record(new Sample(1_000_000, ms(10), ms(10), ms(0)));
        for (int i = 0; i < SaveTimes.WINDOW; i++) {
            t.record(new Sample(1_000_000, ms(1_000), ms(10), ms(0)));
        }
        assertEquals(1_000_000, t.estimate(1).orElseThrow().bytesPerSecond(), 1);
    }

    @Test
    void savesThatUploadedNothingGiveNoRateAndTheLongestUploadStandsIn() {
        SaveTimes t = new SaveTimes();
        t.record(new Sample(0, ms(300), ms(100), ms(0)));
        Estimate e = t.estimate(1_000_000).orElseThrow();
        assertEquals(0, e.bytesPerSecond());
        assertEquals(ms(300), e.upload());
        assertTrue(e.breakdown().startsWith("upload 0.3 s + commit 0.1 s"), e.breakdown());
    }
}

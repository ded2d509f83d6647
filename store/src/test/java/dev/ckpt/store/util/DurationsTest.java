package dev.ckpt.store.util;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The one duration grammar of ckpt-tool, ckpt-train and the environment, and the one way durations are printed. */
class DurationsTest {
    @Test
    void everyUnitInEitherCaseAndBareSecondsWhereAllowed() {
        assertEquals(Duration.ofMillis(1500), Durations.parse("1500ms", false));
        assertEquals(Duration.ofSeconds(90), Durations.parse(" 90s ", false));
        assertEquals(Duration.ofMinutes(15), Durations.parse("15M", false));
        assertEquals(Duration.ofHours(1), Durations.parse("1h", false));
        assertEquals(Duration.ofDays(7), Durations.parse("7d", false));
        assertEquals(Duration.ZERO, Durations.parse("0", false));
        assertEquals(Duration.ZERO, Durations.parse("0s", false));
        assertEquals(Duration.ofSeconds(45), Durations.parse("45", true));
        assertEquals(Duration.ofSeconds(45), Durations.parse("0045", true));
        assertEquals(Duration.ofDays(7), Durations.parse("7d\u00a0", false)); // a no-break space pasted after it
        assertEquals("'7\\u0007d' is not a duration: write 1500ms, 90s, 15m, 1h or 7d", assertThrows(
                IllegalArgumentException.class, () -> Durations.parse("7\u0007d", false)).getMessage(), "shown escaped");
        assertEquals("'45' is not a duration: write 1500ms, 90s, 15m, 1h or 7d",
                assertThrows(IllegalArgumentException.class, () -> Durations.parse("45", false)).getMessage());
        for (String bad : List.of("", "s", "-5s", "1.5s", "1w", "1 hour", "5 s", "1h30m", "+5s")) {
            String m = assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad, true), bad).getMessage();
            assertEquals("'" + bad + "' is not a duration: write 1500ms, 90s, 15m, 1h or 7d", m);
        }
    }

    @Test
    void aHundredYearsAtMostWhateverTheDigits() {
        assertEquals(Durations.MAX, Durations.parse("36500d", false));
        assertEquals(Durations.MAX, Durations.parse("876000h", false));
        assertEquals(Durations.MAX, Durations.parse(Long.toString(Durations.MAX.toSeconds()), true));
        for (String big : List.of("36501d", "876001h", "9223372036854775807ms", "99999999999999999999s",
                "000000000000000000000000000036501d", "1000000000000h")) {
            String m = assertThrows(IllegalArgumentException.class, () -> Durations.parse(big, true), big).getMessage();
            assertEquals("'" + big + "' is longer than ckpt takes (at most 36500d, 100 years)", m);
        }
        assertEquals(Duration.ofDays(1), Durations.parse("0000000000000000000000001d", false));
    }

    @Test
    void printedInTheLargestUnitThatDividesItAndReadBackTheSame() {
        assertEquals("7d", Durations.format(Duration.ofDays(7)));
        assertEquals("36h", Durations.format(Duration.ofHours(36)));
        assertEquals("90m", Durations.format(Duration.ofMinutes(90)));
        assertEquals("90s", Durations.format(Duration.ofSeconds(90)));
        assertEquals("1500ms", Durations.format(Duration.ofMillis(1500)));
        assertEquals("0s", Durations.format(Duration.ZERO));
        assertEquals("36500d", Durations.format(Durations.MAX));
        for (Duration d : List.of(Duration.ofMillis(1), Duration.ofMillis(61_001), Duration.ofSeconds(86_399),
                Duration.ofDays(2).plusHours(1), Durations.MAX.minusMillis(1))) {
            assertEquals(d, Durations.parse(Durations.format(d), false), Durations.format(d));
        }
    }
}

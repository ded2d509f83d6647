package dev.ckpt.store.util;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How every part of ckpt reads and writes a duration: digits and a unit, {@code ms}, {@code s},
 * {@code m}, {@code h} or {@code d} in either case ({@code 1500ms}, {@code 90s}, {@code 15m},
 * {@code 1h}, {@code 7d}), or {@code 0}; where the caller says so, bare digits are seconds (the
 * {@code CKPT_S3_*_TIMEOUT} variables and ckpt-train's options always took them). At most
 * {@link #MAX}, 100 years. One parser for ckpt-tool's options, ckpt-train's and the environment,
 * and one {@link #format}, the largest unit that divides the value, so every part of ckpt prints
 * a given duration the same way ({@code gc --grace 7d} had been reported as "168h" by the
 * collector while ckpt-tool said "7d").
 */
public final class Durations {
    /**
     * The longest duration taken: 100 years (36500 days). Far inside the nanoseconds a deadline is
     * counted in from a signal ({@code long} nanoseconds last 292 years): larger values overflowed
     * there, and a stop's save was lost to "long overflow" (helper-77).
     */
    public static final Duration MAX = Duration.ofDays(36500);

    private static final Pattern P = Pattern.compile("(\\d+)(ms|[smhd])?");

    private Durations() {
    }

    /**
     * Reads {@code text} (surrounding blanks ignored).
     *
     * @param bareSeconds whether bare digits are seconds; if not, only {@code 0} may be bare
     * @return the duration, zero or more (callers that need it over zero check that themselves)
     * @throws IllegalArgumentException "'TEXT' is not a duration: write 1500ms, 90s, 15m, 1h or 7d",
     *                                  or "'TEXT' is longer than ckpt takes (at most 36500d, 100 years)";
     *                                  callers put the option's or variable's name before it
     */
    public static Duration parse(String text, boolean bareSeconds) {
        // blanks around it ignored, a pasted no-break space too (helper-79: refused, and invisible in the message)
        Matcher m = P.matcher(text.replaceAll("^[\\s\\p{Z}]+|[\\s\\p{Z}]+$", "").toLowerCase(Locale.ROOT));
        if (!m.matches() || (m.group(2) == null && !bareSeconds && !m.group(1).matches("0+"))) {
            throw new IllegalArgumentException("'" + shown(text) + "' is not a duration: write 1500ms, 90s, 15m, 1h or 7d");
        }
        // digits past a long were "long overflow" or "For input string" (helper-76, helper-78)
        String digits = m.group(1).replaceFirst("^0+(?=.)", "");
        long n = digits.length() > 15 ? Long.MAX_VALUE : Long.parseLong(digits);
        long unitMs = switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> 1;
            case "m" -> 60_000;
            case "h" -> 3_600_000;
            case "d" -> 86_400_000;
            default -> 1000;
        };
        if (n > MAX.toMillis() / unitMs) {
            throw new IllegalArgumentException("'" + text + "' is longer than ckpt takes (at most " + MAX.toDays()
                    + "d, 100 years)");
        }
        return Duration.ofMillis(n * unitMs);
    }

    /** {@code text} as a message shows it: control characters escaped, at most 60 characters. */
    private static String shown(String text) {
        return Printable.cut(text, 60);
    }

    /**
     * The duration in the largest unit that divides it: {@code 7d}, {@code 36h}, {@code 15m},
     * {@code 90s}, {@code 1500ms}; {@code 0s} for zero. Parsing the result gives the same duration
     * (below a millisecond is dropped).
     */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return ms + "ms";
        }
        long s = ms / 1000;
        if (s != 0 && s % 86400 == 0) {
            return s / 86400 + "d";
        }
        if (s != 0 && s % 3600 == 0) {
            return s / 3600 + "h";
        }
        if (s != 0 && s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }
}

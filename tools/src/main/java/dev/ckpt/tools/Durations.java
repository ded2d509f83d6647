package dev.ckpt.tools;

import picocli.CommandLine;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations written like {@code 1500ms}, {@code 90s}, {@code 15m}, {@code 1h}, {@code 7d} (or {@code 0}); at most 100 years. */
public final class Durations implements CommandLine.ITypeConverter<Duration> {
    private static final Pattern P = Pattern.compile("(\\d+)(ms|[smhd])");

    public static Duration parse(String s) {
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = P.matcher(s.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + s + "' is not a duration: write 1500ms, 90s, 15m, 1h or 7d");
        }
        // digits beyond a long, or a duration an instant cannot be moved by, failed as "long overflow"
        // or "For input string" (helper-76): anything past 100 years is refused as such
        String digits = m.group(1).replaceFirst("^0+(?=.)", "");
        long n = digits.length() > 12 ? Long.MAX_VALUE : Long.parseLong(digits);
        long unit = switch (m.group(2)) {
            case "ms" -> 1;
            case "s" -> 1000;
            case "m" -> 60_000;
            case "h" -> 3_600_000;
            default -> 86_400_000;
        };
        if (n > MAX.toMillis() / unit) {
            throw new IllegalArgumentException("'" + s + "' is longer than ckpt takes (at most " + MAX.toDays()
                    + "d, 100 years)");
        }
        return Duration.ofMillis(n * unit);
    }

    /** The longest duration taken: 100 years (36500 days). */
    public static final Duration MAX = Duration.ofDays(36500);

    public static String format(Duration d) {
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + "ms";
        }
        long s = d.getSeconds();
        if (s % 86400 == 0 && s > 0) {
            return s / 86400 + "d";
        }
        if (s % 3600 == 0 && s > 0) {
            return s / 3600 + "h";
        }
        if (s % 60 == 0 && s > 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }

    @Override
    public Duration convert(String value) {
        try {
            return parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}

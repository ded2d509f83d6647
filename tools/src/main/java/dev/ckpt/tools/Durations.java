package dev.ckpt.tools;

import picocli.CommandLine;

import java.time.Duration;

/**
 * ckpt-tool's duration options: {@code 1500ms}, {@code 90s}, {@code 15m}, {@code 1h}, {@code 7d}
 * or {@code 0}, at most 100 years, read and printed by the store's {@link dev.ckpt.store.util.Durations}
 * (the same grammar as ckpt-train's options and the {@code CKPT_S3_*_TIMEOUT} variables; bare
 * digits other than 0 are refused here, as they always were: {@code --grace 7} is not a guess).
 */
public final class Durations implements CommandLine.ITypeConverter<Duration> {
    public static Duration parse(String s) {
        return dev.ckpt.store.util.Durations.parse(s, false);
    }

    public static String format(Duration d) {
        return dev.ckpt.store.util.Durations.format(d);
    }

    /**
     * A duration over zero, for options where 0 means nothing (--stall-timeout, --ranks-timeout): 0
     * was taken and then failed later, named as the variable it was passed on in (helper-79).
     */
    public static final class Positive implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            Duration d = new Durations().convert(value);
            if (d.isZero()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is no wait at all: give a duration over"
                        + " zero, e.g. 30s or 2m");
            }
            return d;
        }
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

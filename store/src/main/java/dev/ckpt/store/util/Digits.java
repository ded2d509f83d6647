package dev.ckpt.store.util;

import java.util.regex.Pattern;

/**
 * Whole numbers as ckpt reads them from a command line or an environment variable: optional
 * sign, then the digits 0-9 only, blanks around them allowed. Java's own parsers also take other
 * scripts' digits ({@code Long.parseLong("٣")} is 3: helper-127), and {@code String.trim} also drops
 * control characters (an ESC before 7 was read as 7: helper-130). One rule for ckpt-tool and ckpt-train.
 */
public final class Digits {
    private static final Pattern WHOLE = Pattern.compile("[-+]?[0-9]+");

    private Digits() {
    }

    /** Whether {@code v}, blanks stripped, is a whole number in the digits 0-9 (of any size). */
    public static boolean whole(String v) {
        return WHOLE.matcher(v.strip()).matches();
    }

    /** What to add to a "not a number" message when {@code v} holds digits other than 0-9; else "". */
    public static String otherDigitsHint(String v) {
        return v.codePoints().anyMatch(c -> Character.isDigit(c) && c > '9') ? " (write it with the digits 0-9)" : "";
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.commit.SaveRequest;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

import java.text.Normalizer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * push's {@code --meta KEY=VALUE} pairs, checked: a key is NFC text without invisible,
 * space-like, line-breaking or control characters, a leading combining mark or spaces around
 * it, given once ({@link SaveRequest#checkMetadata} for the store's own limits).
 */
final class MetaPairs {
    private MetaPairs() {
    }

    /** The pairs in the order given; an empty key, a pair without '=' or a key given twice is a usage error of {@code cl}. */
    static Map<String, String> parse(List<String> meta, CommandLine cl) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String pair : meta) {
            int eq = pair.indexOf('=');
            if (eq < 0) {
                throw new ParameterException(cl, "--meta takes KEY=VALUE, got '" + pair + "'");
            }
            String given = pair.substring(0, eq);
            String value = pair.substring(eq + 1);
            if (pair.indexOf('\uFFFD') >= 0) { // what the JVM makes of bytes that are not UTF-8
                throw new ParameterException(cl, "--meta '" + pair + "' is not valid UTF-8 (or holds"
                        + " U+FFFD, the replacement character); give the key and value as UTF-8 text");
            }
            // NFC: a key typed as e + combining accent and one typed as é are the same key (and a duplicate)
            String key = Normalizer.normalize(given, Normalizer.Form.NFC);
            if (key.codePoints().allMatch(c -> isSpace(c) || invisible(c))) {
                throw new ParameterException(cl, "--meta '" + pair + "' has no key; give KEY=VALUE, e.g. loss=0.31");
            }
            if (key.codePoints().anyMatch(MetaPairs::invisible)) {
                int c = key.codePoints().filter(MetaPairs::invisible).findFirst().orElseThrow();
                StringBuilder shown = new StringBuilder(); // each such character as \\uXXXX, as every message writes them
                key.codePoints().forEach(x -> shown.append(invisible(x) ? String.format("\\u%04X", x)
                        : ShowCommand.printable(new String(Character.toChars(x)))));
                throw new ParameterException(cl, "--meta key '" + shown + "' holds an invisible, space-like or line-breaking character ("
                        + String.format("U+%04X", c) + "), which would make it a look-alike of another key; give the key"
                        + " as plain text");
            }
            int first = Character.getType(key.codePointAt(0));
            if (first == Character.NON_SPACING_MARK || first == Character.ENCLOSING_MARK
                    || first == Character.COMBINING_SPACING_MARK) {
                throw new ParameterException(cl, "--meta key '" + key + "' starts with a combining mark"
                        + String.format(" (U+%04X)", key.codePointAt(0)) + ", which has no letter to sit on; give the"
                        + " key as plain text");
            }
            if (isSpace(key.codePointAt(0)) || isSpace(key.codePointBefore(key.length()))) {
                throw new ParameterException(cl, "--meta key '" + key + "' starts or ends with a space,"
                        + " which would make it a look-alike of another key; give KEY=VALUE without spaces around KEY");
            }
            if (key.codePoints().anyMatch(Character::isISOControl)) {
                throw new ParameterException(cl, "--meta key '" + ShowCommand.printable(key) // \\uXXXX, as every message
                        + "' holds a control character (a newline, a tab, ...); keys are printed on one line");
            }
            String before = m.putIfAbsent(key, value);
            if (before != null) {
                throw new ParameterException(cl, "--meta key '" + key + "' given twice ('" + before
                        + "' and '" + value + "'); give each key once");
            }
        }
        try {
            SaveRequest.checkMetadata(m);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, "--meta: " + e.getMessage());
        }
        return m;
    }

    private static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c); // the latter: no-break spaces too
    }

    /**
     * A character that shows nothing, looks like an ASCII space, or breaks the line: format
     * characters (zero-width space and joiners, the byte-order mark, bidirectional marks),
     * spaces other than ' ', line and paragraph separators, a lone surrogate, the combining
     * grapheme joiner and variation selectors, Hangul fillers and the braille blank.
     */
    private static boolean invisible(int c) {
        int t = Character.getType(c);
        return t == Character.FORMAT || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR
                || t == Character.SURROGATE
                || c != ' ' && Character.isSpaceChar(c) // a no-break, thin or ideographic space reads as ' '
                || c == 0x034F || c >= 0xFE00 && c <= 0xFE0F || c >= 0xE0100 && c <= 0xE01EF // joiner, variation selectors
                || c == 0x115F || c == 0x1160 || c == 0x3164 || c == 0xFFA0 // Hangul fillers
                || c == 0x2800; // braille blank
    }
}

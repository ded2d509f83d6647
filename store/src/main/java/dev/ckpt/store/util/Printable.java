package dev.ckpt.store.util;

/**
 * Text from outside (a run name from an archive, a record another rank wrote, an owner in ROOT,
 * a metadata value, an argument) as a message or a listing shows it: every code point a terminal
 * would not show as itself is written as a backslash, {@code u} and four upper-case hex digits
 * ({@code U+000A} becomes the six characters {@code \}{@code u000A}). That is control characters
 * (a line break would cut a message short, an escape sequence would recolour or rewrite the
 * terminal), format characters (bidirectional overrides, zero-width ones), line and paragraph
 * separators, lone surrogates, and space separators other than the ASCII space (a no-break space
 * looks like one and is not). Everything else, any script, stays as it is.
 *
 * <p>The one escaper of the project's messages (review of stop 48: three copies had drifted apart
 * in what they escaped and in the case of their hex digits).
 */
public final class Printable {

    private Printable() {
    }

    /**
     * {@link #of(String, boolean)} with line breaks and tabs kept: what the CLI's and the trainer's
     * output writers pass every line through ({@code Redaction.writer}, {@code Redaction.stream}).
     */
    public static final java.util.function.UnaryOperator<String> LINES = s -> of(s, true);

    /** {@code s} with what a terminal would not show as itself escaped; {@code null} stays null. */
    public static String of(String s) {
        return of(s, false);
    }

    /**
     * As {@link #of(String)}; with {@code keepLines}, a line feed and a tab stay as they are (a
     * message of several lines), all else is escaped.
     */
    public static String of(String s, boolean keepLines) {
        if (s == null) {
            return null;
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            boolean escape = !(keepLines && (c == '\n' || c == '\t')) && hidden(c);
            if (escape && b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (escape) {
                b.append(String.format("\\u%04X", c));
            } else if (b != null) {
                b.appendCodePoint(c);
            }
            i += Character.charCount(c);
        }
        return b == null ? s : b.toString();
    }

    /**
     * An error's message as the CLI and the trainer say it: with secrets redacted
     * ({@link dev.ckpt.store.error.Redaction#redact}) and every character a terminal would not
     * show as itself escaped as {@link #of(String)} does, line breaks included, so that a name
     * holding one (a file, an archive entry, an object key) cannot split the message or fake a
     * line after it. The only line breaks left are those between the items of a listing error
     * ({@link dev.ckpt.store.error.CkptException#listing}): each item on a line of its own,
     * indented by two spaces, escaped alike.
     */
    public static String message(dev.ckpt.store.error.CkptException e) {
        java.util.List<String> items = e.listed();
        if (items.isEmpty()) {
            return message(e.getMessage());
        }
        StringBuilder b = new StringBuilder(message(e.heading())).append(':');
        for (String item : items) {
            b.append("\n  ").append(message(item));
        }
        String note = e.note();
        return note == null ? b.toString() : b.append('\n').append(message(dev.ckpt.store.error.CkptException.ownLine(note)))
                .toString();
    }

    /** {@code text} (a message) redacted and escaped whole, line breaks included: see {@link #message(dev.ckpt.store.error.CkptException)}. */
    public static String message(String text) {
        return text == null ? null : of(dev.ckpt.store.error.Redaction.redact(text));
    }

    /**
     * At most {@code max} code points of {@code s} (whole code points, then "..." when cut),
     * escaped as {@link #of(String)} does. The cut is counted before escaping, so a name of 120
     * line breaks still shows all 120.
     */
    public static String cut(String s, int max) {
        if (s == null) {
            return null;
        }
        String c = s.codePointCount(0, s.length()) <= max ? s : s.substring(0, s.offsetByCodePoints(0, max)) + "...";
        return of(c);
    }

    /**
     * The first {@code max} of {@code names}, each escaped as {@link #of(String)} does, joined by
     * ", ", then " (and N more)" when there are more: how a message lists runs or checkpoints
     * (ls, forget and the trainer's --auto-resume name the runs with checkpoints this way).
     */
    public static String firstOf(java.util.List<String> names, int max) {
        String shown = String.join(", ", names.subList(0, Math.min(max, names.size())).stream().map(Printable::of).toList());
        return names.size() > max ? shown + " (and " + (names.size() - max) + " more)" : shown;
    }

    /** Whether a terminal would not show code point {@code c} as itself. */
    static boolean hidden(int c) {
        if (Character.isISOControl(c)) {
            return true;
        }
        int t = Character.getType(c);
        return t == Character.FORMAT || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR
                || t == Character.SURROGATE || (t == Character.SPACE_SEPARATOR && c != ' ');
    }
}

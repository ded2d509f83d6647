package dev.ckpt.store.util;

import java.util.regex.Pattern;

/**
 * A word as a POSIX shell reads it, for the commands ckpt's messages suggest ("list them
 * with ckpt-tool ls STORE"): pasted as printed, they must run. A store's path may hold
 * {@code '}, {@code $} or {@code ;} (helper-94: {@code w/it's} gave "unexpected EOF",
 * {@code w/d$x} named another store, {@code w/semi;colon} ran two commands).
 */
public final class ShellWords {
    private ShellWords() {
    }

    /** Characters a shell takes literally in an unquoted word (and none that starts a comment or expands). */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    /**
     * {@code s} unchanged when the shell reads it as is; in single quotes ({@code '} as
     * {@code '\''}) when it holds only what a terminal shows as itself; else in bash's ANSI-C
     * quotes, {@code $'...'} (also zsh's and ksh's), with each such character written as its
     * UTF-8 bytes, {@code \xHH} each (read back as those bytes under any locale), and {@code \\}
     * and {@code \'} escaped, so that a message never carries a terminal's escape sequence or a
     * line break of a name ({@link Printable#hidden}).
     */
    public static String word(String s) {
        if (PLAIN.matcher(s).matches()) {
            return s;
        }
        if (s.codePoints().noneMatch(Printable::hidden)) {
            return "'" + s.replace("'", "'\\''") + "'";
        }
        StringBuilder b = new StringBuilder(s.length() + 16).append("$'");
        s.codePoints().forEach(c -> {
            if (c == '\\' || c == '\'') {
                b.append('\\').appendCodePoint(c);
            } else if (!Printable.hidden(c)) {
                b.appendCodePoint(c);
            } else {
                // its UTF-8 bytes, each as \xHH: bash's escape of a code point gives the character only under a UTF-8
                // locale, and names something else under LC_ALL=C, usual in batch jobs (helper-130)
                for (byte x : new String(Character.toChars(c)).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                    b.append(String.format("\\x%02X", x & 0xFF));
                }
            }
        });
        return b.append('\'').toString();
    }
}

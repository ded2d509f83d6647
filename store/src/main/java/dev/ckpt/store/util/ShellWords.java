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

    /** {@code s} unchanged when the shell reads it as is, else in single quotes ({@code '} as {@code '\''}). */
    public static String word(String s) {
        if (PLAIN.matcher(s).matches()) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }
}

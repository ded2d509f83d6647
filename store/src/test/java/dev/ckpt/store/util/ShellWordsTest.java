package dev.ckpt.store.util;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A word from {@link ShellWords#word}, pasted into a shell, is the string again: the store
 * paths helper-94 found broke the commands ckpt's messages suggest ({@code '}, {@code $},
 * {@code ;}), and others a shell reads specially.
 */
class ShellWordsTest {
    @Test
    void bashReadsEachWordBackAsTheStringItWas() throws Exception {
        List<String> strings = List.of("file:///tmp/w/it's/", "file:///tmp/w/d$x/", "file:///tmp/w/semi;colon/",
                "s3://bucket/prefix", "file:///tmp/sp%20ace/", "a b", "back\\slash", "`date`", "$(id)", "x*y?[z]",
                "#not-a-comment", "~user", "tab\there", "!bang", "it''s", "é/ü", "a\"b", "{a,b}", "-dash",
                "esc\u001b[31mred", "line\nfeed", "del\u007f", "bidi\u202Eevil", "nbsp\u00A0x", "it's\u001b\\x41", "c1\u009bx",
                "emoji\uD83D\uDE00\u0007");
        for (String s : strings) {
            for (String locale : new String[] {"C.UTF-8", "C"}) { // a batch job's shell often runs under LC_ALL=C (helper-130)
                ProcessBuilder pb = new ProcessBuilder("bash", "-c", "printf %s " + ShellWords.word(s));
                pb.environment().put("LC_ALL", locale);
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(0, p.waitFor(), s);
                assertEquals(s, out, "as bash reads " + ShellWords.word(s) + " under LC_ALL=" + locale);
            }
            // what a terminal would act on or not show as itself is never in the word (an escape sequence, a line break)
            assertEquals(Printable.of(ShellWords.word(s)), ShellWords.word(s), s);
        }
        assertEquals("s3://bucket/prefix", ShellWords.word("s3://bucket/prefix"), "plain words stay as they are");
        assertEquals("'it'\\''s'", ShellWords.word("it's"));
    }
}

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
                "#not-a-comment", "~user", "tab\there", "!bang", "it''s", "é/ü", "a\"b", "{a,b}", "-dash");
        for (String s : strings) {
            Process p = new ProcessBuilder("bash", "-c", "printf %s " + ShellWords.word(s)).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), s);
            assertEquals(s, out, "as bash reads " + ShellWords.word(s));
        }
        assertEquals("s3://bucket/prefix", ShellWords.word("s3://bucket/prefix"), "plain words stay as they are");
        assertEquals("'it'\\''s'", ShellWords.word("it's"));
    }
}

package dev.ckpt.store.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class PrintableTest {

    @Test
    void whatATerminalWouldNotShowAsItselfIsEscapedInUpperCaseHex() {
        assertEquals("a\\u000Ab\\u000Dc\\u001B[31m\\u007F\\u0085", Printable.of("a\nb\rc\u001b[31m\u007f\u0085"));
        // bidirectional override, zero-width space and joiner, byte-order mark (format characters)
        assertEquals("x\\u202Ey\\u200Bz\\u200D\\uFEFF", Printable.of("x\u202Ey\u200Bz\u200D\uFEFF"));
        // line and paragraph separators, a no-break space, an ideographic space, a lone surrogate
        assertEquals("\\u2028\\u2029\\u00A0\\u3000\\uD800.", Printable.of("\u2028\u2029\u00A0\u3000\uD800."));
    }

    @Test
    void anyScriptAndTheAsciiSpaceStayAsTheyAre() {
        String s = "run 1 Größe Δ 模型 🚀 '\"\\";
        assertSame(s, Printable.of(s));
        assertNull(Printable.of(null));
        assertNull(Printable.cut(null, 5));
    }

    @Test
    void keepLinesLeavesLineFeedsAndTabsOnly() {
        assertEquals("one\n\ttwo\\u000D\\u001B", Printable.of("one\n\ttwo\r\u001b", true));
        assertEquals("one\\u000A\\u0009two", Printable.of("one\n\ttwo", false));
    }

    @Test
    void cutCountsWholeCodePointsBeforeEscaping() {
        assertEquals("🚀🚀...", Printable.cut("🚀🚀🚀", 2));
        assertEquals("🚀🚀🚀", Printable.cut("🚀🚀🚀", 3));
        assertEquals("\\u000A".repeat(120), Printable.cut("\n".repeat(120), 120));
        assertEquals("\\u000A".repeat(3) + "...", Printable.cut("\n".repeat(4), 3));
    }

    @Test
    void anErrorIsSaidOnOneLineButTheItemsOfAListing() {
        // a name with a line break, a tab and an escape sequence inside a one-line error
        var one = new dev.ckpt.store.error.InvalidInputException("cannot read a\nb.bin\t\u001b[2J: gone");
        assertEquals("cannot read a\\u000Ab.bin\\u0009\\u001B[2J: gone", Printable.message(one));
        // a listing: its items on their own lines, a line break within an item escaped, the note after them
        var listing = new dev.ckpt.store.error.InvalidInputException("2 entries below /d\nx cannot be saved")
                .<dev.ckpt.store.error.InvalidInputException>listing(java.util.List.of("a is a link (to t\nu)", "b is a FIFO"));
        listing.addNote("; see the README");
        assertEquals("2 entries below /d\nx cannot be saved:\n  a is a link (to t\nu)\n  b is a FIFO\nsee the README",
                listing.getMessage(), "the message as before, for the library's callers; a note on a line of its own");
        assertEquals("2 entries below /d\\u000Ax cannot be saved:\n  a is a link (to t\\u000Au)\n  b is a FIFO\nsee the README",
                Printable.message(listing));
        assertEquals(java.util.List.of("a is a link (to t\nu)", "b is a FIFO"), listing.listed());
        // a secret is redacted before anything is escaped
        var secret = new dev.ckpt.store.error.InvalidInputException("bad key X-Amz-Security-Token=SECRETVALUE123\nnext");
        assertEquals(false, Printable.message(secret).contains("SECRETVALUE123"), Printable.message(secret));
        assertEquals(1, Printable.message(secret).lines().count(), Printable.message(secret));
    }

    @Test
    void firstOfListsAtMostMaxNamesEscapedAndCountsTheRest() {
        assertEquals("", Printable.firstOf(java.util.List.of(), 3));
        assertEquals("a, b", Printable.firstOf(java.util.List.of("a", "b"), 2));
        assertEquals("a, b\\u000Ac (and 2 more)", Printable.firstOf(java.util.List.of("a", "b\nc", "d", "e"), 2));
    }
}

package dev.ckpt.store.manifest;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rule for paths inside a checkpoint ({@link SafePaths}): what it refuses, and the look-alikes it must not. */
class SafePathsTest {
    @Test
    void refusesEscapesBackslashesNulAndDriveLetters() {
        for (String bad : new String[]{"", "/etc/passwd", "a/../../b", "./a", "a//b", "a/", "..", "a\\b", "a\0b",
                "C:x", "c:weights.bin", "z:", "Q:/x"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafePaths.check(bad), bad);
            assertTrue(!e.getMessage().isEmpty(), bad);
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SafePaths.check("c:w")).getMessage()
                .contains("drive letter ('c:')"));
    }

    @Test
    void aColonAfterSomethingOtherThanOneLetterIsAnOrdinaryName() {
        // Windows drive letters are A-Z; these were refused as "drive letters" by a rule that looked only at the ':'
        for (String ok : new String[]{"1:x", "::x", "0:", "é:x", "ab:c", "dir/c:x", "step:100/model.bin", "-:-"}) {
            assertEquals(ok, SafePaths.check(ok), ok);
        }
    }
}

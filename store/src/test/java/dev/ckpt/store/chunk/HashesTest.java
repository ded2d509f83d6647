package dev.ckpt.store.chunk;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HashesTest {
    private static final String ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // FIPS 180-2, "abc"

    @Test
    void digestsAreNewEachTimeAndMatchTheStandardsVector() {
        var a = Hashes.sha256();
        var b = Hashes.sha256();
        a.update("ab".getBytes(StandardCharsets.US_ASCII));
        b.update("xyz".getBytes(StandardCharsets.US_ASCII)); // shares no state with a
        a.update("c".getBytes(StandardCharsets.US_ASCII));
        assertEquals(ABC, Hashes.hex(a.digest()));
        assertEquals(ABC, Hashes.sha256Hex("abc".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(ABC, Hashes.hex(Hashes.sha256().digest("abc".getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void onlySixtyFourLowerCaseHexDigitsAreAHash() {
        assertTrue(Hashes.isSha256Hex(ABC));
        assertTrue(Hashes.isSha256Hex("0".repeat(64)));
        assertFalse(Hashes.isSha256Hex(null));
        assertFalse(Hashes.isSha256Hex(ABC.toUpperCase()));
        assertFalse(Hashes.isSha256Hex(ABC.substring(1)));
        assertFalse(Hashes.isSha256Hex(ABC + "0"));
        assertFalse(Hashes.isSha256Hex(ABC.substring(1) + "g"));
        assertFalse(Hashes.isSha256Hex(ABC.substring(1) + "/"));
        assertFalse(Hashes.isSha256Hex(ABC.substring(1) + ":"));
        assertFalse(Hashes.isSha256Hex(ABC.substring(1) + "`"));
    }
}

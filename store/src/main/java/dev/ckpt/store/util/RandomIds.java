package dev.ckpt.store.util;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Random identifiers (transaction ids, lease owners, probe keys) from a {@link SecureRandom}. */
public final class RandomIds {
    private static final SecureRandom RANDOM = new SecureRandom();

    private RandomIds() {
    }

    /** {@code bytes} random bytes as lower-case hex ({@code 2 * bytes} characters). */
    public static String hex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}

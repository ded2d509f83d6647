package dev.ckpt.store.objectstore;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Key validation and ETag computation shared by backends. */
public final class Keys {
    private Keys() {
    }

    /** The key of a store's ROOT, its commit point ({@code RootState.KEY} is this). */
    public static final String ROOT = "ROOT";

    /**
     * The names a store uses at its top: ROOT and the first segment of every other key
     * (chunks, manifests, GC records, the ranks' stop points, the probe's scratch objects,
     * recover's records). A file of another name in a local store's directory is never read
     * as the store's; one of these names, made by something else, breaks the store where it
     * comes to need it (a helper's export named {@code gc} or {@code runs}: gc and a ranks' stop
     * failed "a file is where the store keeps a directory").
     */
    public static final java.util.Set<String> TOP_LEVEL = java.util.Set.of(Keys.ROOT, "chunks", "manifests", "gc", "runs",
            "probe", "recovery");

    /** Throws IllegalArgumentException naming the key if it is not a valid object key. */
    public static String validate(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("object key must not be empty");
        }
        if (key.startsWith("/") || key.endsWith("/") || key.contains("\\") || key.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("invalid object key '" + key + "'");
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.startsWith(".")) {
                throw new IllegalArgumentException("invalid object key '" + key
                        + "': empty segments and segments starting with '.' are not allowed");
            }
        }
        return key;
    }

    /** True for a valid key; false for a directory marker or a foreign object a listing may return. */
    public static boolean isValid(String key) {
        try {
            validate(key);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The ETag of content: its MD5 in hex, as S3 computes it for single-part uploads. */
    static String etagOf(byte[] data) {
        return etagOf(data, 0, data.length);
    }

    /** The ETag of the {@code length} bytes of {@code data} from {@code offset}. */
    public static String etagOf(byte[] data, int offset, int length) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update(data, offset, length);
            return HexFormat.of().formatHex(md5.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

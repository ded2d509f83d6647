package dev.ckpt.store.util;

import java.security.SecureRandom;

/**
 * Names for the temporary files and directories ckpt puts next to a user's files (a
 * restore's temporaries, the versions its publish renames aside), and the test that
 * recognises them (a later restore's clean-up and leftover report).
 */
public final class TempNames {
    private TempNames() {
    }

    /**
     * The suffix of the directory {@code ckpt-tool import} unpacks an archive in, at a local
     * store's top: {@code .ckpt-<12 hex>-import}. A running import refreshes its modification
     * time every {@link #IMPORT_HEARTBEAT}, so GC removes one older than its leftover age (one
     * hour) as an import's that was killed (an interrupted import of 878 MB left its directory
     * for good: a break helper's case).
     */
    public static final String IMPORT_STAGING = "-import";

    /**
     * The suffix of the directory {@code ckpt-tool export} restores a checkpoint in before it
     * packs it, next to the archive it writes: {@code .ckpt-<12 hex>-export}. Refreshed like an
     * import's; a later export into the same directory, and GC when that directory is a local
     * store's top, remove one older than an hour (a killed export left 301 MB in a store's
     * directory that nothing removed: a break helper's case).
     */
    public static final String EXPORT_STAGING = "-export";

    /** How often a running import or export refreshes its staging directory's modification time. */
    public static final java.time.Duration IMPORT_HEARTBEAT = java.time.Duration.ofMinutes(1);

    /** Whether {@code name} is an import's or an export's staging directory's ({@link #IMPORT_STAGING}, {@link #EXPORT_STAGING}). */
    public static boolean isStaging(String name) {
        return matches(name, IMPORT_STAGING) || matches(name, EXPORT_STAGING);
    }

    /**
     * A short hidden name for a temporary file or directory next to a user's file:
     * {@code .ckpt-<12 hex><suffix>}, 48 random bits that cannot be guessed from earlier
     * names. It never derives from the user's name, so it fits wherever that name fits (a
     * 255-byte name plus a suffix would not). The bits come from the JDK's strong generator
     * 4 KiB at a time: a draw per name (a read of {@code /dev/urandom} mixed with SHA-1) was
     * 3 us of a restore's main thread per file (docs/benchmarks.md, "Restore: per-file costs
     * of the publish"). A counter on one random start was tried and dropped: every later
     * name of a run could be guessed from one, and created first by another process.
     */
    public static String next(String suffix) {
        char[] c = new char[12];
        synchronized (TEMP_BITS) {
            if (tempBitsUsed + 6 > TEMP_BITS.length) {
                TEMP_RANDOM.nextBytes(TEMP_BITS);
                tempBitsUsed = 0;
            }
            for (int i = 0; i < 6; i++) {
                int b = TEMP_BITS[tempBitsUsed + i];
                c[2 * i] = Character.forDigit((b >> 4) & 0xF, 16);
                c[2 * i + 1] = Character.forDigit(b & 0xF, 16);
            }
            tempBitsUsed += 6;
        }
        return ".ckpt-" + new String(c) + suffix;
    }

    private static final SecureRandom TEMP_RANDOM = new SecureRandom();
    /** Random bytes not yet used in a name, from {@link #tempBitsUsed} on; guarded by itself. */
    private static final byte[] TEMP_BITS = new byte[4098];
    private static int tempBitsUsed = TEMP_BITS.length;

    /** Whether {@code name} is one that {@link #next} makes with {@code suffix}. */
    public static boolean matches(String name, String suffix) {
        return name.length() == 18 + suffix.length() && name.startsWith(".ckpt-") && name.endsWith(suffix)
                && name.substring(6, 18).chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f');
    }

    /**
     * The staging directories in {@code dir} whose names {@code which} accepts (import's,
     * export's: {@link #isStaging}) and whose own modification time is before
     * {@code writtenBefore}: imports or exports killed, or stopped, that long ago (a running
     * one refreshes it every {@link #IMPORT_HEARTBEAT}). A link is never one. The one finder
     * of gc (at a local store's top) and of the next export (beside its archive).
     *
     * @throws java.io.IOException if {@code dir} cannot be read; none if it does not exist
     */
    public static java.util.List<java.nio.file.Path> staleStaging(java.nio.file.Path dir, java.time.Instant writtenBefore,
                                                              java.util.function.Predicate<String> which)
            throws java.io.IOException {
        java.util.List<java.nio.file.Path> found = new java.util.ArrayList<>();
        try (java.nio.file.DirectoryStream<java.nio.file.Path> entries = java.nio.file.Files.newDirectoryStream(dir,
                p -> which.test(p.getFileName().toString()))) {
            for (java.nio.file.Path p : entries) {
                if (stale(p, writtenBefore)) {
                    found.add(p);
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return found;
        }
        return found;
    }

    /** Whether {@code dir} is a directory (not a link) last modified before {@code writtenBefore}; false if it is gone. */
    public static boolean stale(java.nio.file.Path dir, java.time.Instant writtenBefore) throws java.io.IOException {
        try {
            java.nio.file.attribute.BasicFileAttributes a = java.nio.file.Files.readAttributes(dir,
                    java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return a.isDirectory() && a.lastModifiedTime().toInstant().isBefore(writtenBefore);
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }
}

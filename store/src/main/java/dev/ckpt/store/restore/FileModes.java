package dev.ckpt.store.restore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * The permission bits a restored file is created with, and whether they are already its
 * manifest mode (then no {@code chmod} follows: it was an open, an {@code fchmod} and a
 * close per file, about 9 us each, 0.09 s of a 10,000-file restore).
 *
 * <p>A temporary is created with its mode's bits plus the owner's read and write ({@code mode |
 * 0600}), which the restore needs to write it and read a chunk back; the process's umask
 * clears what it clears, as for any create. So a file is never open to group or others beyond
 * its mode, not even while it is a temporary (before, every temporary was created {@code
 * 0666} minus the umask and narrowed only after the whole restore was written). The bits the
 * create gave are the mode exactly when {@code (mode | 0600) & ~umask == mode}: a mode with the
 * owner's read and write that the umask does not narrow, such as 0644 or 0755 under umask 022.
 * Any other mode is set after the restore is written, as before. The umask is read from
 * {@code /proc/self/status} (Linux 4.7 on); where it cannot be read, every mode is set after.
 */
final class FileModes {
    /** The process's umask, or -1 when it cannot be read. */
    private static final int UMASK = readUmask(Path.of("/proc/self/status"));

    private FileModes() {
    }

    /** The umask in a {@code /proc/PID/status} file's {@code Umask:} line (octal), or -1. */
    static int readUmask(Path status) {
        try {
            for (String line : Files.readAllLines(status, StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("Umask:")) {
                    int u = Integer.parseInt(line.substring("Umask:".length()).trim(), 8);
                    return u >= 0 && u <= 0777 ? u : -1;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1; // not Linux, or no such line: every mode is set after the restore is written
        }
        return -1;
    }

    /** The attribute a temporary for a file of manifest mode {@code mode} is created with; none for mode 0. */
    static FileAttribute<?>[] createAttributes(int mode) {
        if (mode == 0) {
            return new FileAttribute<?>[0]; // no mode recorded: the usual 0666 minus the umask
        }
        return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions((mode | 0600) & 0777))};
    }

    /** Whether a file of manifest mode {@code mode} has that mode from its create (see the class comment). */
    static boolean setAtCreate(int mode) {
        return setAtCreate(mode, UMASK);
    }

    static boolean setAtCreate(int mode, int umask) {
        return mode != 0 && umask >= 0 && (((mode | 0600) & 0777) & ~umask) == mode;
    }

    /** The permissions of the low nine bits of {@code mode}. */
    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission perm : PosixFilePermission.values()) {
            if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
                perms.add(perm);
            }
        }
        return perms;
    }
}

package dev.ckpt.store.restore;

import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * The permission bits a restored file's temporary is created with: its manifest mode's bits plus
 * the owner's read and write ({@code mode | 0600}), which the restore needs to write it and read a
 * chunk back. The create narrows them as any create does (the umask, or a default ACL of the
 * directory instead), so a file is never open to group or others beyond its mode, not even while
 * it is a temporary (before, every temporary was created {@code 0666} minus the umask and
 * narrowed only after the whole restore was written). What the create gave is then compared with
 * the mode (one {@code fstatat}), and only a file that differs is chmod-ed (an open, an
 * {@code fchmod} and a close): no mode is predicted from the umask, which a default ACL
 * overrides.
 */
final class FileModes {
    private FileModes() {
    }

    /** The attribute a temporary for a file of manifest mode {@code mode} is created with; none for mode 0. */
    static FileAttribute<?>[] createAttributes(int mode) {
        if (mode == 0) {
            return new FileAttribute<?>[0]; // no mode recorded: the usual 0666 minus the umask
        }
        return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions((mode | 0600) & 0777))};
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

package dev.ckpt.store.restore;

import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;

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

    private static final FileAttribute<?>[] NONE = new FileAttribute<?>[0];

    /**
     * Made once per distinct mode and kept (a set and an attribute per file were 5 us of a
     * restore's CPU per file); immutable, so shared between threads.
     */
    private static final AtomicReferenceArray<FileAttribute<?>[]> ATTRIBUTES = new AtomicReferenceArray<>(512);
    private static final AtomicReferenceArray<Set<PosixFilePermission>> PERMISSIONS = new AtomicReferenceArray<>(512);

    /** The attribute a temporary for a file of manifest mode {@code mode} is created with; none for mode 0. Callers must not change the array. */
    static FileAttribute<?>[] createAttributes(int mode) {
        if (mode == 0) {
            return NONE; // no mode recorded: the usual 0666 minus the umask
        }
        int bits = (mode | 0600) & 0777;
        FileAttribute<?>[] a = ATTRIBUTES.get(bits);
        if (a == null) {
            a = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions(bits))};
            ATTRIBUTES.set(bits, a);
        }
        return a;
    }

    /** The permissions of the low nine bits of {@code mode}, an unmodifiable set. */
    static Set<PosixFilePermission> permissions(int mode) {
        int bits = mode & 0777;
        Set<PosixFilePermission> cached = PERMISSIONS.get(bits);
        if (cached != null) {
            return cached;
        }
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission perm : PosixFilePermission.values()) {
            if ((bits & (1 << (8 - perm.ordinal()))) != 0) {
                perms.add(perm);
            }
        }
        Set<PosixFilePermission> made = Collections.unmodifiableSet(perms);
        PERMISSIONS.set(bits, made);
        return made;
    }
}

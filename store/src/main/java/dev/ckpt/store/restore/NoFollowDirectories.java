package dev.ckpt.store.restore;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * File operations below a restore's target made relative to directory handles opened
 * without following links ({@link SecureDirectoryStream}: {@code openat(O_NOFOLLOW)},
 * {@code renameat}, {@code unlinkat} on Linux and macOS), so a link swapped into the target
 * after {@link TargetDirectory} checked it is never followed. Where the JDK has no such
 * handles ({@link #secure()} false) every operation goes by path, after the check.
 * The target itself is opened following links: it is what the user named.
 */
final class NoFollowDirectories implements AutoCloseable {
    private final Path root;
    /** Handles by directory; empty where the JDK has none. */
    private final Map<Path, SecureDirectoryStream<Path>> handles = new HashMap<>();

    private NoFollowDirectories(Path root) {
        this.root = root;
    }

    /** Operations by path, until {@link #open} (and where the JDK has no handles). */
    static NoFollowDirectories byPath(Path root) {
        return new NoFollowDirectories(root);
    }

    /** Opens the target's handle. */
    static NoFollowDirectories open(Path root) throws IOException {
        NoFollowDirectories d = new NoFollowDirectories(root);
        DirectoryStream<Path> top = Files.newDirectoryStream(root);
        if (top instanceof SecureDirectoryStream<Path> sds) {
            d.handles.put(root, sds);
        } else {
            closeQuietly(top); // no *at() calls on this platform
        }
        return d;
    }

    boolean secure() {
        return !handles.isEmpty();
    }

    /** The handle of {@code dir} (at or below the root), opened relative to its parent's, never through a link. */
    SecureDirectoryStream<Path> handle(Path dir) throws IOException {
        SecureDirectoryStream<Path> h = handles.get(dir);
        if (h == null) {
            h = handle(dir.getParent()).newDirectoryStream(dir.getFileName(), LinkOption.NOFOLLOW_LINKS);
            handles.put(dir, h);
        }
        return h;
    }

    /** Opens a new file for writing, never through a link, created with {@code attrs} (its permissions). */
    FileChannel createNew(Path file, java.nio.file.attribute.FileAttribute<?>... attrs) throws IOException {
        Set<OpenOption> opts = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        if (!secure()) {
            return FileChannel.open(file, opts, attrs);
        }
        SeekableByteChannel ch = handle(file.getParent()).newByteChannel(file.getFileName(), opts, attrs);
        if (ch instanceof FileChannel fc) {
            return fc;
        }
        ch.close();
        throw new IOException("positional writes are not supported in " + file.getParent());
    }

    /**
     * Opens a file of this restore for reading, never through a link. Safe from several
     * threads at once once the handles are open (lookups only; the JDK's handles lock).
     */
    SeekableByteChannel openRead(Path file) throws IOException {
        Set<OpenOption> opts = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        if (!secure()) {
            return FileChannel.open(file, opts);
        }
        return handle(file.getParent()).newByteChannel(file.getFileName(), opts);
    }

    /** A file's attributes, never through a link (one {@code fstatat}); null when they cannot be read. */
    PosixFileAttributes attributes(Path file) {
        try {
            if (secure()) {
                PosixFileAttributeView v = handle(file.getParent()).getFileAttributeView(file.getFileName(),
                        PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
                return v == null ? null : v.readAttributes();
            }
            return Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException | IOException e) {
            return null; // not a POSIX filesystem, or gone: the caller sets them (best effort)
        }
    }

    /** Sets a file's permissions, never through a link; best effort off POSIX. */
    void setPermissions(Path file, Set<PosixFilePermission> perms) {
        try {
            if (secure()) {
                PosixFileAttributeView v = handle(file.getParent()).getFileAttributeView(file.getFileName(),
                        PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
                if (v != null) {
                    v.setPermissions(perms);
                }
            } else {
                Files.setPosixFilePermissions(file, perms);
            }
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX filesystem: keep the default mode
        }
    }

    /** Deletes a file if it exists, never through a link. */
    void delete(Path file) throws IOException {
        if (secure()) {
            try {
                handle(file.getParent()).deleteFile(file.getFileName());
            } catch (NoSuchFileException ignored) {
                // already gone
            }
        } else {
            Files.deleteIfExists(file);
        }
    }

    /** Deletes an empty directory this restore created, closing its own handle first. */
    void deleteDirectory(Path dir) throws IOException {
        SecureDirectoryStream<Path> parent = handles.get(dir.getParent());
        if (parent == null) {
            Files.deleteIfExists(dir);
            return;
        }
        SecureDirectoryStream<Path> own = handles.remove(dir);
        if (own != null) {
            closeQuietly(own);
        }
        parent.deleteDirectory(dir.getFileName());
    }

    /** Whether something (a link counts as itself) is at {@code p}. */
    boolean exists(Path p) throws IOException {
        if (!secure()) {
            return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
        }
        try {
            handle(p.getParent()).getFileAttributeView(p.getFileName(), BasicFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS).readAttributes();
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /** The identity (device and inode) of what is at {@code p}, a link as itself; null when nothing is there. */
    Object fileKey(Path p) throws IOException {
        try {
            return secure()
                    ? handle(p.getParent()).getFileAttributeView(p.getFileName(), BasicFileAttributeView.class,
                            LinkOption.NOFOLLOW_LINKS).readAttributes().fileKey()
                    : Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                            LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Renames within one directory relative to its handle ({@code renameat}: atomic, replaces); only when {@link #secure()}. */
    void rename(Path from, Path to) throws IOException {
        SecureDirectoryStream<Path> h = handle(to.getParent());
        h.move(from.getFileName(), h, to.getFileName());
    }

    /** The first directory whose handle is no longer the directory at its path (moved, or swapped for a link). */
    Optional<Path> moved() {
        for (Map.Entry<Path, SecureDirectoryStream<Path>> e : handles.entrySet()) {
            Path dir = e.getKey();
            Object atPath;
            Object held;
            try {
                atPath = Files.readAttributes(dir, BasicFileAttributes.class,
                        dir.equals(root) ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS}).fileKey();
                held = e.getValue().getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
            } catch (IOException ex) {
                atPath = null;
                held = Boolean.TRUE;
            }
            if (!Objects.equals(atPath, held)) {
                return Optional.of(dir);
            }
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        handles.values().forEach(NoFollowDirectories::closeQuietly);
        handles.clear();
    }

    private static void closeQuietly(DirectoryStream<Path> d) {
        try {
            d.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }
}

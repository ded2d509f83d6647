package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.StoreUnavailableException;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The temporary files a {@link LocalObjectStore} writer left when it was killed between
 * creating one and renaming it into place ({@code .tmp-<UUID>} beside the object's key, up
 * to a chunk's size each). Listings skip hidden names, so nothing else ever finds them.
 */
final class LocalLeftovers {
    private LocalLeftovers() {
    }

    private static final Pattern TEMPORARY = Pattern.compile(
            "\\.tmp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    /** A new temporary's name; {@link #isTemporary} recognises it. */
    static String nextName() {
        return ".tmp-" + UUID.randomUUID();
    }

    static boolean isTemporary(String name) {
        return TEMPORARY.matcher(name).matches();
    }

    /** Whether a publish failed because its temporary {@code tmp} was gone: removed as a leftover, or by someone else. */
    static boolean gone(Path tmp, IOException e) {
        return e instanceof NoSuchFileException && !Files.exists(tmp, LinkOption.NOFOLLOW_LINKS);
    }

    /** The error of a write to {@code key} of {@code store} whose temporary was {@link #gone}. */
    static StoreUnavailableException goneError(String key, String store, IOException e) {
        return new StoreUnavailableException("cannot write " + key + " in " + store + ": its temporary file was removed"
                + " before it was renamed into place (gc removes those of writes interrupted over an hour ago: was this"
                + " process stopped that long?); nothing was written, retrying is safe", e);
    }

    /**
     * The temporaries under {@code root} last modified before {@code writtenBefore}, with their
     * sizes, in the order found. Links are not followed, and hidden directories ({@code .locks},
     * a filer's {@code .snapshot}) are not entered: writers put temporaries only beside keys,
     * whose names are never hidden. A file or directory that goes during the walk is skipped.
     *
     * @throws IOException if a directory of the store cannot be read
     */
    static Map<Path, Long> find(Path root, Instant writtenBefore) throws IOException {
        Map<Path, Long> found = new LinkedHashMap<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return !dir.equals(root) && dir.getFileName().toString().startsWith(".")
                        ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile() && isTemporary(file.getFileName().toString())
                        && attrs.lastModifiedTime().toInstant().isBefore(writtenBefore)) {
                    found.put(file, attrs.size());
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // gone meanwhile: a writer renamed its temporary into place
                }
                throw e;
            }
        });
        return found;
    }
}

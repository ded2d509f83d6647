package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.util.TempNames;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The temporary files a {@link LocalObjectStore} writer left when it was killed between
 * creating one and renaming it into place ({@code .tmp-<UUID>} beside the object's key, up
 * to a chunk's size each), and the staging directories of killed imports and exports
 * ({@link TempNames#isStaging}). Listings skip hidden names, so nothing else ever finds them.
 */
final class LocalLeftovers {
    private LocalLeftovers() {
    }

    private static final Pattern TEMPORARY = Pattern.compile(
            "\\.tmp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    /** The store's own directories at its top; nothing else there (lost+found, a user's files) is entered. */
    private static final Set<String> STORE_DIRECTORIES = Set.of("chunks", "manifests", "gc", "probe");

    /** A chunk's name (its SHA-256 in hex) or a manifest's: a file, so the walk needs no look at it. */
    private static final Pattern OBJECT_FILE = Pattern.compile("[0-9a-f]{64}|.+\\.json");

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
     * The temporaries in the store at {@code root} last modified before {@code writtenBefore}, as
     * paths under {@code root}, each with the bytes its removal frees (0 for one that is a second
     * name of an object: a writer killed between linking it into place and removing it).
     * Where writers put them: the store's top and its own directories ({@code chunks},
     * {@code manifests}, {@code gc}, {@code probe}) at any depth. Not entered: links, hidden
     * directories ({@code .locks}, a filer's {@code .snapshot}), anything else at the top
     * ({@code lost+found} of a store at a volume's root is unreadable to its users). A store
     * reached through a symbolic link is walked where it is. Names are matched before anything
     * is read about a file, and chunks and manifests are known by name, so the walk stats little
     * more than the temporaries (a listing of 100,000 chunks stats each: about 1.5 s, helper-71).
     *
     * @throws IOException if a directory of the store cannot be read (GC's listing fails on it too)
     */
    static Map<Path, Long> find(Path root, Instant writtenBefore) throws IOException {
        Map<Path, Long> found = new LinkedHashMap<>();
        Path real;
        try {
            real = root.toRealPath();
        } catch (NoSuchFileException e) {
            return found;
        }
        visit(real, root, true, writtenBefore, found);
        return found;
    }

    private static void visit(Path dir, Path shown, boolean top, Instant writtenBefore, Map<Path, Long> found)
            throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                BasicFileAttributes a;
                if (isTemporary(name)) {
                    a = attributes(p);
                    if (a != null && a.isRegularFile() && a.lastModifiedTime().toInstant().isBefore(writtenBefore)) {
                        found.put(shown.resolve(name), links(p) > 1 ? 0L : a.size());
                    }
                } else if (!name.startsWith(".") && (!top || STORE_DIRECTORIES.contains(name))
                        && !OBJECT_FILE.matcher(name).matches() && (a = attributes(p)) != null && a.isDirectory()) {
                    visit(p, shown.resolve(name), false, writtenBefore, found);
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            // gone meanwhile: a delete pruned the directory it left empty
        }
    }

    /**
     * What removing an import's or export's staging directory {@code dir} frees: every entry but a
     * directory is a file, and a regular file frees its size unless it has another name (a hard
     * link frees nothing). Links are not followed.
     *
     * @throws IOException if a directory in it cannot be read (the caller leaves it whole)
     */
    static Leftovers held(Path dir) throws IOException {
        Leftovers held = Leftovers.NONE;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                BasicFileAttributes a = attributes(p);
                if (a != null) {
                    held = a.isDirectory() ? held.plus(held(p))
                            : held.plus(a.isRegularFile() && links(p) == 1 ? a.size() : 0L);
                }
            }
        }
        return held;
    }

    /** A file's attributes, not following a link; null if it went meanwhile (a writer renamed it into place). */
    private static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static int links(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return 1;
        }
    }
}

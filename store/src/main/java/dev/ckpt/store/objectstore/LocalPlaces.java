package dev.ckpt.store.objectstore;

import dev.ckpt.store.util.NonFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What stands in a local store where its files and directories belong — a directory or FIFO
 * at an object's key, a file or FIFO where the store keeps a directory — said with what to
 * do. Such a thing is no object and stays in the way until someone moves it, so the store
 * refuses writes there as needing action, never "retry later" (docs/design.md, "A directory
 * at an object's key is no object").
 */
final class LocalPlaces {
    private LocalPlaces() {
    }

    /** "a directory is in its place (PATH), which is no object of the store; move it out of the store and try again". */
    static String inItsPlace(String kind, Path p) {
        return kind + " is in its place (" + p + "), which is no object of the store; move it out of the store and"
                + " try again";
    }

    /**
     * What keeps {@code target} from being written as a file, or null: a directory, FIFO,
     * socket or device at it (links not followed: a write replaces a link), or a link that leads
     * nowhere (a create-only write would take it for an object there); for a lock file
     * also a link (to /dev/null, its lock would be every process's) and a non-directory
     * between the root and it ({@link #blockedDirectory}).
     */
    static String obstruction(Path root, Path target, boolean lockFile) {
        String kind = NonFiles.kindAt(target, LinkOption.NOFOLLOW_LINKS);
        if (kind != null) {
            return lockFile ? inLockFilesPlace(kind, target) : inItsPlace(kind, target);
        }
        if (!lockFile) {
            return danglingLink(target); // a create-only write meets one as "already there", a read as nothing
        }
        return Files.isSymbolicLink(target) ? inLockFilesPlace("a symbolic link", target) : blockedDirectory(root, target);
    }

    /** "a directory is in its place (PATH), where the store keeps a lock file; move it out of the store and try again". */
    private static String inLockFilesPlace(String kind, Path p) {
        return kind + " is in its place (" + p + "), where the store keeps a lock file; move it out of the store and try"
                + " again";
    }

    /**
     * What stands at {@code p} that is no object, links followed ("a directory is in its
     * place …", "a symbolic link to a FIFO …", "a symbolic link that leads nowhere …"), or null.
     */
    static String displacement(Path p) {
        String kind = NonFiles.kindAt(p);
        return kind != null ? inItsPlace(kind, p) : danglingLink(p);
    }

    /**
     * Why a key's object is not where a listing of the store under {@code root} would see it,
     * though {@code p} is its place: something that is no object there ({@link #displacement}),
     * a file where the store keeps a directory ({@link #blockedDirectory}), or a link on the
     * way ({@link #linkOnTheWay}); null when none of these.
     */
    static String inPlaceOf(Path root, Path p) {
        String why = displacement(p); // a link at p can only be there when no directory on the way is blocked
        if (why == null) {
            why = blockedDirectory(root, p);
        }
        return why != null ? why : linkOnTheWay(root, p);
    }

    /**
     * "a symbolic link that leads nowhere (to TARGET) is in its place (PATH) …" when a link
     * whose target does not exist stands at {@code p}; null otherwise.
     */
    static String danglingLink(Path p) {
        if (!Files.isSymbolicLink(p) || Files.exists(p)) {
            return null;
        }
        String to;
        try {
            to = Files.readSymbolicLink(p).toString();
        } catch (IOException | RuntimeException e) {
            to = "?";
        }
        return inItsPlace("a symbolic link that leads nowhere (to " + to + ")", p);
    }

    /**
     * What a listing of the store misses at {@code p}, which reads reach: a symbolic link at
     * the object's own place, or at a directory between {@code root} and it (the listing does
     * not follow links, so verify and GC do not see what is behind one), said with what to do;
     * null when there is none.
     */
    static String linkOnTheWay(Path root, Path p) {
        java.util.ArrayDeque<Path> chain = new java.util.ArrayDeque<>();
        for (Path d = p; d != null && d.startsWith(root) && !d.equals(root); d = d.getParent()) {
            chain.addFirst(d);
        }
        for (Path d : chain) {
            if (Files.isSymbolicLink(d)) {
                return (d.equals(p) ? "a symbolic link is in its place (" + d + ")"
                        : "a symbolic link is where the store keeps a directory (" + d + ")") + ", which the store's"
                        + " listing does not follow, so verify and gc do not see what is behind it; put the "
                        + (d.equals(p) ? "file" : "directory") + " itself there";
            }
        }
        return null;
    }

    /**
     * Where something else stands in place of one of the directories between {@code root} and
     * {@code target} (a FIFO or file at {@code chunks/ab}, {@code .locks}, {@code gc}): "a
     * FIFO (named pipe) is where the store keeps a directory (PATH) …; move it out of the
     * store and try again"; null when none does (a directory not yet made is none).
     */
    static String blockedDirectory(Path root, Path target) {
        java.util.ArrayDeque<Path> chain = new java.util.ArrayDeque<>();
        for (Path d = target.getParent(); d != null && d.startsWith(root) && !d.equals(root); d = d.getParent()) {
            chain.addFirst(d);
        }
        for (Path d : chain) {
            if (Files.isDirectory(d)) {
                continue;
            }
            if (!Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
                return null; // made by the write
            }
            String kind = NonFiles.kindAt(d);
            String what = kind != null ? kind : Files.isSymbolicLink(d) ? "a symbolic link" : "a file";
            return what + " is where the store keeps a directory (" + d + "), which no object can be in; move it out"
                    + " of the store and try again";
        }
        return null;
    }

    /**
     * What stands where a store rooted at {@code root} must write, each said with what to do:
     * at ROOT ({@code rootObject}) or its lock file, something other than a directory at one of
     * {@code directories} (names under the root) or at a chunk fan-out directory
     * ({@code chunks/ab}); in that order, each once. Empty when nothing does.
     */
    static List<String> obstructions(Path root, Path rootObject, Path rootLockFile, List<String> directories) {
        List<String> found = new ArrayList<>();
        for (String why : new String[]{obstruction(root, rootObject, false), obstruction(root, rootLockFile, true)}) {
            if (why != null) {
                found.add(why);
            }
        }
        List<Path> dirs = new ArrayList<>();
        directories.forEach(d -> dirs.add(root.resolve(d)));
        Path chunks = root.resolve("chunks");
        if (Files.isDirectory(chunks)) { // through a link too: what is behind it is said below
            try (Stream<Path> entries = Files.list(chunks)) {
                // only the fan-out directories' names (chunks/ab): a stray file there is in nobody's way
                entries.filter(e -> e.getFileName().toString().matches("[0-9a-f]{2}")).sorted().forEach(dirs::add);
            } catch (IOException | UncheckedIOException e) {
                // what cannot be listed here, a listing of the store says
            }
        }
        for (Path d : dirs) {
            String why = blockedDirectory(root, d.resolve("x"));
            if (why == null && Files.isSymbolicLink(d)) {
                why = linkOnTheWay(root, d.resolve("x"));
            }
            if (why != null && !found.contains(why)) {
                found.add(why);
            }
        }
        return found;
    }
}

package dev.ckpt.store.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How a local path lies against a local store's directory, links resolved: a command that
 * writes into the one while reading or writing the other must not (a push of the store into
 * itself, a restore beside ROOT, an archive among the objects gc deletes, a trainer staging
 * its checkpoints inside the store it uploads them to).
 */
public enum Overlap {
    /** Neither holds the other. */
    NONE,
    /** The same directory. */
    SAME,
    /** The path is inside the store. */
    INSIDE,
    /** The path holds the store. */
    HOLDS;

    /** Where {@code path} lies against the store's directory {@code store}; either may not exist yet. */
    public static Overlap of(Path store, Path path) {
        Path s = real(store);
        Path p = real(path);
        return p.equals(s) ? SAME : p.startsWith(s) ? INSIDE : s.startsWith(p) ? HOLDS : NONE;
    }

    /** "it is the store", "it is inside the store S", "it holds the store S"; "" for {@link #NONE}. */
    public String says(Path store) {
        return switch (this) {
            case NONE -> "";
            case SAME -> "it is the store";
            case INSIDE -> "it is inside the store " + store;
            case HOLDS -> "it holds the store " + store;
        };
    }

    /**
     * Where {@code p} is as the system resolves it, component by component: a link is
     * followed where it stands (to where it points, even if nothing is there yet: where a
     * directory made through it goes), and {@code ..} is the parent of the place reached so far
     * (so {@code link/..} is the parent of the link's target, not the link's own directory; a
     * helper's {@code --staging lnk/../chunks} staged inside the store, and {@code nx/../lnk}
     * with {@code nx} missing went through {@code lnk} as the directories were made). Two names
     * of one place compare equal. A caller that normalizes a path's text itself before using it
     * (restore, a store's directory) passes it normalized.
     */
    public static Path real(Path p) {
        return real(p.toAbsolutePath(), 0);
    }

    private static Path real(Path abs, int links) {
        Path at = abs.getRoot();
        for (Path name : abs) {
            String n = name.toString();
            if (n.equals(".")) {
                continue;
            }
            if (n.equals("..")) {
                at = at.getParent() == null ? at : at.getParent(); // "at" holds no link: its parent is the system's ".."
                continue;
            }
            Path next = at.resolve(n);
            if (links < 40 && Files.isSymbolicLink(next)) {
                try {
                    next = real(at.resolve(Files.readSymbolicLink(next)), links + 1);
                } catch (IOException | RuntimeException e) {
                    // unreadable: taken as it stands
                }
            }
            at = next;
        }
        return at;
    }
}

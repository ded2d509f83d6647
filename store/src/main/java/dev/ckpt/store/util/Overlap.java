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
     * Where {@code p} is as the system resolves it: links first, then {@code ..} (so
     * {@code link/..} is the parent of the link's target, not the link's own directory, as
     * a command that creates or opens {@code p} finds it; a helper's {@code --staging lnk/../chunks}
     * staged inside the store), a link that points nowhere yet followed to where it points,
     * and what does not exist yet appended, normalized. Two names of one place compare equal.
     * A caller that normalizes a path itself before using it (restore) passes it normalized.
     */
    public static Path real(Path p) {
        return real(p.toAbsolutePath(), 0);
    }

    private static Path real(Path abs, int links) {
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            if (links < 40 && Files.isSymbolicLink(existing)) { // points nowhere (yet): where a create through it goes
                try {
                    Path target = Files.readSymbolicLink(existing);
                    Path parent = existing.getParent();
                    return real(parent.resolve(target).resolve(existing.relativize(abs)), links + 1);
                } catch (IOException | RuntimeException e) {
                    break;
                }
            }
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs.normalize();
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs.normalize();
        }
    }
}

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

    /** {@code p} with links resolved as far as it exists, the rest appended: two names of one place compare equal. */
    public static Path real(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs));
        } catch (IOException e) {
            return abs;
        }
    }
}

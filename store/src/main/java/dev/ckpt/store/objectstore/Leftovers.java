package dev.ckpt.store.objectstore;

import java.util.List;

/**
 * What writes that never finished left in a store, found (and removed, unless a dry run) by
 * {@link ObjectStore#removeLeftovers}: {@code files} of {@code bytes} in all, and {@code notes}
 * naming what is worth a line of its own: a killed import's or export's staging directory
 * removed (or that would be), or one that could not be, and what to do (gc named none: a
 * break helper's case).
 */
public record Leftovers(int files, long bytes, List<String> notes) {
    /** Nothing left behind. */
    public static final Leftovers NONE = new Leftovers(0, 0);

    public Leftovers {
        notes = List.copyOf(notes);
    }

    /** Counts without notes. */
    public Leftovers(int files, long bytes) {
        this(files, bytes, List.of());
    }

    /** These and {@code other}. */
    public Leftovers plus(Leftovers other) {
        List<String> all = new java.util.ArrayList<>(notes);
        all.addAll(other.notes);
        return new Leftovers(files + other.files, bytes + other.bytes, all);
    }

    public Leftovers plus(long size) {
        return new Leftovers(files + 1, bytes + size, notes);
    }

    /** These, with {@code note} added. */
    public Leftovers noting(String note) {
        return plus(new Leftovers(0, 0, List.of(note)));
    }
}

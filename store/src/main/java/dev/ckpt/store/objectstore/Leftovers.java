package dev.ckpt.store.objectstore;

/**
 * What writes that never finished left in a store, found (and removed, unless a dry run) by
 * {@link ObjectStore#removeLeftovers}: {@code files} of {@code bytes} in all.
 */
public record Leftovers(int files, long bytes) {
    /** Nothing left behind. */
    public static final Leftovers NONE = new Leftovers(0, 0);

    /** These and {@code other}. */
    public Leftovers plus(Leftovers other) {
        return new Leftovers(files + other.files, bytes + other.bytes);
    }

    public Leftovers plus(long size) {
        return new Leftovers(files + 1, bytes + size);
    }
}

package dev.ckpt.store;

import java.util.function.Consumer;

/**
 * What {@link CheckpointStore#gc(GcRequest)} should do: collect garbage, or only report
 * what it would collect. Start from {@link #collect()} or {@link #preview()}.
 *
 * @param dryRun   true: delete nothing and change no ROOT, report exactly what a GC would
 *                 delete now (default false)
 * @param progress receives human-readable progress lines ("deleted 500/2000 objects"), or
 *                 null for none (the default)
 */
public record GcRequest(boolean dryRun, Consumer<String> progress) {

    /** A GC that deletes what no checkpoint references and is older than the grace age. */
    public static GcRequest collect() {
        return new GcRequest(false, null);
    }

    /** A dry run: deletes nothing, reports what {@link #collect()} would delete. */
    public static GcRequest preview() {
        return new GcRequest(true, null);
    }

    /** {@link #preview()} when {@code dryRun}, else {@link #collect()}: for command lines. */
    public static GcRequest of(boolean dryRun) {
        return dryRun ? preview() : collect();
    }

    /** The same request, reporting progress lines to {@code listener}. */
    public GcRequest withProgress(Consumer<String> listener) {
        return new GcRequest(dryRun, listener);
    }
}

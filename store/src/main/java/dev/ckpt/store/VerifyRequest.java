package dev.ckpt.store;

import dev.ckpt.store.error.InvalidInputException;

import java.util.List;

/**
 * What {@link CheckpointStore#verify(VerifyRequest)} checks. Start from {@link #structural()},
 * {@link #deep()} or {@link #sample(double)}; by default every committed checkpoint is
 * checked, {@link #withCheckpoints(List)} names some.
 *
 * @param checkpoints selectors ({@code id}, {@code latest}, {@code RUN:latest}, {@code RUN@STEP});
 *                    empty (the default) = every committed checkpoint
 * @param fraction    share of the chunks to download and re-hash, from 0 to 1: 0 (the default)
 *                    checks structure only (manifests, chunk existence and sizes, one listing);
 *                    1 re-hashes every chunk and whole file
 */
public record VerifyRequest(List<String> checkpoints, double fraction) {
    public VerifyRequest {
        checkpoints = checkpoints == null ? List.of() : List.copyOf(checkpoints);
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new InvalidInputException("the share of chunks to re-hash must be from 0 to 1, got " + fraction);
        }
    }

    /** Structural check of every checkpoint: nothing is downloaded but manifests. */
    public static VerifyRequest structural() {
        return new VerifyRequest(List.of(), 0);
    }

    /** Downloads and re-hashes every chunk and whole file of every checkpoint. */
    public static VerifyRequest deep() {
        return new VerifyRequest(List.of(), 1);
    }

    /** Re-hashes about {@code fraction} (0 to 1) of the chunks, chosen by their hash, and at least one of each checkpoint. */
    public static VerifyRequest sample(double fraction) {
        return new VerifyRequest(List.of(), fraction);
    }

    /** The same check of only these checkpoints (all when empty). */
    public VerifyRequest withCheckpoints(List<String> selectors) {
        return new VerifyRequest(selectors, fraction);
    }

    /** Whether chunks are read back and re-hashed. */
    public boolean isDeep() {
        return fraction > 0;
    }
}

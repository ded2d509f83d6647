package dev.ckpt.store;

import java.util.List;

/**
 * Which checkpoints {@link CheckpointStore#forget(ForgetRequest)} removes from ROOT, by name.
 * To forget by a retention policy, see {@link RetentionRequest}.
 *
 * @param checkpoints selectors ({@code id}, {@code RUN@STEP}, {@code RUN:latest}, ...); each must
 *                    resolve, and none may be pinned
 * @param dryRun      true: change nothing, return what would be removed (default false)
 */
public record ForgetRequest(List<String> checkpoints, boolean dryRun) {
    public ForgetRequest {
        checkpoints = List.copyOf(checkpoints);
    }

    /** Forgets these checkpoints. */
    public static ForgetRequest of(List<String> selectors) {
        return new ForgetRequest(selectors, false);
    }

    /** Forgets these checkpoints. */
    public static ForgetRequest of(String... selectors) {
        return of(List.of(selectors));
    }

    /** The same request as a dry run ({@code true}) or for real. */
    public ForgetRequest withDryRun(boolean dry) {
        return new ForgetRequest(checkpoints, dry);
    }
}

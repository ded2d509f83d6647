package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;

import java.util.Objects;

/**
 * A retention policy to apply with {@link CheckpointStore#forget(RetentionRequest)}: what the
 * policy does not keep is removed from ROOT.
 *
 * @param run    the run to apply it to, or null (the default) for every run
 * @param policy the rules that say what to keep
 * @param dryRun true: change nothing, return the plan (default false)
 */
public record RetentionRequest(String run, Retention policy, boolean dryRun) {
    public RetentionRequest {
        Objects.requireNonNull(policy, "policy");
    }

    /** Applies {@code policy} to every run. */
    public static RetentionRequest of(Retention policy) {
        return new RetentionRequest(null, policy, false);
    }

    /** The same request for one run only ({@code null}: every run). */
    public RetentionRequest forRun(String name) {
        return new RetentionRequest(name, policy, dryRun);
    }

    /** The same request as a dry run ({@code true}) or for real. */
    public RetentionRequest withDryRun(boolean dry) {
        return new RetentionRequest(run, policy, dry);
    }
}

package dev.ckpt.store.commit;

import java.util.List;

/**
 * The outcome of applying a retention policy to a store ({@code CheckpointStore.forget}).
 *
 * @param forgotten ids removed from ROOT (or that would be, in a dry run), sorted; empty when refused
 * @param notes     checkpoints the policy could not judge and how they were treated, one line each
 * @param refusals  one line per run whose checkpoints the policy would all drop; when any, nothing changed
 */
public record RetentionResult(boolean dryRun, List<String> forgotten, List<String> notes, List<String> refusals) {
    public RetentionResult {
        forgotten = List.copyOf(forgotten);
        notes = List.copyOf(notes);
        refusals = List.copyOf(refusals);
    }

    public boolean refused() {
        return !refusals.isEmpty();
    }
}

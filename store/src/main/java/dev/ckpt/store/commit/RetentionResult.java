package dev.ckpt.store.commit;

import dev.ckpt.store.manifest.RootState;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

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

    /**
     * What {@code policy} decides for one run of {@code root} (or every run, when {@code run}
     * is null): a pure function of ROOT and {@code unrestorable} (checkpoints whose manifest is
     * missing or damaged, with why: {@link Retention#plan}), applied to the version a forget
     * writes against.
     */
    public static RetentionResult plan(RootState root, String run, Retention policy, boolean dryRun,
                                       java.util.Map<String, String> unrestorable) {
        Set<String> drop = new TreeSet<>();
        List<String> notes = new ArrayList<>();
        List<String> refusals = new ArrayList<>();
        Set<String> runs = new TreeSet<>();
        root.checkpoints().values().forEach(e -> runs.add(e.run()));
        for (String name : runs) {
            if (run == null || run.equals(name)) {
                Retention.Plan p = policy.plan(root.checkpointsOf(name), null, unrestorable);
                drop.addAll(p.dropped());
                notes.addAll(p.notes());
                if (p.refusal() != null) {
                    refusals.add(p.refusal());
                }
            }
        }
        return new RetentionResult(dryRun, refusals.isEmpty() ? new ArrayList<>(drop) : List.of(), notes, refusals);
    }
}

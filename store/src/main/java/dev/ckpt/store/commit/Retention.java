package dev.ckpt.store.commit;

import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.RootState;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which checkpoints of a run stay live. A checkpoint is kept if any rule keeps it: it is
 * pinned; it is one of the newest {@code keepLast}; its step is a multiple of
 * {@code keepEverySteps}; it is one of the {@code keepBestCount} best by metric
 * {@code keepBestMetric}. A checkpoint whose metadata has no finite decimal value for the
 * metric is not judged by the best-by-metric rule: with no other rule it is kept, otherwise
 * the other rules decide. With no rule at all, everything is kept. Whatever the rules, the
 * checkpoint being committed and the newest verified one are never dropped.
 *
 * <p>{@link #plan} also says when the rules keep no checkpoint of a run at all (for example
 * a metric that no checkpoint carries): {@code forget} refuses such a policy instead of
 * emptying the run; a save applies it, since the checkpoint it commits is always kept.
 *
 * <p>A checkpoint the caller found unrestorable (its manifest missing or damaged, a chunk
 * missing) is not counted by the rules, and is kept: {@code --keep-last 1} over a good step 1 and a step 2
 * whose manifest was lost kept step 2 and dropped step 1, the run's only restorable checkpoint
 * (helper-145). {@code forget} checks the checkpoints a plan keeps to find them (verify's
 * structural check), planning again while it finds one (one the rules drop anyway is dropped unread); a
 * save's retention does not (it reads no manifest, and the checkpoint it commits is
 * restorable and kept whatever the rules say).
 */
public record Retention(Integer keepLast, Long keepEverySteps, String keepBestMetric, boolean keepBestMax,
                        int keepBestCount) {
    public static final Retention KEEP_ALL = new Retention(null, null, null, false, 0);

    public Retention {
        if (keepLast != null && keepLast < 1) {
            throw new IllegalArgumentException("keep-last must be at least 1, got " + keepLast);
        }
        if (keepEverySteps != null && keepEverySteps < 1) {
            throw new IllegalArgumentException("keep-every-steps must be at least 1, got " + keepEverySteps);
        }
        if (keepBestMetric != null && keepBestMetric.isBlank()) {
            throw new IllegalArgumentException("keep-best needs a metric name (a metadata key such as loss), got '"
                    + keepBestMetric + "'");
        }
        if (keepBestMetric != null && keepBestCount < 1) {
            throw new IllegalArgumentException("keep-best must keep at least 1 checkpoint, got " + keepBestCount);
        }
        if (keepBestMetric == null && keepBestCount != 0) {
            throw new IllegalArgumentException("keep-best count " + keepBestCount + " given without a metric");
        }
    }

    public static Retention keepLast(int n) {
        return new Retention(n, null, null, false, 0);
    }

    public Retention withKeepEverySteps(long k) {
        return new Retention(keepLast, k, keepBestMetric, keepBestMax, keepBestCount);
    }

    public Retention withKeepBest(String metric, boolean max, int count) {
        return new Retention(keepLast, keepEverySteps, metric, max, count);
    }

    /** Whether the policy has no rule: it drops nothing. */
    public boolean keepsEverything() {
        return keepLast == null && keepEverySteps == null && keepBestMetric == null;
    }

    /**
     * What the policy decides for one run.
     *
     * @param dropped  ids the policy drops, sorted
     * @param notes    what the caller should know (checkpoints the metric rule could not judge), one line each
     * @param refusal  null, or why the policy keeps no checkpoint of the run by its own rules (pins and the
     *                 protected checkpoints aside): a caller that is not committing a new checkpoint must
     *                 not apply it
     */
    public record Plan(String run, List<String> dropped, List<String> notes, String refusal) {
        public Plan {
            dropped = List.copyOf(dropped);
            notes = List.copyOf(notes);
        }
    }

    /**
     * The ids of {@code runCheckpoints} this policy drops at a save; {@code protectedId} (the
     * checkpoint being committed) is never dropped. A policy whose own rules keep none of the
     * run (a step interval no step matches, a metric none carries) drops nothing: forget
     * refuses such a policy, and a save keeps every checkpoint rather than all but its own.
     */
    public Set<String> dropped(List<CheckpointEntry> runCheckpoints, String protectedId) {
        Plan p = plan(runCheckpoints, protectedId, java.util.Map.of());
        return p.refusal() != null ? new TreeSet<>() : new TreeSet<>(p.dropped());
    }

    /** {@link #plan(List, String, java.util.Map)} with no checkpoint found unrestorable. */
    public Plan plan(List<CheckpointEntry> runCheckpoints, String protectedId) {
        return plan(runCheckpoints, protectedId, java.util.Map.of());
    }

    /**
     * Applies the policy to the checkpoints of one run. {@code protectedId} (the checkpoint
     * being committed, or null) is never dropped. {@code unrestorable}: the run's checkpoints
     * found unrestorable, each with why (its manifest's reading error); they are kept, each
     * with a note, and the rules judge the others only.
     */
    public Plan plan(List<CheckpointEntry> runCheckpoints, String protectedId, java.util.Map<String, String> unrestorable) {
        String run = runCheckpoints.isEmpty() ? null : runCheckpoints.get(0).run();
        if (keepsEverything() || runCheckpoints.isEmpty()) {
            return new Plan(run, List.of(), List.of(), null);
        }
        List<CheckpointEntry> all = new ArrayList<>(runCheckpoints);
        all.sort(RootState.ORDER);
        List<String> damageNotes = new ArrayList<>();
        List<CheckpointEntry> ordered = new ArrayList<>();
        for (CheckpointEntry e : all) {
            String why = unrestorable.get(e.id());
            if (why == null || e.id().equals(protectedId)) {
                ordered.add(e);
            } else {
                damageNotes.add("kept " + e.id() + " beyond the policy, which does not count it: it cannot be restored ("
                        + why + "); ckpt-tool verify says what is wrong, and " + (e.pinned() ? "unpin, then forget by its"
                        + " name, removes it (it is pinned)" : "forget by its name removes it"));
            }
        }
        if (ordered.isEmpty()) { // every one unrestorable: nothing the rules judge, nothing dropped
            return new Plan(run, List.of(), damageNotes, null);
        }
        Set<String> byRule = new LinkedHashSet<>();
        List<String> problems = new ArrayList<>();
        if (keepLast != null) {
            for (int i = Math.max(0, ordered.size() - keepLast); i < ordered.size(); i++) {
                byRule.add(ordered.get(i).id());
            }
        }
        if (keepEverySteps != null) {
            boolean any = false;
            for (CheckpointEntry e : ordered) {
                if (e.step() % keepEverySteps == 0) {
                    byRule.add(e.id());
                    any = true;
                }
            }
            if (!any) {
                problems.add("keep-every-steps " + keepEverySteps + " matches none of its steps ("
                        + stepRange(ordered) + ")");
            }
        }
        Set<String> unjudged = new LinkedHashSet<>();
        List<String> notes = new ArrayList<>(damageNotes);
        if (keepBestMetric != null) {
            List<CheckpointEntry> judged = new ArrayList<>();
            for (CheckpointEntry e : ordered) {
                if (Double.isNaN(metric(e))) {
                    unjudged.add(e.id());
                } else {
                    judged.add(e);
                }
            }
            Comparator<CheckpointEntry> byMetric = Comparator.comparingDouble(this::metric);
            judged.stream().sorted(keepBestMax ? byMetric.reversed() : byMetric).limit(keepBestCount)
                    .forEach(e -> byRule.add(e.id()));
            if (judged.isEmpty()) {
                problems.add("keep-best " + keepBestMetric + " judges none of " + (ordered.size() == 1 ? "it" : "them") + ": "
                        + carried(ordered));
                notes.add("keep-best " + keepBestMetric + " judges none of the " + SaveResult.count(ordered.size(), "checkpoint") + " of run '"
                        + run + "' (" + carried(ordered) + "): the other rules alone decide; check the metric's name");
            } else if (!unjudged.isEmpty()) {
                notes.add(SaveResult.count(unjudged.size(), "checkpoint") + " of run '" + run + "' " + (unjudged.size() == 1 ? "has" : "have")
                        + " no numeric " + keepBestMetric
                        + " (" + String.join(", ", unjudged) + "): keep-best leaves them to the other rules"
                        + (onlyKeepBest() ? " and, with none, keeps them" : ""));
            }
        }
        String refusal = null;
        if (byRule.isEmpty()) {
            int lost = all.size() - ordered.size();
            refusal = "the retention policy keeps none of the " + SaveResult.count(ordered.size(), "checkpoint") + " of run '" + run
                    + "'" + (lost == 0 ? "" : " that can be restored (" + lost + " more cannot be, and do not count)")
                    + ": " + String.join("; ", problems);
        }
        Set<String> keep = new LinkedHashSet<>(byRule);
        if (protectedId != null) {
            keep.add(protectedId);
        }
        ordered.stream().filter(e -> e.verifiedAt() != null).reduce((a, b) -> b).ifPresent(e -> {
            if (keep.add(e.id())) {
                notes.add("kept " + e.id() + " beyond the policy: it is the newest verified checkpoint of run '" + run
                        + "', which retention never drops");
            }
        });
        for (CheckpointEntry e : ordered) {
            if (e.pinned() && keep.add(e.id())) {
                // said as the newest verified one is (helper-118: forget --dry-run kept a pinned one without a word)
                notes.add("kept " + e.id() + " beyond the policy: it is pinned (ckpt-tool unpin lets retention drop it)");
            } else if (onlyKeepBest() && unjudged.contains(e.id())) {
                keep.add(e.id());
            }
        }
        List<String> drop = new ArrayList<>();
        for (CheckpointEntry e : ordered) { // the judged ones only: an unrestorable one is never dropped by the rules
            if (!keep.contains(e.id())) {
                drop.add(e.id());
            }
        }
        drop.sort(null);
        return new Plan(run, drop, notes, refusal);
    }

    private boolean onlyKeepBest() {
        return keepBestMetric != null && keepLast == null && keepEverySteps == null;
    }

    private static String stepRange(List<CheckpointEntry> ordered) {
        long first = ordered.get(0).step();
        long last = ordered.get(ordered.size() - 1).step();
        return first == last ? "step " + first : "steps " + first + " to " + last;
    }

    /** What the checkpoints carry instead of a usable value of the metric, for the refusal message. */
    private String carried(List<CheckpointEntry> ordered) {
        TreeMap<String, Integer> keys = new TreeMap<>();
        List<String> bad = new ArrayList<>();
        for (CheckpointEntry e : ordered) {
            e.metadata().keySet().forEach(k -> keys.merge(k, 1, Integer::sum));
            String v = e.metadata().get(keepBestMetric);
            if (v != null && bad.size() < 3) {
                bad.add("'" + v + "'");
            }
        }
        boolean one = ordered.size() == 1;
        String what = keys.isEmpty() ? (one ? "it carries no metadata at all" : "they carry no metadata at all")
                : (one ? "it carries " : "they carry ") + String.join(", ", keys.keySet());
        return bad.isEmpty() ? "none carries " + keepBestMetric + " (" + what + ")"
                : "their " + keepBestMetric + " values are not numbers (" + String.join(", ", bad) + ")";
    }

    /** The metric as a finite number, or NaN when it is missing or not a decimal number. */
    private double metric(CheckpointEntry e) {
        String v = e.metadata().get(keepBestMetric);
        if (v == null) {
            return Double.NaN;
        }
        try {
            double d = new BigDecimal(v.trim()).doubleValue();
            return Double.isFinite(d) ? d : Double.NaN;
        } catch (NumberFormatException ex) {
            return Double.NaN; // NaN, Infinity, 0x1p3, "n/a": not judged
        }
    }
}

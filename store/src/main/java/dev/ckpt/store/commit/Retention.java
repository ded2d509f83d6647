package dev.ckpt.store.commit;

import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.RootState;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which checkpoints of a run stay live. A checkpoint is kept if any rule keeps it: it is
 * pinned; it is one of the newest {@code keepLast}; its step is a multiple of
 * {@code keepEverySteps}; it is one of the {@code keepBestCount} best by metric
 * {@code keepBestMetric}. With no rule at all, everything is kept. Whatever the rules,
 * the checkpoint being committed and the newest verified one are never dropped.
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

    boolean keepsEverything() {
        return keepLast == null && keepEverySteps == null && keepBestMetric == null;
    }

    /** The ids of {@code runCheckpoints} this policy drops; {@code protectedId} is never dropped. */
    public Set<String> dropped(List<CheckpointEntry> runCheckpoints, String protectedId) {
        Set<String> drop = new HashSet<>();
        if (keepsEverything()) {
            return drop;
        }
        List<CheckpointEntry> ordered = new ArrayList<>(runCheckpoints);
        ordered.sort(RootState.ORDER);
        Set<String> keep = new HashSet<>();
        if (protectedId != null) {
            keep.add(protectedId);
        }
        ordered.stream().filter(e -> e.verifiedAt() != null).reduce((a, b) -> b).ifPresent(e -> keep.add(e.id()));
        for (int i = 0; i < ordered.size(); i++) {
            CheckpointEntry e = ordered.get(i);
            if (e.pinned()
                    || (keepLast != null && i >= ordered.size() - keepLast)
                    || (keepEverySteps != null && e.step() % keepEverySteps == 0)) {
                keep.add(e.id());
            }
        }
        if (keepBestMetric != null) {
            Comparator<CheckpointEntry> byMetric = Comparator.comparingDouble(e -> metric(e));
            ordered.stream().filter(e -> !Double.isNaN(metric(e)))
                    .sorted(keepBestMax ? byMetric.reversed() : byMetric)
                    .limit(Math.max(1, keepBestCount))
                    .forEach(e -> keep.add(e.id()));
        }
        for (CheckpointEntry e : ordered) {
            if (!keep.contains(e.id())) {
                drop.add(e.id());
            }
        }
        return drop;
    }

    private double metric(CheckpointEntry e) {
        String v = e.metadata().get(keepBestMetric);
        if (v == null) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException ex) {
            return Double.NaN;
        }
    }
}

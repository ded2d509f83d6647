package dev.ckpt.store.manifest;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The content of ROOT, the store's only mutable object and its commit point: a checkpoint
 * exists exactly when it is in {@code checkpoints}. Immutable; every change builds a new
 * state that {@code RootStore.update} writes with a conditional PUT.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RootState(int format, long version, String txn, List<String> recentTxns,
                        Map<String, CheckpointEntry> checkpoints, Map<String, RunState> runs, GcState gc) {
    public static final int FORMAT = 1;
    public static final String KEY = dev.ckpt.store.objectstore.Keys.ROOT;
    private static final int KEEP_TXNS = 64;

    public RootState {
        if (checkpoints != null) {
            // each entry under its own id: ls listed an id that show, verify, pin and forget could not find, and an entry
            // copied over another's hid that one from verify and gave its manifest to GC (helper-140)
            checkpoints.forEach((id, e) -> {
                if (!id.equals(e.id())) {
                    throw new IllegalArgumentException("the checkpoint entry under '" + id + "' is of checkpoint '"
                            + e.id() + "'");
                }
            });
        }
        recentTxns = recentTxns == null ? List.of() : List.copyOf(recentTxns);
        checkpoints = checkpoints == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(checkpoints));
        runs = runs == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(runs));
        gc = gc == null ? GcState.initial() : gc;
    }

    public static RootState empty() {
        return new RootState(FORMAT, 0, null, List.of(), Map.of(), Map.of(), GcState.initial());
    }

    /** The state stamped as the next version written by transaction {@code txnId}. */
    public RootState stamped(String txnId) {
        List<String> txns = new ArrayList<>(recentTxns);
        txns.add(txnId);
        while (txns.size() > KEEP_TXNS) {
            txns.remove(0);
        }
        return new RootState(FORMAT, version + 1, txnId, txns, checkpoints, runs, gc);
    }

    public RootState withCheckpoints(Map<String, CheckpointEntry> c) {
        return new RootState(format, version, txn, recentTxns, c, runs, gc);
    }

    public RootState withRuns(Map<String, RunState> r) {
        return new RootState(format, version, txn, recentTxns, checkpoints, r, gc);
    }

    public RootState withGc(GcState g) {
        return new RootState(format, version, txn, recentTxns, checkpoints, runs, g);
    }

    /** The run's checkpoints, oldest step first (ties by creation time, then id). */
    @JsonIgnore
    public List<CheckpointEntry> checkpointsOf(String run) {
        List<CheckpointEntry> out = new ArrayList<>();
        for (CheckpointEntry e : checkpoints.values()) {
            if (e.run().equals(run)) {
                out.add(e);
            }
        }
        out.sort(ORDER);
        return out;
    }

    /** Newest (highest step, then latest created) checkpoint of a run, or of all runs when run is null. */
    public Optional<CheckpointEntry> latest(String run) {
        return checkpoints.values().stream()
                .filter(e -> run == null || e.run().equals(run))
                .max(run == null ? Comparator.comparing(CheckpointEntry::created).thenComparing(CheckpointEntry::id) : ORDER);
    }

    public static final Comparator<CheckpointEntry> ORDER = Comparator.comparingLong(CheckpointEntry::step)
            .thenComparing(CheckpointEntry::created).thenComparing(CheckpointEntry::id);
}

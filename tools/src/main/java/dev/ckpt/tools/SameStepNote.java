package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.util.ShellWords;

import java.util.List;
import java.util.Optional;

/**
 * The note push and import print when the run already had a checkpoint at the step they just
 * committed: a step saved twice is kept twice, each with its own id, and {@code RUN@STEP}
 * names the newer (a new-user tryout pushed a step again and found two checkpoints without a
 * word; a break helper then found import silent on the same case).
 */
final class SameStepNote {
    private SameStepNote() {
    }

    /**
     * Best effort, after the commit: one read of ROOT; if that fails, no note (the command's
     * result stands).
     *
     * @param storeGiven the store as given on the command line, for the forget command the note suggests
     * @param committed  the checkpoint just committed at {@code step} of {@code run}
     */
    static Optional<String> of(CheckpointStore store, String storeGiven, String run, long step, String committed) {
        List<String> others;
        try {
            others = store.list(run).stream().filter(e -> e.step() == step && !e.id().equals(committed))
                    .map(CheckpointEntry::id).toList();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        if (others.isEmpty()) {
            return Optional.empty();
        }
        boolean one = others.size() == 1;
        return Optional.of("note: run " + run + " already had " + (one ? "checkpoint " : "checkpoints ")
                + String.join(", ", others) + " at step " + step + "; " + (one ? "both" : "all") + " are kept, and " + run
                + "@" + step + " now names " + committed + " (ckpt-tool forget " + ShellWords.word(storeGiven) + " "
                + others.get(0) + " drops " + (one ? "the older" : "one") + ")");
    }
}

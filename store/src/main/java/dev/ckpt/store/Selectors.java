package dev.ckpt.store;

import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.util.ShellWords;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Ids;
import dev.ckpt.store.manifest.RootState;

import java.util.List;
import java.util.Optional;

/** Checkpoint selectors: what a user types to name a checkpoint, resolved against ROOT. */
final class Selectors {
    private Selectors() {
    }

    /**
     * The checkpoint {@code selector} names in {@code s}: an id, {@code latest},
     * {@code RUN:latest} or {@code RUN@STEP} (the newest of RUN at STEP).
     *
     * @param storeUrl the store, as {@code ObjectStore.describe()} gives it, for the advice
     * @throws InvalidInputException for a selector of the wrong shape
     * @throws NotFoundException when nothing matches; the message lists the run's steps or the
     *         runs there are, and the {@code ckpt-tool ls} command that shows them
     */
    static CheckpointEntry resolve(RootState s, String selector, String storeUrl) {
        if (selector == null || selector.isBlank()) {
            throw new InvalidInputException("no checkpoint given: use an id, latest, RUN:latest or RUN@STEP");
        }
        problem(selector).ifPresent(why -> {
            throw new InvalidInputException("invalid checkpoint selector '" + selector + "': " + why);
        });
        if (selector.equals("latest")) {
            return s.latest(null).orElseThrow(() -> new NotFoundException(selector, "the store has no checkpoints"));
        }
        if (selector.endsWith(":latest")) {
            String run = selector.substring(0, selector.length() - ":latest".length());
            return s.latest(run).orElseThrow(() -> new NotFoundException(selector, "run '" + run + "' has no checkpoints"
                    + runsHint(s, storeUrl)));
        }
        int at = selector.lastIndexOf('@');
        if (at > 0) {
            String run = selector.substring(0, at);
            long step = Long.parseLong(selector.substring(at + 1)); // a number: problem() said so
            List<CheckpointEntry> ofRun = s.checkpointsOf(run);
            return ofRun.stream().filter(e -> e.step() == step).reduce((a, b) -> b)
                    .orElseThrow(() -> new NotFoundException(selector, ofRun.isEmpty()
                            ? "run '" + run + "' has no checkpoints" + runsHint(s, storeUrl)
                            : "run '" + run + "' has no checkpoint at step " + step + " (its steps: "
                            + steps(ofRun) + "); list them with ckpt-tool ls " + ShellWords.word(storeUrl) + " --run " + run));
        }
        CheckpointEntry e = s.checkpoints().get(selector);
        if (e == null) {
            throw new NotFoundException(selector, "no checkpoint '" + selector + "' in ROOT (it may have been dropped by"
                    + " retention); list them with ckpt-tool ls " + ShellWords.word(storeUrl));
        }
        return e;
    }

    /**
     * What is wrong with the shape of {@code selector} (not blank), without looking at any store:
     * {@code RUN@STEP} with a STEP that is no whole number; empty when the shape is fine.
     */
    static Optional<String> problem(String selector) {
        String rules = " 1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit";
        if (selector.equals("latest")) {
            return Optional.empty();
        }
        if (selector.endsWith(":latest")) {
            return Ids.isName(selector.substring(0, selector.length() - ":latest".length())) ? Optional.empty()
                    : Optional.of("the run before ':latest' must be" + rules);
        }
        int at = selector.lastIndexOf('@');
        if (at > 0) {
            // ASCII digits only, as push takes a step (helper-115: "+400" and Arabic-Indic digits were step 400)
            String step = selector.substring(at + 1);
            if (!step.matches("[0-9]+")) {
                return Optional.of("the step after '@' must be a whole number, 0 or more");
            }
            try {
                // every step push takes (helper-120: 19 digits were refused as no number; helper-121: leading zeros)
                Long.parseLong(step);
            } catch (NumberFormatException e) {
                return Optional.of("the step after '@' must be at most " + Long.MAX_VALUE + ", the largest a push takes");
            }
            return Ids.isName(selector.substring(0, at)) ? Optional.empty()
                    : Optional.of("the run before '@' must be" + rules);
        }
        // an id: a run name's rules (helper-115: "@5" and "latest:x" were looked up, and "may have been dropped by
        // retention")
        return Ids.isName(selector) ? Optional.empty() : Optional.of("a checkpoint id is" + rules);
    }

    /** The steps of a run's checkpoints, oldest first: up to 10 and "..." between the first and the last. */
    private static String steps(List<CheckpointEntry> ofRun) {
        List<String> all = ofRun.stream().map(e -> Long.toString(e.step())).distinct().toList();
        return all.size() <= 10 ? String.join(", ", all)
                : String.join(", ", all.subList(0, 5)) + ", ..., " + String.join(", ", all.subList(all.size() - 4, all.size()));
    }

    /** The runs that have checkpoints (up to 10), and where to see them. */
    private static String runsHint(RootState s, String storeUrl) {
        List<String> runs = s.checkpoints().values().stream().map(CheckpointEntry::run).distinct().sorted().toList();
        if (runs.isEmpty()) {
            return " (the store holds none)";
        }
        return " (the runs that have: " + String.join(", ", runs.subList(0, Math.min(10, runs.size())))
                + (runs.size() > 10 ? ", ... (" + runs.size() + " in all)" : "") + "); list them with ckpt-tool ls " + ShellWords.word(storeUrl);
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.ShellWords;
import dev.ckpt.store.ForgetRequest;
import dev.ckpt.store.RetentionRequest;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.RetentionResult;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

@Command(name = "forget", description = {"Remove checkpoints from the store by policy or by name.",
        "Their data is deleted by the next gc. A policy keeps pinned checkpoints and each run's newest verified one;"
                + " by name, a pinned checkpoint is refused until it is unpinned, and any other is forgotten as named.",
        "A checkpoint the policy would keep that cannot be restored (its manifest or a chunk missing or damaged, as"
                + " verify finds without --read-data) is kept, with a note, and not counted: the policy keeps that many"
                + " restorable ones besides.",
        "A checkpoint without a numeric METRIC is left to the other rules (kept if there are none); a policy that"
                + " would keep none of a run's checkpoints is refused (exit 2) and nothing changes."},
        footer = {"", "Examples:", "  ckpt-tool forget ./ckpt-store --run demo --keep-last 3 --dry-run",
                "  ckpt-tool forget ./ckpt-store --keep-best loss:min", "  ckpt-tool forget ./ckpt-store demo@100 demo@150"})
final class ForgetCommand extends StoreCommand {
    @Parameters(index = "1..*", paramLabel = "CKPT", description = "checkpoints to forget (id, RUN@STEP, ...)")
    List<String> ckpts = new ArrayList<>();

    @Override
    void checkArguments() {
        SelectorShape.check(spec, ckpts); // not a converter: on a list, picocli said only "Unmatched argument"
        if (run != null) {
            runName("--run", run); // a name no push accepts, as ls and push say it
        }
    }

    @Option(names = "--run", paramLabel = "RUN", description = "apply the policy to this run only (with a policy"
            + " only)")
    String run;

    @ArgGroup(exclusive = false)
    Policy policy;

    static final class Policy {
        @Option(names = "--keep-last", paramLabel = "N", description = "keep the newest N of each run")
        Integer keepLast;

        @Option(names = "--keep-every-steps", paramLabel = "K", description = "keep those whose step is a multiple of K")
        Long keepEvery;

        @Option(names = "--keep-best", paramLabel = "METRIC[:min|max]", description = "keep the best by a metadata value (default min)")
        String keepBest;
    }

    @Option(names = "--dry-run", description = "only say what would be forgotten")
    boolean dryRun;

    @Override
    RuntimeException onFullDisk(dev.ckpt.store.error.StoreUnavailableException e) {
        return rootNeedsRoom(e, "run forget again, then gc to delete what it forgot");
    }

    @Override
    int run(CheckpointStore store) {
        boolean byPolicy = policy != null;
        if (byPolicy == !ckpts.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "give either a policy (--keep-last, --keep-every-steps, --keep-best) or checkpoints, not both or neither");
        }
        if (run != null && !byPolicy) {
            // forget S --run r2 r1@100 forgot r1@100: --run was read for a policy and ignored (helper-145)
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--run goes with a policy (--keep-last,"
                    + " --keep-every-steps, --keep-best); a checkpoint given by name names its own run: give RUN@STEP,"
                    + " RUN:latest or its id, without --run; nothing was forgotten");
        }
        List<String> gone;
        List<String> notes = List.of();
        if (byPolicy) {
            Retention policy = RetentionArgs.build(spec, this.policy.keepLast, this.policy.keepEvery, this.policy.keepBest);
            java.util.Map<String, String> runById = new java.util.HashMap<>();
            if (run == null) {
                store.list(null).forEach(c -> runById.put(c.id(), c.run()));
            }
            RetentionResult r = store.forget(RetentionRequest.of(policy).forRun(run).withDryRun(dryRun));
            if (r.refused()) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), String.join("; ", r.refusals())
                        + "; nothing was forgotten in any run: fix the policy"
                        + (run == null ? ", or give --run RUN to apply it to one run only" : ""));
            }
            gone = r.forgotten();
            notes = new java.util.ArrayList<>(r.notes());
            if (run != null && store.list(run).isEmpty()) {
                // a mistyped run read as "nothing to forget" (helper-120): say that it has no checkpoints, as ls does
                List<String> runs = store.list(null).stream().map(dev.ckpt.store.manifest.CheckpointEntry::run).distinct()
                        .toList();
                notes.add("run " + ShowCommand.printable(run) + " has no checkpoints" + LsCommand.runsWithCheckpoints(runs));
            }
            long runs = gone.stream().map(id -> runById.getOrDefault(id, id)).distinct().count();
            if (run == null && runs > 1) { // documented, and easy to do by accident (helper-98)
                notes.add("without --run the policy applied to each run: " + (dryRun ? "would forget " : "forgot ")
                        + count(gone.size(), "checkpoint") + " of " + runs + " runs (--run RUN applies it to one run only)");
            }
        } else {
            gone = store.forget(ForgetRequest.of(ckpts).withDryRun(dryRun));
        }
        notes.forEach(n -> err().println("note: " + Printable.message(n))); // metadata, keys: one line each
        print(new Forgotten(dryRun, gone, notes, this.store));
        return ExitCode.OK;
    }

    /**
     * @param forgotten ids removed from ROOT (or that would be, in a dry run)
     * @param notes     what the policy kept and why, also printed on stderr
     * @param store     the store as given, for the gc command the text suggests
     */
    record Forgotten(boolean dryRun, List<String> forgotten, List<String> notes, @com.fasterxml.jackson.annotation.JsonIgnore String store) implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            for (String id : forgotten) {
                out.println((dryRun ? "would forget " : "forgot ") + id);
            }
            out.println(forgotten.isEmpty() ? "nothing to forget" : (dryRun ? "dry run: nothing changed" : count(forgotten.size(), "checkpoint")
                    + " forgotten; ckpt-tool gc " + ShellWords.word(store) + " frees " + (forgotten.size() == 1 ? "its" : "their") + " space"));
        }
    }

    @Override
    String interrupted(String committing) {
        return "its change to ROOT may or may not have been written; check with ckpt-tool ls " + ShellWords.word(store);
    }
}

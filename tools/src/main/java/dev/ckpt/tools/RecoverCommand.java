package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.RecoveryReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

@Command(name = "recover", description = {"Rebuild a damaged or missing ROOT from the manifests in the store.",
        "A dry run unless --apply. Each manifest is kept when it parses and all its chunks are present, else skipped"
                + " with the reason. Every run gets a writer epoch above any seen, so jobs that wrote before stay fenced:"
                + " restart them. Refused while objects younger than --quiet-period exist (a save or GC may still run)"
                + " unless --force; the new ROOT is written only if ROOT is still the damaged one, which is first copied"
                + " to recovery/.",
        "A readable ROOT is never replaced. Pins and verified marks were in ROOT and are lost."},
        footer = {"", "Examples:", "  ckpt-tool recover s3://ml-ckpt/llama            # what would be rebuilt",
                "  ckpt-tool recover s3://ml-ckpt/llama --apply"})
final class RecoverCommand extends StoreCommand {
    @Option(names = "--apply", description = "write the new ROOT (default: only say what would be written)")
    boolean apply;

    @Option(names = "--quiet-period", paramLabel = "DURATION", converter = Durations.class, defaultValue = "15m",
            description = "refuse if any object was written more recently than this (default 15m)")
    Duration quietPeriod;

    @Option(names = "--force", description = "rebuild even if objects were written within the quiet period")
    boolean force;

    @Override
    RuntimeException onFullDisk(dev.ckpt.store.error.StoreUnavailableException e) {
        return rootNeedsRoom(e, "", "run recover again"); // another directory is no advice (helper-104)
    }

    @Override
    int run(CheckpointStore store) {
        RecoveryReport r = store.recover(apply, quietPeriod, force);
        if (r.condition() == RecoveryReport.Condition.MISSING && r.manifests().isEmpty()
                && store.objectStore().list("chunks/").isEmpty()) {
            throw dev.ckpt.store.commit.RootStore.noStore(store.objectStore()); // as every other reading command (helper-92)
        }
        print(Recovery.of(r));
        return switch (r.decision()) {
            case NOTHING_TO_DO, WOULD_REWRITE, REWRITTEN -> ExitCode.OK;
            case REFUSED_RECENT_ACTIVITY, CONFLICT -> ExitCode.FENCED_OR_CONFLICT;
        };
    }

    /**
     * @param root          HEALTHY, MISSING or DAMAGED
     * @param newestObject  the most recently written object (what the quiet period is measured against)
     * @param backup        where the damaged ROOT was copied before it was replaced
     * @param rebuiltRuns   the runs of the rebuilt ROOT, null if none was built (text form only)
     */
    record Recovery(RecoveryReport.Condition root, String rootProblem, RecoveryReport.Decision decision, String message,
                    List<Manifest> manifests, long writerEpoch, long highestEpochSeen, long gcGeneration,
                    String newestObject, Instant newestWrittenAt, String backup, @JsonIgnore List<String> rebuiltRuns)
            implements OutputOptions.Result {
        static Recovery of(RecoveryReport r) {
            return new Recovery(r.condition(), r.rootProblem(), r.decision(), r.message(),
                    r.manifests().stream().map(f -> new Manifest(f.key(), f.checkpointId(), f.run(), f.step(), f.kept(),
                            f.reason())).toList(), r.writerEpoch(), r.highestEpochSeen(), r.gcGeneration(), r.newestKey(),
                    r.newestAt(), r.backupKey(), r.rebuilt() == null ? null : List.copyOf(r.rebuilt().runs().keySet()));
        }

        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            if (rootProblem != null) {
                out.println("damaged: " + Printable.message(rootProblem));
            } else if (root == RecoveryReport.Condition.MISSING && !manifests.isEmpty()) { // none: the message says so
                out.println("missing: the store has manifests but no ROOT");
            }
            for (Manifest f : manifests) {
                out.printf("%-8s %s  %s%n", f.kept() ? "kept" : "skipped",
                        f.run() == null ? ShowCommand.printable(f.key()) : f.id() + " (run " + f.run() + ", step " + f.step() + ")",
                        Printable.message(f.reason()));
            }
            if (rebuiltRuns != null) {
                out.printf("writer epoch %d for run%s %s (highest seen %d); GC generation %d%n", writerEpoch,
                        rebuiltRuns.size() == 1 ? "" : "s", String.join(", ", rebuiltRuns), highestEpochSeen, gcGeneration);
            }
            out.println(Printable.message(message)); // a listed key's line break escaped: one line
        }
    }

    /** A manifest found in the store: kept in the rebuilt ROOT or skipped, and why. */
    record Manifest(String key, String id, String run, long step, boolean kept, String reason) {
    }

    @Override
    String interrupted(String committing) {
        return "ROOT is either as it was or the rebuilt one; run recover again to see which";
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.RecoveryReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "recover", description = {"Rebuild a damaged or missing ROOT from the manifests in the store.",
        "A dry run unless --apply. Each manifest is kept when it parses and all its chunks are present, else skipped",
        "with the reason. Every run gets a writer epoch above any seen, so jobs that wrote before stay fenced: restart",
        "them. Refused while objects younger than --quiet-period exist (a save or GC may still run) unless --force;",
        "the new ROOT is written only if ROOT is still the damaged one, which is first copied to recovery/.",
        "A readable ROOT is never replaced. Pins and verified marks were in ROOT and are lost."},
        footer = {"", "Example:", "  ckpt-tool recover s3://ml-ckpt/llama            # what would be rebuilt",
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
    int run(CheckpointStore store) {
        RecoveryReport r = store.recover(apply, quietPeriod, force);
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("root", r.condition().name());
            j.put("rootProblem", r.rootProblem());
            j.put("decision", r.decision().name());
            j.put("message", r.message());
            List<Map<String, Object>> ms = new ArrayList<>();
            for (RecoveryReport.Finding f : r.manifests()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("key", f.key());
                m.put("id", f.checkpointId());
                m.put("run", f.run());
                m.put("step", f.step());
                m.put("kept", f.kept());
                m.put("reason", f.reason());
                ms.add(m);
            }
            j.put("manifests", ms);
            j.put("writerEpoch", r.writerEpoch());
            j.put("highestEpochSeen", r.highestEpochSeen());
            j.put("gcGeneration", r.gcGeneration());
            j.put("newestObject", r.newestKey());
            j.put("newestWrittenAt", r.newestAt());
            j.put("backup", r.backupKey());
            output.printJson(out(), j);
        } else {
            if (r.rootProblem() != null) {
                out().println("damaged: " + r.rootProblem());
            } else if (r.condition() == RecoveryReport.Condition.MISSING) {
                out().println("missing: the store has manifests but no ROOT");
            }
            for (RecoveryReport.Finding f : r.manifests()) {
                out().printf("%-8s %s  %s%n", f.kept() ? "kept" : "skipped",
                        f.run() == null ? f.key() : f.checkpointId() + " (run " + f.run() + ", step " + f.step() + ")", f.reason());
            }
            if (r.rebuilt() != null) {
                out().printf("writer epoch %d for runs %s (highest seen %d); GC generation %d%n", r.writerEpoch(),
                        String.join(", ", r.rebuilt().runs().keySet()), r.highestEpochSeen(), r.gcGeneration());
            }
            out().println(r.message());
        }
        return switch (r.decision()) {
            case NOTHING_TO_DO, WOULD_REWRITE, REWRITTEN -> ExitCode.OK;
            case REFUSED_RECENT_ACTIVITY, CONFLICT -> ExitCode.FENCED_OR_CONFLICT;
        };
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "ls", description = {"List checkpoints: id, run, step, created, files, logical size, bytes only it holds, pinned.",
        "Sorted by run, then step."},
        footer = {"", "Example:", "  ckpt-tool ls s3://ml-ckpt/llama --run run-42"})
final class LsCommand extends StoreCommand {
    @Option(names = "--run", description = "only this run")
    String run;

    @Override
    int run(CheckpointStore store) {
        Inventory inv = new Inventory(store, run);
        if (output.json) {
            List<Map<String, Object>> list = new ArrayList<>();
            for (CheckpointEntry e : inv.checkpoints) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("id", e.id());
                j.put("run", e.run());
                j.put("step", e.step());
                j.put("created", e.created().toString());
                j.put("files", e.files());
                j.put("logicalBytes", e.logicalBytes());
                j.put("uniqueBytes", inv.uniqueBytes(e.id()));
                j.put("pinned", e.pinned());
                j.put("metadata", e.metadata());
                list.add(j);
            }
            output.printJson(out(), Map.of("store", store.objectStore().describe(), "checkpoints", list));
            return ExitCode.OK;
        }
        String fmt = "%-32s %-16s %10s  %-20s %5s %10s %10s  %s%n";
        out().printf(fmt, "ID", "RUN", "STEP", "CREATED", "FILES", "SIZE", "UNIQUE", "PINNED");
        for (CheckpointEntry e : inv.checkpoints) {
            out().printf(fmt, e.id(), e.run(), e.step(), e.created().toString().replaceFirst("\\.\\d+Z$", "Z"), e.files(),
                    human(e.logicalBytes()), human(inv.uniqueBytes(e.id())), e.pinned() ? "yes" : "");
        }
        if (inv.checkpoints.isEmpty()) {
            err().println("no checkpoints" + (run == null ? "" : " for run " + run) + " in " + store.objectStore().describe());
        }
        return ExitCode.OK;
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.GcRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.StoreConfig;
import dev.ckpt.store.gc.GcResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "gc", description = {"Delete data no live checkpoint references (older than the grace age).",
        "Safe while saves run. --dry-run deletes nothing and reports exactly what gc would delete."},
        footer = {"", "Example:", "  ckpt-tool gc s3://ml-ckpt/llama --dry-run --grace 2h"})
final class GcCommand extends StoreCommand {
    @Option(names = "--dry-run", description = "only say what would be deleted")
    boolean dryRun;

    @Option(names = "--grace", paramLabel = "DURATION", converter = Durations.class, defaultValue = "1h",
            description = "spare unreferenced objects younger than this (default 1h): uploads of saves in flight")
    Duration grace;

    @Option(names = "--list", description = "list every deleted (or deletable) object")
    boolean list;

    @Override
    StoreConfig config() {
        return StoreConfig.defaults().withGcGrace(grace);
    }

    @Override
    int run(CheckpointStore store) {
        GcResult r;
        try (OutputOptions.Progress p = output.start(err(), dryRun ? "gc --dry-run" : "gc")) {
            r = store.gc(GcRequest.of(dryRun).withProgress(p::update));
        }
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("dryRun", r.dryRun());
            j.put("generation", r.generation());
            j.put("resumed", r.resumed());
            j.put("deletedObjects", r.deletedKeys().size());
            j.put("deletedBytes", r.deletedBytes());
            j.put("deleted", r.deletedKeys());
            j.put("liveCheckpoints", r.liveCheckpoints());
            j.put("youngUnreferenced", r.youngUnreferenced());
            j.put("grace", Durations.format(grace));
            output.printJson(out(), j);
        } else {
            if (list) {
                r.deletedKeys().forEach(k -> out().println((dryRun ? "would delete " : "deleted ") + k));
            }
            out().printf("%s %d objects (%s)%s; %d live checkpoints; %d unreferenced objects younger than %s spared%n",
                    dryRun ? "would delete" : "deleted", r.deletedKeys().size(), human(r.deletedBytes()),
                    r.resumed() ? " finishing a GC that had crashed" : "", r.liveCheckpoints(), r.youngUnreferenced(),
                    Durations.format(grace));
        }
        return ExitCode.OK;
    }
}

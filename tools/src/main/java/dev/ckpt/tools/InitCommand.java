package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.RootState;
import picocli.CommandLine.Command;

import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "init", description = "Create the store (its ROOT). Idempotent.",
        footer = {"", "Example:", "  ckpt-tool init s3://ml-ckpt/llama"})
final class InitCommand extends StoreCommand {
    @Override
    boolean createsStore() {
        return true;
    }

    @Override
    int run(CheckpointStore store) {
        long before = store.root().version();
        RootState r = store.init();
        boolean created = before == 0 && r.version() > 0;
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("store", store.objectStore().describe());
            j.put("created", created);
            j.put("checkpoints", r.checkpoints().size());
            output.printJson(out(), j);
        } else {
            out().println((created ? "initialized " : "already initialized: ") + store.objectStore().describe()
                    + " (" + r.checkpoints().size() + " checkpoints)");
        }
        return ExitCode.OK;
    }
}

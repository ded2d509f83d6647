package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.RootState;
import picocli.CommandLine.Command;

import java.io.PrintWriter;


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
        print(new Initialized(store.objectStore().describe(), created, r.checkpoints().size()));
        return ExitCode.OK;
    }

    /** @param created whether this call wrote the first ROOT */
    record Initialized(String store, boolean created, int checkpoints) implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.println((created ? "initialized " : "already initialized: ") + store + " (" + count(checkpoints, "checkpoint") + ")");
        }
    }

    @Override
    String interrupted(String committing) {
        return "ROOT may or may not have been written; running init again is safe";
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.Map;

@Command(name = "pin", description = "Pin a checkpoint: no retention policy or forget by policy drops it.",
        footer = {"", "Example:", "  ckpt-tool pin ./ckpt-store demo@200"})
class PinCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint")
    String ckpt;

    boolean pinned() {
        return true;
    }

    @Override
    int run(CheckpointStore store) {
        CheckpointEntry e = store.pin(ckpt, pinned());
        if (output.json) {
            output.printJson(out(), Map.of("id", e.id(), "pinned", e.pinned()));
        } else {
            out().println((e.pinned() ? "pinned " : "unpinned ") + e.id());
        }
        return ExitCode.OK;
    }
}

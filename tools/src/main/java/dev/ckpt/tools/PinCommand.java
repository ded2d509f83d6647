package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.ShellWords;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;

@Command(name = "pin", description = "Pin a checkpoint: no retention policy or forget by policy drops it.",
        footer = {"", "Example:", "  ckpt-tool pin ./ckpt-store demo@200"})
class PinCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint", converter = SelectorShape.class)
    String ckpt;

    boolean pinned() {
        return true;
    }

    @Override
    RuntimeException onFullDisk(dev.ckpt.store.error.StoreUnavailableException e) {
        return rootNeedsRoom(e, "", "run " + spec.name() + " again"); // another directory is no advice (helper-104)
    }

    @Override
    int run(CheckpointStore store) {
        CheckpointStore.PinResult r = store.pin(ckpt, pinned());
        print(new Pinned(r.checkpoint().id(), r.checkpoint().pinned(), r.changed()));
        return ExitCode.OK;
    }

    /** The checkpoint's pin after the command, and whether the command changed it. */
    record Pinned(String id, boolean pinned, boolean changed) implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            // a new-user tryout: "unpinned X" of a checkpoint that had never been pinned
            out.println(changed ? (pinned ? "pinned " : "unpinned ") + id
                    : id + (pinned ? " was already pinned" : " was not pinned") + "; nothing changed");
        }
    }

    @Override
    String interrupted(String committing) {
        return "its change to ROOT may or may not have been written; check with ckpt-tool ls " + ShellWords.word(store);
    }
}

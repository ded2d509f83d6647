package dev.ckpt.tools;

import picocli.CommandLine.Command;

@Command(name = "unpin", description = "Unpin a checkpoint: retention may drop it again.",
        footer = {"", "Example:", "  ckpt-tool unpin ./ckpt-store demo@200"})
final class UnpinCommand extends PinCommand {
    @Override
    boolean pinned() {
        return false;
    }
}

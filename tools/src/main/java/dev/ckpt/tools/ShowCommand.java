package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "show", description = "Show a checkpoint: its files with size and SHA-256, chunk counts, metadata.",
        footer = {"", "CKPT is an id, latest, RUN:latest or RUN@STEP.", "", "Example:", "  ckpt-tool show ./ckpt-store demo:latest"})
final class ShowCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint")
    String ckpt;

    @Override
    int run(CheckpointStore store) {
        CheckpointEntry e = store.resolve(ckpt);
        Manifest m = store.manifest(e);
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("id", m.id());
            j.put("run", m.run());
            j.put("step", m.step());
            j.put("epoch", m.epoch());
            j.put("created", m.created().toString());
            j.put("writer", m.writer());
            j.put("pinned", e.pinned());
            j.put("metadata", m.metadata());
            j.put("logicalBytes", m.logicalBytes());
            j.put("distinctChunks", m.chunks().size());
            List<Map<String, Object>> files = new ArrayList<>();
            for (FileEntry f : m.files()) {
                files.add(Map.of("path", f.path(), "size", f.size(), "sha256", f.sha256(), "chunks", f.chunks().size(),
                        "mode", Integer.toOctalString(f.mode())));
            }
            j.put("files", files);
            output.printJson(out(), j);
            return ExitCode.OK;
        }
        out().printf("checkpoint %s%n  run %s, step %d%s, created %s%n  writer %s (epoch %d)%s%n", m.id(), m.run(), m.step(),
                m.epoch() == null ? "" : ", epoch " + m.epoch(), m.created(), m.writer() == null ? "?" : m.writer().id(),
                m.writer() == null ? 0 : m.writer().epoch(), e.pinned() ? ", pinned" : "");
        if (!m.metadata().isEmpty()) {
            out().println("  metadata " + m.metadata());
        }
        out().printf("  %d files, %s, %d distinct chunks%n", m.files().size(), human(m.logicalBytes()), m.chunks().size());
        for (FileEntry f : m.files()) {
            out().printf("  %-40s %12d  %s  %d chunks%n", f.path(), f.size(), f.sha256(), f.chunks().size());
        }
        return ExitCode.OK;
    }
}

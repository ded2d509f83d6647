package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.restore.RestoreResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "restore", description = {"Restore a checkpoint into a directory, verified.", "Every chunk's and file's SHA-256 is checked.",
        "Files are renamed into place only when the whole checkpoint verified; a failed restore leaves DIR as it was",
        "(every destination is checked first; files already renamed are taken back, replaced ones restored)."},
        footer = {"", "CKPT is an id, latest, RUN:latest or RUN@STEP.", "", "Example:", "  ckpt-tool restore ./ckpt-store run-42@1000 ./restored"})
final class RestoreCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint")
    String ckpt;

    @Parameters(index = "2", paramLabel = "DIR", description = "the target directory")
    Path dir;

    @Option(names = "--reuse", paramLabel = "DIR", description = "a local copy whose matching chunks need no download (repeatable)")
    List<Path> reuse = new ArrayList<>();

    @Override
    int run(CheckpointStore store) {
        RestoreResult r;
        try (OutputOptions.Progress p = output.start(err(), "restore " + ckpt)) {
            r = store.restore(store.resolve(ckpt), dir, reuse, p);
        }
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("id", r.checkpointId());
            j.put("run", r.run());
            j.put("step", r.step());
            j.put("files", r.files());
            j.put("bytes", r.bytes());
            j.put("chunksDownloaded", r.chunksDownloaded());
            j.put("chunksReused", r.chunksReused());
            j.put("directory", dir.toAbsolutePath().toString());
            j.put("millis", r.time().toMillis());
            output.printJson(out(), j);
        } else {
            out().printf("restored %s (run %s, step %d): %d files, %s into %s; %d chunks downloaded, %d reused locally, %d ms%n",
                    r.checkpointId(), r.run(), r.step(), r.files(), human(r.bytes()), dir, r.chunksDownloaded(),
                    r.chunksReused(), r.time().toMillis());
        }
        return ExitCode.OK;
    }
}

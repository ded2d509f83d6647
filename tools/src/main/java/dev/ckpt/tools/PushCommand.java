package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "push", description = {"Save a directory as a checkpoint of a run and commit it.",
        "Prints the new checkpoint id on stdout. Pushing claims the run: an older writer of the run is fenced."},
        footer = {"", "Example:", "  ckpt-tool push ./ckpt-store staging/step-1000 --run run-42 --step 1000 --meta loss=0.31 --keep-last 3"})
final class PushCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "DIR", description = "the directory to save")
    Path dir;

    @Option(names = "--run", required = true, description = "run name")
    String run;

    @Option(names = "--step", required = true, description = "training step")
    long step;

    @Option(names = "--epoch", description = "training epoch")
    Long epoch;

    @Option(names = "--meta", paramLabel = "KEY=VALUE", description = "metadata (repeatable), e.g. loss=0.31")
    Map<String, String> meta = new LinkedHashMap<>();

    @Option(names = "--keep-last", paramLabel = "N", description = "then keep only the newest N checkpoints of the run")
    Integer keepLast;

    @Option(names = "--keep-every-steps", paramLabel = "K", description = "and keep every checkpoint whose step is a multiple of K")
    Long keepEvery;

    @Override
    int run(CheckpointStore store) {
        Retention r = RetentionArgs.build(spec, keepLast, keepEvery, null);
        SaveResult s;
        try (OutputOptions.Progress p = output.start(err(), "push " + dir)) {
            WriterToken w = store.claimWriter(run, "ckpt-tool");
            s = store.save(w, new SaveRequest(dir, run, step, epoch, meta, r, null), p);
        }
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("id", s.checkpointId());
            j.put("run", s.run());
            j.put("step", s.step());
            j.put("files", s.files());
            j.put("logicalBytes", s.logicalBytes());
            j.put("newChunks", s.newChunks());
            j.put("newBytes", s.newBytes());
            j.put("storedBytesUploaded", s.storedBytesUploaded());
            j.put("dedupChunks", s.dedupChunks());
            j.put("dedupBytes", s.dedupBytes());
            j.put("droppedByRetention", s.droppedByRetention());
            j.put("millis", s.totalTime().toMillis());
            output.printJson(out(), j);
        } else {
            out().println(s.checkpointId());
            err().println(s.summary());
            if (!s.droppedByRetention().isEmpty()) {
                err().println("retention dropped: " + String.join(", ", s.droppedByRetention()) + " (run ckpt-tool gc to free space)");
            }
        }
        return ExitCode.OK;
    }
}

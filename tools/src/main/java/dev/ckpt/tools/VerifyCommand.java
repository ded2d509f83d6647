package dev.ckpt.tools;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.restore.VerifyReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "verify", description = {"Check checkpoints for missing or corrupt data; exits 3 on damage.",
        "Structural by default (all checkpoints when none is named): every manifest reads and matches ROOT and every",
        "chunk exists with its size, from one listing. --read-data downloads and re-hashes all chunks and files,",
        "or PERCENT of the chunks."},
        footer = {"", "Example:", "  ckpt-tool verify s3://ml-ckpt/llama --read-data=10"})
final class VerifyCommand extends StoreCommand {
    @Parameters(index = "1..*", paramLabel = "CKPT", description = "checkpoints to verify (id, latest, RUN:latest, RUN@STEP)")
    List<String> ckpts = new ArrayList<>();

    @Option(names = "--read-data", arity = "0..1", fallbackValue = "100", paramLabel = "PERCENT",
            description = "download and re-hash the data: all of it, or PERCENT of the chunks")
    Integer percent;

    @Option(names = "--record", description = "after a full --read-data verify that found nothing, record the checkpoints as"
            + " verified in ROOT (retention never drops a run's newest verified checkpoint)")
    boolean record;

    @Override
    int run(CheckpointStore store) {
        if (percent != null && (percent < 1 || percent > 100)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--read-data takes a percentage from 1 to 100");
        }
        VerifyReport r;
        try (OutputOptions.Progress p = output.start(err(), "verify")) {
            r = store.verify(new VerifyRequest(ckpts, percent == null ? 0 : percent / 100.0));
        }
        List<String> recorded = new ArrayList<>();
        if (record) {
            if (percent == null || percent < 100) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--record needs a full --read-data");
            }
            if (r.ok()) {
                (ckpts.isEmpty() ? store.list(null).stream().map(e -> e.id()).toList()
                        : ckpts.stream().map(c -> store.resolve(c).id()).toList()).forEach(recorded::add);
                store.recordVerified(recorded);
            }
        }
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("ok", r.ok());
            j.put("recordedVerified", recorded);
            j.put("deep", r.deep());
            j.put("checkpoints", r.checkpoints());
            j.put("chunksChecked", r.chunksChecked());
            j.put("bytesChecked", r.bytesChecked());
            List<Map<String, String>> problems = new ArrayList<>();
            for (VerifyReport.Problem p : r.problems()) {
                problems.add(Map.of("checkpoint", p.checkpointId(), "key", p.key(), "kind", p.kind().name(), "message", p.message()));
            }
            j.put("problems", problems);
            output.printJson(out(), j);
        } else {
            for (VerifyReport.Problem p : r.problems()) {
                out().printf("%-19s %s  %s%n", p.kind(), p.checkpointId(), p.message());
            }
            out().printf("%s: %d checkpoints, %s%s%n", r.ok() ? "ok" : "DAMAGED", r.checkpoints(),
                    r.deep() ? r.chunksChecked() + " chunks (" + human(r.bytesChecked()) + ") re-hashed" : "structure checked",
                    r.ok() ? "" : ", " + r.problems().size() + " problems");
            if (!recorded.isEmpty()) {
                out().println("recorded as verified: " + String.join(", ", recorded));
            }
        }
        return r.ok() ? ExitCode.OK : ExitCode.DAMAGE;
    }
}

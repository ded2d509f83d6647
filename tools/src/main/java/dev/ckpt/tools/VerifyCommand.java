package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.ShellWords;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.restore.VerifyReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

@Command(name = "verify", description = {"Check checkpoints for missing or corrupt data; exits 3 on damage.",
        "Structural by default (all checkpoints when none is named): every manifest reads and matches ROOT and every"
                + " chunk exists with its size, from one listing. --read-data downloads and re-hashes all chunks and"
                + " files, or PERCENT of the chunks (chosen by their hash, at least one of each checkpoint: the same"
                + " chunks every run, so a sample repeated reads nothing new; --read-data alone reads them all)."},
        footer = {"", "Example:", "  ckpt-tool verify s3://ml-ckpt/llama --read-data=10"})
final class VerifyCommand extends StoreCommand {
    @Parameters(index = "1..*", paramLabel = "CKPT", description = "checkpoints to verify (id, latest, RUN:latest, RUN@STEP)")
    List<String> ckpts = new ArrayList<>();

    @Override
    void checkArguments() {
        SelectorShape.check(spec, ckpts); // not a converter: on a list, picocli said only "Unmatched argument"
        if (record && (percent == null || percent < 100)) {
            // before the store is opened: the verify's progress line came first, then the usage error (helper-152)
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--record needs a full --read-data");
        }
    }

    @Option(names = "--read-data", arity = "0..1", fallbackValue = "100", paramLabel = "PERCENT",
            preprocessor = PercentOrNot.class, converter = Percent.class,
            description = "download and re-hash the data: all of it, or PERCENT of the chunks (--read-data=10 or"
                    + " --read-data 10)")
    Integer percent;

    /**
     * {@code --read-data} takes the next word only when it is a number: {@code verify --read-data STORE}
     * and {@code verify STORE --read-data t@10} mean all the data of STORE or of t@10, not a
     * percentage "STORE" (picocli's own rule would take any word that is not an option). An
     * attached value ({@code --read-data=abc}) is always the percentage, and is refused if not one.
     */
    static final class PercentOrNot implements picocli.CommandLine.IParameterPreprocessor {
        @Override
        public boolean preprocess(java.util.Stack<String> args, picocli.CommandLine.Model.CommandSpec commandSpec,
                                  picocli.CommandLine.Model.ArgSpec argSpec, java.util.Map<String, Object> info) {
            if (" ".equals(info.get("separator")) && (args.isEmpty() || !Percent.looksLikeOne(args.peek()))) {
                args.push("100"); // as if --read-data=100: the next word stays a store or checkpoint
            }
            return false; // picocli parses the value as usual
        }
    }

    /**
     * PERCENT: a whole number from 1 to 100, a trailing % allowed. A word that looks like a
     * number ({@code -5}, {@code 50.5}, {@code 10%}) is always taken as the percentage and
     * refused if it is not one (a store or checkpoint never looks like that; a store in a
     * directory named {@code 50} is {@code ./50}).
     */
    static final class Percent implements picocli.CommandLine.ITypeConverter<Integer> {
        static boolean looksLikeOne(String word) {
            return word.matches("[-+]?[0-9][0-9.,eE]*%?");
        }

        @Override
        public Integer convert(String value) {
            String v = value.endsWith("%") ? value.substring(0, value.length() - 1) : value;
            int n;
            try {
                // the digits 0-9 only: Integer.parseInt also takes other scripts' (helper-130: --read-data=٥٠ ran)
                n = v.matches("[+]?[0-9]+") ? Integer.parseInt(v) : -1;
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1 || n > 100) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a whole percentage from 1"
                        + " to 100 (--read-data=10 re-hashes 10 % of the chunks; --read-data alone, all the data)");
            }
            return n;
        }
    }

    @Option(names = "--record", description = "after a full --read-data verify that found nothing, record the checkpoints as"
            + " verified in ROOT (retention never drops a run's newest verified checkpoint)")
    boolean record;

    @Override
    int run(CheckpointStore store) {
        VerifyReport r;
        try (OutputOptions.Progress p = output.start(err(), "verify")) {
            r = store.verify(new VerifyRequest(ckpts, percent == null ? 0 : percent / 100.0));
        }
        List<String> recorded = new ArrayList<>();
        if (record) { // with a full --read-data (checkArguments)
            if (r.ok()) {
                // the checkpoints this verify read, not the selectors resolved again: a checkpoint committed
                // meanwhile (latest, or all of them) was not read and must not be recorded as verified
                recorded.addAll(r.checkpointIds());
                recording = true;
                store.recordVerified(recorded);
            }
        }
        // pinned checkpoints among those verify tells to forget: forget refuses them until they are unpinned (helper-112)
        List<String> pinned = r.problems().stream().anyMatch(p -> p.kind() == VerifyReport.Kind.MANIFEST_UNREADABLE)
                ? store.root().checkpoints().values().stream().filter(e -> e.pinned()).map(e -> e.id()).toList() : List.of();
        print(Verified.of(r, recorded, ShellWords.word(store.objectStore().describe()), pinned));
        return r.ok() ? ExitCode.OK : ExitCode.DAMAGE;
    }

    /**
     * @param ok               no problem found
     * @param recordedVerified checkpoints recorded as verified in ROOT (with --record)
     */
    record Verified(boolean ok, List<String> recordedVerified, boolean deep, int checkpoints, int chunksChecked,
                    long bytesChecked, List<Problem> problems, @com.fasterxml.jackson.annotation.JsonIgnore String store,
                    @com.fasterxml.jackson.annotation.JsonIgnore List<String> pinned) implements OutputOptions.Result {
        /** {@code store}: the store as a shell word, for the commands the advice gives; {@code pinned}: pinned ids in ROOT. */
        static Verified of(VerifyReport r, List<String> recorded, String store, List<String> pinned) {
            return new Verified(r.ok(), List.copyOf(recorded), r.deep(), r.checkpoints(), r.chunksChecked(), r.bytesChecked(),
                    r.problems().stream().map(p -> new Problem(p.checkpointId(), p.key(), p.kind(), p.message())).toList(),
                    store, List.copyOf(pinned));
        }

        private static String words(List<String> ids) {
            return ids.stream().map(ShellWords::word).collect(java.util.stream.Collectors.joining(" "));
        }

        /** The checkpoints with a problem of one of {@code kinds}, on an object under {@code prefix}, in the order found. */
        private List<String> with(String prefix, VerifyReport.Kind... kinds) {
            List<VerifyReport.Kind> k = List.of(kinds);
            return problems.stream().filter(p -> k.contains(p.kind()) && p.key() != null && p.key().startsWith(prefix))
                    .map(Problem::checkpoint).filter(java.util.Objects::nonNull).distinct().toList();
        }

        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            for (Problem p : problems) {
                out.printf("%-19s %s  %s%n", p.kind(), p.checkpoint(), Printable.message(p.message())); // one line
            }
            out.printf("%s: %s, %s%s%n", ok ? "ok" : "DAMAGED", count(checkpoints, "checkpoint"),
                    deep ? count(chunksChecked, "chunk") + " (" + human(bytesChecked) + ") re-hashed" : "structure checked",
                    ok ? "" : ", " + count(problems.size(), "problem"));
            if (!recordedVerified.isEmpty()) {
                out.println("recorded as verified: " + String.join(", ", recordedVerified));
            }
            if (problems.stream().anyMatch(p -> p.kind() == VerifyReport.Kind.CORRUPT && p.key() != null
                    && p.key().startsWith("chunks/"))) {
                // helper-111: a corrupt chunk at its recorded size was built on by every later save, with no way named
                out.println("a corrupt chunk object at its recorded size is taken as stored by later saves: move it out of"
                        + " the store (or delete it), and the next save of the same data writes it again, which makes"
                        + " the checkpoints that reference it whole; else restore a checkpoint that does not reference it");
            }
            if (!with("chunks/", VerifyReport.Kind.MISSING, VerifyReport.Kind.SIZE_MISMATCH).isEmpty()) {
                // helper-113: a directory or a dangling link in a chunk's place is no object, and stops the save too
                out.println("a missing or wrong-sized chunk object is written again by the next save of the same data"
                        + " (ckpt-tool push or ckpt-train), which makes the checkpoints that reference it whole (where"
                        + " something else stands in its place, move that out first); else restore a checkpoint that"
                        + " does not reference it");
            }
            if (problems.stream().anyMatch(p -> p.kind() == VerifyReport.Kind.ROOT_MISMATCH)) {
                out.println("a ROOT whose entries differ from the checkpoints' own manifests was edited by hand or damaged:"
                        + " put the newest ROOT back if you have it; else move ROOT aside and rebuild it from the manifests"
                        + " (ckpt-tool recover " + store + " shows what it would do, ckpt-tool recover " + store + " --apply"
                        + " does it; pins and verified marks are lost)");
            }
            List<String> unreadable = with("", VerifyReport.Kind.MANIFEST_UNREADABLE);
            if (!unreadable.isEmpty()) {
                // a rank's part manifest lost: the other ranks' parts restore one by one (helper-114: verify said the
                // checkpoint could not be restored, and restore --rank 0 of it worked)
                List<String> partial = problems.stream().filter(p -> p.kind() == VerifyReport.Kind.MANIFEST_UNREADABLE
                        && p.key() != null && p.key().contains("/part-")).map(Problem::checkpoint).distinct().toList();
                // helper-106: the trainer's fall-back past such a checkpoint gave no next step, nor did verify
                List<String> unpin = unreadable.stream().filter(pinned::contains).toList();
                out.println("a checkpoint whose manifest cannot be read cannot be restored" + (partial.isEmpty() ? ""
                        : " whole") + ", and no save mends it; a save's retention still counts it (forget by a policy does not). Remove it with "
                        + unpin.stream().map(id -> "ckpt-tool unpin " + store + " " + ShellWords.word(id) + ", then ")
                        .collect(java.util.stream.Collectors.joining()) + "ckpt-tool forget " + store + " " + words(unreadable));
                if (!partial.isEmpty()) {
                    out.println("before you forget " + (partial.size() == 1 ? "it" : "them") + ", the ranks whose part"
                            + " manifest reads still restore one at a time: " + partial.stream().map(id -> "ckpt-tool"
                            + " restore " + store + " " + ShellWords.word(id) + " DIR --rank R").collect(
                                    java.util.stream.Collectors.joining("; ")));
                }
            }
        }
    }

    /** One problem: in which checkpoint, which object, what is wrong. */
    record Problem(String checkpoint, String key, VerifyReport.Kind kind, String message) {
    }

    /** Set (on the command's thread) just before --record's write of ROOT; read at a signal, on the signal's. */
    volatile boolean recording;

    @Override
    String interrupted(String committing) {
        if (!record) {
            return "nothing was changed";
        }
        // before the write: nothing recorded, whatever was read (helper-151: "may or may not" at every moment)
        return recording ? "its record of the checkpoints it verified in ROOT was being written, and may or may not"
                + " have landed; check with ckpt-tool show " + ShellWords.word(store) + " CKPT (\"every byte verified at\"),"
                + " or run it again" : "nothing was recorded (it records after every byte is read); run it again";
    }
}

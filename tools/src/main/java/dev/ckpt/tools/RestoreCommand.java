package dev.ckpt.tools;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.TensorRestoreResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

@Command(name = "restore", description = {"Restore a checkpoint into a directory, verified.", "Every file's SHA-256 is checked over the bytes written (a file that fails names its corrupt chunk); chunks reused from --reuse directories, or copied within the checkpoint, are checked by their own SHA-256.",
        "Files are renamed into place only when the whole checkpoint verified; a failed restore leaves DIR as it was"
                + " (every destination is checked first; files already renamed are taken back, replaced ones restored)."
                + " A file in DIR that the checkpoint names is replaced; files it does not name are left alone.",
        "A checkpoint saved by several ranks restores whole (every part's files) or, with --rank R, only rank R's part.",
        "--tensors PATTERN: only the tensors whose names match (a glob: * any run of characters, dots included; ? one "
                + "character; repeatable; combinable with --rank): for each safetensors file with matching tensors, a "
                + "valid safetensors file of just those (same names, dtypes, shapes and bytes; the file's __metadata__ "
                + "is not kept). Only the chunks holding them are downloaded, each checked against its SHA-256; the "
                + "whole file's SHA-256 cannot be checked for such a partial file. No matching tensor: exit 1, nothing "
                + "written."},
        footer = {"", "CKPT is an id, latest (the newest checkpoint of any run), RUN:latest or RUN@STEP.", "", "Examples:", "  ckpt-tool restore ./ckpt-store run-42@1000 ./restored",
        "  ckpt-tool restore ./ckpt-store run-42@1000 ./rank-3 --rank 3",
        "  ckpt-tool restore ./ckpt-store run-42@1000 ./layer3 --tensors 'layers.3.*'"})
final class RestoreCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint", converter = SelectorShape.class)
    String ckpt;

    @Parameters(index = "2", paramLabel = "DIR", description = "the target directory")
    Path dir;

    @Option(names = "--reuse", paramLabel = "DIR", description = "a local copy whose matching chunks need no download (repeatable)")
    List<Path> reuse = new ArrayList<>();

    @picocli.CommandLine.Mixin
    DeadlineOptions.ForRestore deadline;

    @Option(names = "--rank", paramLabel = "R", description = "only rank R's part of a checkpoint saved by several ranks"
            + " (rank 0 of a checkpoint of one writer is all of it)")
    Integer rank;

    @Option(names = "--tensors", paramLabel = "PATTERN", description = "only the tensors of safetensors files whose names"
            + " match PATTERN (glob: * any run, ? one character; repeatable)")
    List<String> tensors = new ArrayList<>();

    @Override
    int run(CheckpointStore store) {
        refuseOverlap(store, dir.toAbsolutePath().normalize(), "restore into " + dir, // as the restore goes there
                "restore into a directory outside the store");
        if (!tensors.isEmpty()) {
            return restoreTensors(store);
        }
        java.time.Instant by = deadline.from(this::started);
        RestoreResult r;
        try (OutputOptions.Progress p = output.start(err(), "restore " + ckpt)) {
            CheckpointEntry e = store.resolve(ckpt, by);
            r = store.restore(e, rank, dir, reuse, p, by);
        } catch (RuntimeException e) {
            throw deadline.named(e);
        }
        print(new Restored(r.checkpointId(), r.run(), r.step(), r.files(), r.bytes(), r.chunksDownloaded(),
                r.chunksReused(), dir.toAbsolutePath().normalize().toString(), dir.toString(), r.time().toMillis(),
                r.leftoverTemporaries().stream().map(Path::toString).toList(),
                r.replacedVersions().stream().map(Path::toString).toList(), r.filesReplaced(), strings(r.replacedFrom()),
                r.journals().stream().map(Path::toString).toList()));
        return ExitCode.OK;
    }

    /** {@code old → was} as text, in the old names' order. */
    static java.util.Map<String, String> strings(java.util.Map<Path, Path> from) {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        from.forEach((old, was) -> m.put(old.toString(), was.toString()));
        return m;
    }

    /**
     * Before the store is opened: a --reuse that is no directory (a mistyped path restored with
     * "0 reused" and no word: helper-105) and a negative --rank are refused, naming them.
     */
    @Override
    void checkArguments() {
        if (rank != null && rank < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rank must be 0 or more, got " + rank);
        }
        for (Path r : reuse) {
            String tooLong = dev.ckpt.store.util.LocalFiles.tooLong(r); // Java says "does not exist" of it (helper-130)
            if (tooLong != null) {
                throw new dev.ckpt.store.error.InvalidInputException("--reuse " + r + ": " + tooLong + "; nothing was written");
            }
            if (!java.nio.file.Files.isDirectory(r)) {
                throw new dev.ckpt.store.error.InvalidInputException("--reuse " + r + " is not a directory ("
                        + (java.nio.file.Files.exists(r, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? "it is a file"
                        : "it does not exist") + "): give a local copy of a checkpoint, or leave --reuse out; nothing"
                        + " was written");
            }
        }
    }

    private int restoreTensors(CheckpointStore store) {
        if (!reuse.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--reuse does not apply to --tensors (the files written hold only the selected tensors)");
        }
        java.time.Instant by = deadline.from(this::started);
        TensorRestoreResult r;
        try {
            r = store.restoreTensors(store.resolve(ckpt, by), rank, tensors, dir, by);
        } catch (RuntimeException e) {
            throw deadline.named(e);
        }
        print(new TensorsRestored(r.checkpointId(), r.run(), r.step(), rank, tensors, r.files(), r.tensors(), r.bytes(),
                r.chunksDownloaded(), dir.toAbsolutePath().normalize().toString(), dir.toString(), r.time().toMillis(),
                r.leftoverTemporaries().stream().map(Path::toString).toList(),
                r.replacedVersions().stream().map(Path::toString).toList(), r.filesReplaced(), r.unindexed(),
                strings(r.replacedFrom()), r.journals().stream().map(Path::toString).toList()));
        return ExitCode.OK;
    }

    /** What restore --tensors wrote: {@code files} the safetensors files, each holding only its matching tensors. */
    record TensorsRestored(String id, String run, long step, Integer rank, List<String> patterns, List<String> files,
                           int tensors, long bytes, int chunksDownloaded, String directory, @JsonIgnore String given,
                           long millis, List<String> leftoverTemporaries, List<String> replacedVersions, int filesReplaced,
                           List<String> unindexed, java.util.Map<String, String> replacedFrom, List<String> journals)
            implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.printf("restored %s (%s) of %s (run %s, step %d%s) into %s: %s%s; %s downloaded, %d ms%n",
                    count(tensors, "tensor"), human(bytes), id, run, step, rank == null ? "" : ", rank " + rank,
                    ShowCommand.printable(given), ShowCommand.printable(String.join(", ", files)), replacing(filesReplaced, files.size()), count(chunksDownloaded, "chunk"),
                    millis);
            warnLeftovers(err, given, leftoverTemporaries, replacedVersions, replacedFrom, journals);
            if (!unindexed.isEmpty()) {
                // a shard left out unsaid looked like a checkpoint without those tensors (stop 59's list)
                err.println("ckpt-tool restore: note: " + ShowCommand.printable(dev.ckpt.store.restore.TensorSelection
                        .unindexedWords(unindexed)) + "; their tensors are not among those restored: restore them whole"
                        + " (without --tensors) to read them");
            }
        }
    }

    /**
     * @param directory the target directory, absolute
     * @param given     the target directory as given on the command line (text form only)
     */
    record Restored(String id, String run, long step, int files, long bytes, int chunksDownloaded, int chunksReused,
                    String directory, @JsonIgnore String given, long millis, List<String> leftoverTemporaries,
                    List<String> replacedVersions, int filesReplaced, java.util.Map<String, String> replacedFrom,
                    List<String> journals) implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            // helper-118: a file of the user's with a checkpoint file's name was replaced with no word
            out.printf("restored %s (run %s, step %d): %s, %s into %s%s; %s downloaded, %d reused locally, %d ms%n",
                    id, run, step, count(files, "file"), human(bytes), ShowCommand.printable(given), replacing(filesReplaced, files),
                    count(chunksDownloaded, "chunk"), chunksReused, millis);
            warnLeftovers(err, given, leftoverTemporaries, replacedVersions, replacedFrom, journals);
        }
    }

    /**
     * " (all replacing a file there)", " (2 of them replacing …)", " (replacing a file there)" for
     * one file; "" when none of the {@code files} written replaced one (helper-118, 119: said nowhere).
     */
    static String replacing(int replaced, int files) {
        return replaced == 0 ? "" : " (" + (replaced == files ? (files == 1 ? "" : "all ") + "replacing"
                : replaced + " of them replacing") + " a file there)";
    }

    /** On stderr: what an interrupted restore left beside the files written into {@code given}, kept (see TargetDirectory). */
    static void warnLeftovers(PrintWriter err, String target, List<String> leftoverTemporaries, List<String> replacedVersions,
                              java.util.Map<String, String> replacedFrom, List<String> journals) {
        String given = ShowCommand.printable(target); // names as a terminal shows them: an escape sequence is not run
        if (!leftoverTemporaries.isEmpty()) {
            boolean one = leftoverTemporaries.size() == 1;
            err.printf("restore: %s of an interrupted restore (.ckpt-*.tmp, e.g. %s) %s beside the restored files;"
                            + " delete %s unless another restore into %s is running now (a push of the directory leaves"
                            + " %s out)%n", one ? "1 temporary" : leftoverTemporaries.size() + " temporaries",
                    ShowCommand.printable(leftoverTemporaries.get(0)), one ? "is" : "are", one ? "it" : "them", given, one ? "it" : "them");
        }
        if (!replacedVersions.isEmpty()) {
            boolean one = replacedVersions.size() == 1;
            String first = replacedVersions.get(0);
            String was = replacedFrom.get(first);
            // which file each was, from the killed restore's journal: 6,528 of them said nothing of whose (helper-146)
            String listed = journals.isEmpty() ? "" : "; " + ShowCommand.printable(String.join(", ", journals))
                    + (journals.size() == 1 ? " lists" : " list") + " which file each was (a JSON object a line: old,"
                    + " was; " + replacedFrom.size() + " of " + replacedVersions.size() + " named there): move one back"
                    + " over its file to take that file back";
            err.printf("restore: %s named .ckpt-*.old in %s (e.g. %s%s) %s an interrupted restore had replaced,"
                            + " unless another restore into %s is running now (it removes its own when it ends)%s;"
                            + " delete %s once you no longer need %s%n",
                    count(replacedVersions.size(), "file"), given, ShowCommand.printable(first),
                    was == null ? "" : ", which was " + ShowCommand.printable(was),
                    one ? "holds a version" : "hold versions", given, listed, one ? "it" : "them",
                    one ? "it" : "them");
        } else if (!journals.isEmpty()) {
            err.printf("restore: %s in %s, left by an interrupted restore, %s the files it kept aside as .ckpt-*.old, none"
                            + " of which is left; delete %s unless another restore into %s is running now%n",
                    ShowCommand.printable(String.join(", ", journals)), given, journals.size() == 1 ? "lists" : "list",
                    journals.size() == 1 ? "it" : "them", given);
        }
    }

    @Override
    boolean stopsAtSignal() {
        return true;
    }

    @Override
    String finishedAfterSignal() {
        return "it was putting the restored files in place";
    }

    @Override
    boolean finishesOnceCommitting() {
        return true;
    }

    @Override
    String stoppedAtSignal() {
        return "nothing was written: " + dir + " is as it was (the temporaries the restore was writing there, and any"
                + " directory it had made, were removed)";
    }

    /** When a stop at the signal did not end the restore in time (see {@link Interruption}). */
    @Override
    String interrupted(String committing) {
        return "no file of the checkpoint is in " + dir + " unless the restore had begun renaming its files into place"
                + " (restore again to be sure); delete the temporaries it was writing there (.ckpt-<12 hex>.tmp)"
                + ", and " + dir + " itself and the directories in it if it made them and you want none";
    }
}

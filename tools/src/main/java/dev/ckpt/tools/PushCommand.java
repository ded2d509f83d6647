package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.ckpt.store.util.ShellWords;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.SourceDir;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

@Command(name = "push", description = {"Save a directory as a checkpoint of a run and commit it.",
        "Prints the new checkpoint id on stdout. Pushing claims the run: an older writer of the run is fenced.",
        "",
        "Every regular file below DIR is saved byte for byte under its exact name. Push refuses (exit 1, naming it) "
                + "any symbolic link below DIR (DIR itself may be one; to save what links point to, copy with cp -rL "
                + "first), FIFO, socket or device; a file name that is not valid UTF-8, or that this JVM cannot read "
                + "because it was started under a non-UTF-8 locale (bin/ckpt-tool starts it under a UTF-8 one); a "
                + "name with a backslash, or whose path below DIR starts like a drive letter (C:...), which a checkpoint "
                + "path may not hold because Windows reads them as directories; and a file that changes while it is read "
                + "(size, modification or change time). One push names every entry it refuses (the first 20).",
        "Empty directories are not stored: push warns and names them.",
        "",
        "One rank's part of a checkpoint saved by several ranks: --rank R --world-size N --job-id ID, the same job id "
                + "and step on every rank (one process per rank, each pushing its own directory). Rank 0 commits once "
                + "every part is present; each rank exits 0 only once the checkpoint is committed. When a part does not "
                + "come within --ranks-timeout, rank 0 gives up on the step and records why; so does a rank whose save "
                + "fails before its part is stored (a DIR that push refuses included: missing, or holding a link, FIFO or "
                + "socket). Every rank then exits 1 at once with that reason, and a rank that starts after that exits 1 "
                + "without uploading: nothing is committed for that step, and the job must push a later step. A rank whose "
                + "part is stored that sees neither a commit nor such a record within --ranks-timeout exits 4 (7 when "
                + "--deadline ends its wait): rank 0 may still commit the step, and ckpt-tool ls shows whether it did. Only "
                + "a rank that dies, cannot reach the store, or whose commit is in doubt (exit 6: it may land) leaves the "
                + "others to --ranks-timeout. The same step cannot be pushed again "
                + "with the same job id once a rank gave up on it or stored its part: push a later step."},
        footer = {"", "Examples:", "  ckpt-tool push ./ckpt-store staging/step-1000 --run run-42 --step 1000 \\",
                "      --meta loss=0.31 --keep-last 3",
                "  ckpt-tool push s3://ml-ckpt/llama staging/step-2000 --run run-42 --step 2000 \\",
                "      --wait-for-gc 10m",
                "  ckpt-tool push s3://ml-ckpt/llama rank-1/step-3000 --run run-42 --step 3000 \\",
                "      --rank 1 --world-size 4 --job-id 81723.0"})
final class PushCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "DIR", description = "the directory to save")
    Path dir;

    @Option(names = "--run", required = true, paramLabel = "RUN", description = "run name: 1-100 ASCII letters, digits, '.', '_' or '-'")
    String run;

    @Option(names = "--step", required = true, paramLabel = "STEP", description = "training step (0 or more)")
    long step;

    @Option(names = "--epoch", paramLabel = "EPOCH", description = "training epoch")
    Long epoch;

    @Option(names = "--meta", paramLabel = "KEY=VALUE", description = "metadata (repeatable, each KEY once; a key of at"
            + " most 256 bytes, a value of at most 16 KiB, 64 KiB in all), e.g. loss=0.31")
    List<String> meta = new java.util.ArrayList<>();

    @Option(names = "--keep-last", paramLabel = "N", description = "retention after the commit: keep the run's newest N checkpoints (with"
            + " --keep-every-steps, those it keeps too); the rest are forgotten, except pinned ones and the run's newest"
            + " verified one")
    Integer keepLast;

    @Option(names = "--keep-every-steps", paramLabel = "K", description = "retention after the commit: keep the run's checkpoints whose step is a"
            + " multiple of K (with --keep-last, its newest N too); the rest are forgotten, except pinned ones and the"
            + " run's newest verified one")
    Long keepEvery;

    @picocli.CommandLine.Mixin
    GcWaitOptions gcWait;

    @picocli.CommandLine.Mixin
    DeadlineOptions.ForPush deadline;

    @Option(names = "--allow-empty", description = "save even when DIR holds no files (refused by default: an empty"
            + " checkpoint would be the run's newest, for auto-resume and retention)")
    boolean allowEmpty;

    @Option(names = "--rank", paramLabel = "R", description = "push rank R's part (0 to N-1) of a checkpoint saved by N ranks")
    Integer rank;

    @Option(names = "--world-size", paramLabel = "N", description = "how many ranks save the checkpoint (with --rank)")
    Integer worldSize;

    @Option(names = "--job-id", paramLabel = "ID", description = "the job the ranks belong to, the same on every rank"
            + " and new for each incarnation of the job (with --rank); a newer job id fences this one")
    String jobId;

    @Option(names = "--ranks-timeout", paramLabel = "DURATION", converter = Durations.Positive.class, defaultValue = "10m",
            description = "with --rank: how long to wait for the other parts and the commit after this rank's upload"
                    + " (default 10m)")
    java.time.Duration ranksTimeout;

    private Map<String, String> metadata;
    private SaveRequest.Shard shard;
    /** The source as {@link #checkArguments} scanned it (null for a rank's part, which the save scans). */
    private SourceDir scanned;
    private Retention retention;

    @Override
    boolean createsStore() {
        return true;
    }

    @Override
    void checkArguments() {
        runName("--run", run);
        notNegative("--step", step);
        if (epoch != null) {
            notNegative("--epoch", epoch);
        }
        metadata = metadata();
        shard = shard();
        retention = RetentionArgs.build(spec, keepLast, keepEvery, null);
        // before the store is opened (or created) and the run claimed: a refused push must not leave a new store
        // behind, nor fence the writer that owns the run (a trainer). Not for a rank's part: the save checks the
        // same source after the rank has joined its job, so that a refusal is recorded and the other ranks stop
        // waiting (they open the store and join the job anyway); and one rank's part may hold nothing.
        scanned = shard == null ? CheckpointStore.scanSource(dir) : null;
        if (scanned != null && scanned.fileCount() == 0 && !allowEmpty) {
            throw new InvalidInputException("source directory " + dir + " holds no files" + (scanned.leftOut().isEmpty()
                    ? "" : " but what an interrupted ckpt-tool command left, which push leaves out (" + leftOutNames(
                    scanned.leftOut()) + ")") + "; nothing was saved. A checkpoint"
                    + " of no files would be the run's newest: auto-resume would restore it, and retention could drop"
                    + " the checkpoints before it. Check the path; to save an empty checkpoint anyway, add --allow-empty");
        }
    }

    @Override
    int run(CheckpointStore store) {
        refuseOverlap(store, dir, "push " + dir, "push a directory outside the store, or move the store out of it");
        java.time.Instant by = deadline.from(this::started);
        SaveResult s = null; // null until the save returned (Interruption.settled)
        java.time.Duration open; // the store opened, the run claimed: up to the save's start
        try (OutputOptions.Progress p = output.start(err(), "push " + dir)) {
            SaveRequest req = new SaveRequest(dir, run, step, epoch, metadata, retention, null).withDeadline(by);
            if (scanned != null) {
                req = req.withScan(scanned); // the save does not walk the directory a second time
            }
            if (shard == null) {
                WriterToken w = store.claimWriter(run, "ckpt-tool", by);
                open = sinceCalled();
                s = gcWait.save(store, w, req, p);
            } else {
                WriterToken w = join(store, by);
                open = sinceCalled();
                s = gcWait.save(store, w, req.withShard(shard), p);
            }
        } catch (dev.ckpt.store.error.FencedException e) {
            if (shard != null) {
                throw e; // a rank of a job: its message says the job was replaced
            }
            // by hand, two pushes of one run: the message was a training job's (helper-91)
            throw e.withAdvice("this push of step " + step + " committed nothing: another push or job claimed run '"
                    + run + "' after it did (ckpt-tool ls " + ShellWords.word(store.objectStore().describe()) + " --run " + run + " shows what is committed);"
                    + " to save " + dir + " anyway, push it again");
        } catch (dev.ckpt.store.error.CommitStateUnknownException e) {
            // which commit, and the command that settles it (helper-102: it said "list the store again" only)
            e.addNote("; it was the commit of step " + step + " of run " + run + ": ckpt-tool ls "
                    + ShellWords.word(this.store) + " --run " + run + " shows whether it landed;"
                    + " push the step again only if it did not");
            throw deadline.named(e);
        } catch (RuntimeException e) {
            throw deadline.named(e);
        } finally {
            Interruption.settled(s == null ? null : s.checkpointId()); // only saying the outcome is left
        }
        if (!s.emptyDirectories().isEmpty()) {
            err().println(emptyDirectoriesWarning(s.emptyDirectories()));
        }
        if (!s.leftOut().isEmpty()) {
            err().println(leftOutWarning(dir, s.leftOut()));
        }
        if (!s.repairedChunks().isEmpty()) {
            err().println(Printable.message(s.repairNote(this.store)));
        }
        if (shard == null) {
            SameStepNote.of(store, this.store, run, step, s.checkpointId()).ifPresent(err()::println);
        }
        print(Pushed.of(s, this.store, open));
        return ExitCode.OK;
    }

    /**
     * This rank joins its job's run. A rank that cannot (the store did not answer, the deadline
     * passed) saves no part and records nothing, so the message says what the others do: wait.
     * A job that was replaced is not said to be waited for: its other ranks are fenced too.
     */
    private WriterToken join(CheckpointStore store, java.time.Instant by) {
        try {
            return store.joinRun(run, jobId, by);
        } catch (dev.ckpt.store.error.FencedException e) {
            throw e;
        } catch (dev.ckpt.store.error.CkptException e) {
            e.addNote("; rank " + shard.rank() + " did not join job " + jobId + ", so it saves no part of step " + step
                    + " and the other ranks were not told: they wait for its part until their own --deadline or"
                    + " --ranks-timeout");
            throw e;
        }
    }

    /** The --meta pairs in the order given ({@link MetaPairs}). */
    private Map<String, String> metadata() {
        return MetaPairs.parse(meta, spec.commandLine());
    }

    /** The part this push saves, or null for a checkpoint of one writer; a partial set of the rank options is a usage error. */
    private SaveRequest.Shard shard() {
        if (rank == null && worldSize == null && jobId == null) {
            return null;
        }
        if (worldSize != null && worldSize < 1) { // as ckpt-train says it ("rank 0 is not within world size 0")
            throw new ParameterException(spec.commandLine(), "option --world-size must be at least 1, got " + worldSize);
        }
        if (rank == null || worldSize == null || jobId == null) {
            throw new ParameterException(spec.commandLine(), "a rank's push needs --rank, --world-size and --job-id"
                    + " together (missing: " + String.join(", ", missing()) + ")");
        }
        try {
            dev.ckpt.store.manifest.Ids.checkJobId(jobId);
            return new SaveRequest.Shard(rank, worldSize, ranksTimeout);
        } catch (IllegalArgumentException | dev.ckpt.store.error.InvalidInputException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private List<String> missing() {
        List<String> m = new java.util.ArrayList<>();
        if (rank == null) {
            m.add("--rank");
        }
        if (worldSize == null) {
            m.add("--world-size");
        }
        if (jobId == null) {
            m.add("--job-id");
        }
        return m;
    }

    /**
     * What push saved; the text form prints the id on stdout (for scripts) and the summary on stderr.
     *
     * @param emptyDirectoriesLeftOut directories without files, which a checkpoint cannot hold
     * @param leftoversLeftOut        what an interrupted ckpt-tool command had left in the source, not saved
     * @param summary                 the save's summary line (text form only)
     */
    record Pushed(String id, String run, long step, int files, long logicalBytes, int newChunks, long newBytes,
                  long storedBytesUploaded, int dedupChunks, long dedupBytes, List<String> droppedByRetention,
                  List<String> emptyDirectoriesLeftOut, List<String> leftoversLeftOut, List<String> repairedChunks, long millis,
                  @JsonIgnore String summary, @JsonIgnore String store)
            implements OutputOptions.Result {
        /**
         * {@code store}: the store as given, for the gc command the retention line suggests; {@code open}: the
         * time before the save (the JVM's start not counted), said in the summary (helper-102: a server that
         * stalled 40 s as the run was claimed was in none of its times).
         */
        static Pushed of(SaveResult s, String store, java.time.Duration open) {
            return new Pushed(s.checkpointId(), s.run(), s.step(), s.files(), s.logicalBytes(), s.newChunks(), s.newBytes(),
                    s.storedBytesUploaded(), s.dedupChunks(), s.dedupBytes(), s.droppedByRetention(), s.emptyDirectories(), s.leftOut(),
                    s.repairedChunks(), s.totalTime().toMillis(), s.summary(open), store);
        }

        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.println(id);
            err.println(summary);
            if (!droppedByRetention.isEmpty()) {
                err.println("retention dropped: " + String.join(", ", droppedByRetention) + " (ckpt-tool gc " + ShellWords.word(store)
                        + " frees " + (droppedByRetention.size() == 1 ? "its" : "their") + " space)");
            }
        }
    }

    /**
     * The warning for what an interrupted ckpt command had left in the source, which push does
     * not save ({@code SourceDir#leftOut}): what each kind is and what to do with it.
     */
    static String leftOutWarning(Path dir, List<String> left) {
        boolean tmp = left.stream().anyMatch(n -> n.endsWith(".tmp"));
        boolean old = left.stream().anyMatch(n -> n.endsWith(".old"));
        List<String> staging = left.stream().filter(n -> n.endsWith("/")).toList();
        java.time.Instant hourAgo = java.time.Instant.now().minus(dev.ckpt.store.gc.GarbageCollector.LEFTOVER_AGE);
        boolean young = staging.stream().anyMatch(n -> {
            try {
                return Files.getLastModifiedTime(dir.resolve(n), java.nio.file.LinkOption.NOFOLLOW_LINKS).toInstant()
                        .isAfter(hourAgo);
            } catch (IOException e) {
                return false;
            }
        });
        List<String> what = new java.util.ArrayList<>();
        if (tmp) {
            what.add(".ckpt-*.tmp are a restore's partial files");
        }
        if (old) {
            what.add(".ckpt-*.old hold versions a restore replaced");
        }
        if (left.stream().anyMatch(n -> n.endsWith(".journal"))) {
            what.add(".ckpt-*.journal lists which file each .old was");
        }
        if (!staging.isEmpty()) {
            what.add(".ckpt-*-import/ and -export/ are an import's or export's directories" + (young
                    ? " (one written in the last hour: it may be running now)" : ""));
        }
        return "warning: left out " + leftOutNames(left) + " of " + ShowCommand.printable(String.valueOf(dir)) + ", named as ckpt-tool names what an"
                + " interrupted command leaves (" + String.join("; ", what) + "): delete them once no ckpt-tool command"
                + " writes there; a file of yours named so is pushed once renamed";
    }

    /** "2 entries: a, b": the count and up to five of {@code left}. */
    private static String leftOutNames(List<String> left) {
        int shown = Math.min(left.size(), 5);
        // each name as a terminal shows it, a line break too: the warning is one line (helper-131's survey)
        return left.size() + " entr" + (left.size() == 1 ? "y" : "ies") + ": " + String.join(", ",
                left.subList(0, shown).stream().map(ShowCommand::printable).toList())
                + (left.size() > shown ? ", ..." : "");
    }

    static String emptyDirectoriesWarning(List<String> dirs) {
        int shown = Math.min(dirs.size(), 5);
        return "warning: " + dirs.size() + " empty director" + (dirs.size() == 1 ? "y" : "ies")
                + " left out (a checkpoint holds files only; restore will not recreate "
                + (dirs.size() == 1 ? "it" : "them") + "): " + String.join(", ",
                dirs.subList(0, shown).stream().map(ShowCommand::printable).toList())
                + (dirs.size() > shown ? ", ..." : "");
    }

    /**
     * A push of one writer whose commit was not sent is stopped at a signal: its uploads are
     * interrupted and each removes its temporary (a local store's {@code chunks/xx/.tmp-*}:
     * helper-103 found 29 MB of them after a SIGTERM, which only gc removes, an hour later). A
     * rank's push is not: its failure would record the step as given up for every rank.
     */
    @Override
    boolean stopsAtSignal() {
        return shard == null;
    }

    @Override
    RuntimeException onFullDisk(dev.ckpt.store.error.StoreUnavailableException e) {
        return shard == null ? fullDiskBeforeCommit(e) : e; // a rank's part: its own words (interrupted) do not fit a disk
    }

    @Override
    String stoppedAtSignal() {
        return interruptedSave(null) + "; the uploads in flight were stopped, and removed what they had written";
    }

    @Override
    String interrupted(String committing) {
        if (shard == null) {
            return interruptedSave(committing);
        }
        if (shard.rank() != 0) {
            return "this rank's part of step " + step + " may or may not be stored: if it is, rank 0 may still commit"
                    + " the step (check with ckpt-tool ls " + ShellWords.word(store) + " --run " + run + "); a job's step cannot be pushed"
                    + " again once a rank stored its part: push a later step";
        }
        return (committing == null ? "nothing was committed" : "the commit of checkpoint " + committing + " had been"
                + " sent and had not ended: it may have landed; check with ckpt-tool ls " + ShellWords.word(store) + " --run " + run)
                + "; a job's step cannot be pushed again once a rank stored its part: push a later step";
    }

    @Override
    String finishedAfterSignal() {
        return "its commit had been sent";
    }

    @Override
    boolean waitsForCommit() {
        return shard == null || shard.rank() == 0; // another rank's "committing" is its wait for rank 0's commit
    }
}

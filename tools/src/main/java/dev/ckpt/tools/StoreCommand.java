package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.ShellWords;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.util.LocalFiles;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** A command on one store: opens it, runs, closes it. Errors are turned into exit codes by {@link CkptTool}. */
abstract class StoreCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "STORE", description = "the store: s3://bucket/prefix, file:///path or a path")
    String store;

    @Mixin
    StoreOptions storeOptions;

    @Mixin
    OutputOptions output;

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Prints the command's result through the one output path ({@link OutputOptions#print}). */
    void print(OutputOptions.Result result) {
        output.print(out(), err(), result);
    }

    StoreConfig config() {
        return StoreConfig.defaults();
    }

    /** When {@link #call} began, on the store's clock. */
    private java.time.Instant calledAt;
    private long calledAtNanos;

    /** The time since {@link #call} began, before the store was opened. */
    java.time.Duration sinceCalled() {
        return java.time.Duration.ofNanos(System.nanoTime() - calledAtNanos);
    }

    /**
     * When this command started, for a {@code --deadline}: the JVM's start when ckpt-tool is the
     * program (the JVM's own start takes 0.3–0.7 s, and whoever gives a deadline counts it; the
     * process's start time from /proc was 0.6 s off on this VM, so the JVM's uptime is used,
     * 34 ms to ask for, only asked when a deadline is given), else when {@link #call} began; before
     * the store is opened in either case, so the opening counts too.
     */
    java.time.Instant started() {
        if (!CkptTool.isProgram) {
            return calledAt;
        }
        return java.time.Instant.now().minusMillis(java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
    }

    @Override
    public Integer call() throws Exception {
        refuseEmptyArguments();
        // a STORE of the wrong shape (s3:/b, s3://, S3://b, an unknown scheme) is a usage error, as a CKPT of the
        // wrong shape is (helper-119: it exited 1 where a blank STORE exits 2)
        dev.ckpt.store.objectstore.ObjectStores.locationProblem(store).ifPresent(problem -> {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Invalid value for STORE: " + problem);
        });
        checkArguments();
        boolean ok = false;
        StoreConfig config = config();
        calledAt = config.clock().instant();
        calledAtNanos = System.nanoTime();
        // a local store's directory this command creates: removed again if the command fails and leaves it empty
        if (refusesObstructedStore()) {
            // a file named chunks in the store's directory: init said "initialized" and every save failed (helper-119)
            dev.ckpt.store.objectstore.ObjectStores.obstructedStore(store).ifPresent(problem -> {
                throw new dev.ckpt.store.error.BadConfigurationException(problem);
            });
        }
        List<Path> created = createsStore() ? createLocalStore() : null;
        // a directory with other entries and no store: a new store is made among them, and said (as ckpt-train does)
        long besideNewStore = createsStore() ? dev.ckpt.store.objectstore.ObjectStores.entriesWithoutStore(store) : 0;
        if (CkptTool.isProgram) {
            Interruption.running(this);
        }
        try (CheckpointStore s = storeOptions.open(store, CkptTool.env(spec), config, createsStore())) {
            int code;
            try {
                code = run(s);
            } catch (dev.ckpt.store.error.StoreUnavailableException e) {
                throw onFullDisk(e);
            }
            out().flush();
            ok = code == 0;
            // helper-121: init file:/// made a store at / with no word; only if one was made (helper-133: doctor, which
            // opens as a creating command does and makes nothing, said it had made one)
            if (ok && besideNewStore > 0 && dev.ckpt.store.objectstore.ObjectStores.entriesWithoutStore(store) == 0) {
                err().println("note: " + ShowCommand.printable(store) + " held " + besideNewStore + (besideNewStore == 1 ? " entry" : " entries")
                        + " but no store: a new store (ROOT, chunks/, manifests/) was made among them; if you meant"
                        + " another store, check the path");
            }
            return code;
        } finally {
            if ((!ok || !keepsCreatedDirectory()) && created != null) {
                removeEmpty(created);
            }
        }
    }

    /**
     * At a signal ({@link Interruption}), on the signal's thread: the line to say, or null to wait
     * for the command's end because its save sent its write of ROOT (it may land). A save that sent
     * none is barred from sending one, so "nothing was committed" stays true.
     */
    String atSignal() {
        OutputOptions.Progress p = output.current;
        boolean sent = p != null && !p.barCommit();
        if (sent && waitsForCommit()) {
            return null;
        }
        return interrupted(sent ? p.committingId() : null);
    }

    /** After the wait of {@link #atSignal} ended without the command: what to say. */
    String interruptedNow() {
        OutputOptions.Progress p = output.current;
        return interrupted(p == null ? null : p.committingId());
    }

    /**
     * Whether a signal stops this command (interrupts its thread) so that its own failure path
     * removes what it wrote, rather than ending the JVM at once ({@link Interruption}); asked
     * after {@link #atSignal} gave a line. False by default: a command that only reads leaves
     * nothing, and a push's uploaded chunks are the next push's or gc's.
     */
    boolean stopsAtSignal() {
        return false;
    }

    /** After a stop at a signal ended this command with a failure: what it left, after "interrupted before it finished; ". */
    String stoppedAtSignal() {
        return interrupted(null);
    }

    /**
     * Whether a signal that came once this command's commit was sent waits for its end whatever
     * else comes (a second signal included): a restore's renames into place, which a second
     * Ctrl-C had cut short, leaving its target a mix of old and new files and a user's file
     * only in a {@code .ckpt-*.old} (helper-97). False by default: a save's write of ROOT is
     * one request, and a second signal ends the wait for it.
     */
    boolean finishesOnceCommitting() {
        return false;
    }

    /** Whether a signal waits for a commit this command sent (a rank other than 0 sends none: it waits for rank 0's). */
    boolean waitsForCommit() {
        return true;
    }

    /** Says {@code line} ({@link Interruption#say}), and with --json the failure document, exit {@code code}. */
    void sayInterrupted(String line, int code) {
        OutputOptions.Progress p = output.current;
        if (p != null) {
            p.close(); // the live line ends, and no progress line follows the message
        }
        Interruption.say(err(), spec.name(), line);
        output.printFailure(out(), new OutputOptions.Failure(spec.name(), code, "interrupted before it finished; " + line));
    }

    /**
     * A signal came while this command finished what it would not leave half done (a commit
     * sent, a restore's renames), and it ended with success: one line saying so, after its
     * output, which stands (exit 0).
     */
    void sayFinishedAfterSignal(String signal) {
        err().println("ckpt-tool " + spec.name() + ": " + signal + " came while " + finishedAfterSignal()
                + "; it finished first, and its result stands");
        err().flush();
    }

    /** What this command was doing that a signal waited for ({@link #sayFinishedAfterSignal}). */
    String finishedAfterSignal() {
        return "it was finishing";
    }

    /**
     * What an interrupted run of this command left, said after "interrupted before it
     * finished; ". {@code committing}: the checkpoint whose write of ROOT a save had sent, else
     * null. By default, for the commands that only read: nothing was changed.
     */
    String interrupted(String committing) {
        return "nothing was changed";
    }

    /** What an interrupted save (push, import) left: nothing, or a commit that may have landed. */
    String interruptedSave(String committing) {
        return committing == null
                ? "nothing was committed; running it again is safe (chunks already stored are not uploaded again, and"
                        + " gc frees them otherwise)"
                : "the commit of checkpoint " + committing + " had been sent and had not ended: it may have landed;"
                        + " check with ckpt-tool ls " + ShellWords.word(store) + " before running it again";
    }

    /**
     * Creates a local store's directory (and missing parents) before the store opens, and
     * returns the directories this process created, deepest first; null for S3, an existing
     * path, or one that cannot be made (opening the store then says why). Only these are
     * removed after a failure: ranks creating one new store at once each keep the others'.
     */
    private List<Path> createLocalStore() {
        try {
            Path p = dev.ckpt.store.objectstore.ObjectStores.localPath(store).orElse(null); // what open makes a store of
            if (p == null) {
                return null;
            }
            List<Path> created = LocalFiles.createDirectoriesOwned(p);
            return created.isEmpty() ? null : created;
        } catch (RuntimeException | IOException e) {
            return null; // opening it reports what is wrong
        }
    }

    /** Deletes the directories this command created, deepest first, while they are empty. */
    private static void removeEmpty(List<Path> created) {
        for (Path d : created) {
            if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) || !empty(d)) {
                return;
            }
            try {
                Files.delete(d);
            } catch (IOException e) {
                return; // best effort: an empty directory left behind holds nothing
            }
        }
    }

    private static boolean empty(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    abstract int run(CheckpointStore store) throws Exception;

    /** A failure of {@link #run} as it is said: by default {@code e} itself ({@link #rootNeedsRoom} for the commands that change ROOT only). */
    RuntimeException onFullDisk(dev.ckpt.store.error.StoreUnavailableException e) {
        return e;
    }

    /**
     * A save's failure on a full disk (push, import) before it sent its commit, said with what it
     * left, as an interrupted save says it (helper-122: the line did not say whether anything was
     * committed). Other failures, and one after the commit was sent: {@code e} as it is.
     */
    RuntimeException fullDiskBeforeCommit(dev.ckpt.store.error.StoreUnavailableException e) {
        OutputOptions.Progress p = output.current;
        String m = e.getMessage();
        if (!e.needsAction() || m == null || !m.contains("No space left on device") || m.contains("nothing was committed")
                || p != null && p.committingId() != null) {
            return e;
        }
        return dev.ckpt.store.error.StoreUnavailableException.needingAction(m + "; nothing was committed", e);
    }

    /**
     * A local store whose filesystem is full when this command writes ROOT, which gc and
     * forget do before they free anything: "free space there or use another directory" is no
     * advice for them (helper-103: gc could not run on a full disk). Says what they need: room
     * for one more copy of ROOT, its size given. Other failures: {@code e} as it is.
     */
    RuntimeException rootNeedsRoom(dev.ckpt.store.error.StoreUnavailableException e, String then) {
        return rootNeedsRoom(e, " before it frees anything", then);
    }

    /** As above, for a command that frees nothing ({@code why}: "", pin, recover; helper-104). */
    RuntimeException rootNeedsRoom(dev.ckpt.store.error.StoreUnavailableException e, String why, String then) {
        String hint = LocalFiles.hint("no space left");
        String m = e.getMessage();
        if (!e.needsAction() || m == null || !m.contains("No space left on device") || !m.endsWith(hint)) {
            return e;
        }
        String size = "";
        try {
            Path root = dev.ckpt.store.objectstore.ObjectStores.localPath(store).map(p -> p.resolve("ROOT")).orElse(null);
            if (root != null && Files.isRegularFile(root)) {
                size = " (" + dev.ckpt.store.util.Sizes.human(Files.size(root)) + ")";
            }
        } catch (IOException | RuntimeException ignored) {
            // the size is a detail of the advice
        }
        return dev.ckpt.store.error.StoreUnavailableException.needingAction(m.substring(0, m.length() - hint.length())
                + "; " + spec.name() + " writes a new copy of ROOT" + size + why + ": free "
                + (size.isEmpty() ? "room for it" : "that much") + " outside the store, then " + then, e);
    }

    /**
     * Checks what picocli's types cannot, before the store is opened (so a refused command
     * creates nothing): a {@link picocli.CommandLine.ParameterException} for a usage error (exit 2),
     * a {@code CkptException} for input that is missing or unreadable (a source, an archive). None
     * by default.
     */
    void checkArguments() {
    }

    /**
     * Refuses an argument given as the empty string (an unset shell variable: {@code restore S
     * latest "$OUT"}), before the store is opened: a path read it as the current directory, so
     * restore replaced files there and push saved it (helper-105). STORE as well.
     */
    private void refuseEmptyArguments() {
        picocli.CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        if (parsed == null) {
            return;
        }
        for (picocli.CommandLine.Model.ArgSpec a : parsed.matchedArgs()) {
            if (a.originalStringValues().stream().noneMatch(String::isBlank)) { // blank: "$A $B" with A unset
                continue;
            }
            String name;
            if (a instanceof picocli.CommandLine.Model.OptionSpec o) {
                name = o.longestName();
            } else {
                picocli.CommandLine.Model.PositionalParamSpec p = (picocli.CommandLine.Model.PositionalParamSpec) a;
                // STORE too: it exited 1, "no store given", where a blank CKPT exits 2 (helper-117)
                name = p.paramLabel();
            }
            // "give CKPT a value: checkpoints to verify (id, ...)", not brackets in brackets (helper-117)
            String d = a.description().length == 0 ? "" : a.description()[0];
            String what = d.isEmpty() ? "" : d.contains("(") ? ": " + d : " (" + d + ")";
            // a usage error, exit 2, as ckpt-train's and as --help lists (helper-108: it was 1)
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), name + " is empty (an unset variable?):"
                    + " give " + name + " a value" + what + "; nothing was changed");
        }
    }

    /** A usage error unless {@code run} is a valid run name. */
    void runName(String option, String run) {
        try {
            dev.ckpt.store.manifest.Ids.checkRunName(run);
        } catch (dev.ckpt.store.error.InvalidInputException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), option + ": " + e.getMessage());
        }
    }

    /** A usage error unless {@code value} is 0 or more. */
    void notNegative(String option, long value) {
        if (value < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), option + " must be 0 or more, got " + value);
        }
    }

    /**
     * Whether a local store's directory this command created stays when it succeeds (it is
     * removed again when it fails and is left empty); true but for doctor, a check.
     */
    boolean keepsCreatedDirectory() {
        return true;
    }

    /**
     * Whether the command refuses, before it starts, a local store with a file where the store keeps
     * a directory: the commands that write one (init, push, import); doctor reports it instead.
     */
    boolean refusesObstructedStore() {
        return createsStore();
    }

    /** Whether the command may create a local store that does not exist yet (init, push, import); the others refuse it. */
    boolean createsStore() {
        return false;
    }

    /**
     * Refuses {@code path} (a push's source, a restore's target) where it and the local store
     * overlap: a push of a directory holding the store failed with "ROOT changed while it was
     * being saved ... push again", which can never succeed, and a restore into the store's
     * directory wrote the checkpoint's files beside ROOT (helper-98). Nothing for S3.
     *
     * @param what "push DIR", "restore into DIR"
     */
    static void refuseOverlap(CheckpointStore store, Path path, String what, String instead) {
        java.util.Optional<Path> local = dev.ckpt.store.objectstore.ObjectStores.localDirectory(store.objectStore());
        if (local.isEmpty()) {
            return;
        }
        dev.ckpt.store.util.Overlap.Found overlap = dev.ckpt.store.util.Overlap.find(local.get(), path);
        if (overlap.kind() != dev.ckpt.store.util.Overlap.NONE) {
            throw new dev.ckpt.store.error.InvalidInputException("cannot " + what + ": " + overlap.says(local.get())
                    + "; " + instead + "; nothing was written");
        }
    }

    static String human(long bytes) {
        return dev.ckpt.store.commit.SaveResult.human(bytes);
    }

    /** "1 chunk", "2 chunks": {@code n} and {@code noun}, plural by an s. */
    static String count(int n, String noun) {
        return dev.ckpt.store.commit.SaveResult.count(n, noun);
    }
}

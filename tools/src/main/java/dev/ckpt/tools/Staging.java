package dev.ckpt.tools;

import dev.ckpt.store.util.TempNames;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The directory an import unpacks its archive in, or an export restores its checkpoint in, while
 * it lives: made its owner's only, its heartbeat, what changed in it, its removal.
 */
final class Staging {
    private Staging() {
    }

    /**
     * The error of an import whose staged files changed {@code when} ("before", "while") they
     * were saved, {@code what} changed: nothing was imported. Exit 1, whenever it happened.
     */
    static dev.ckpt.store.error.InvalidInputException changed(Path archive, Path staging, String when, String what) {
        return new dev.ckpt.store.error.InvalidInputException("cannot import archive " + archive + ": the files unpacked"
                + " in " + staging + " changed " + when + " they were saved (" + what + "; gc removes an import's staging"
                + " directory once it is an hour old: was this import stopped that long? else another process wrote"
                + " into it); nothing was imported, importing again is safe");
    }

    /** The first file of the manifest missing or changed in size among the staged ones, or one extra. */
    static String difference(java.util.SortedMap<String, Long> expected, java.util.SortedMap<String, Long> staged) {
        for (Map.Entry<String, Long> e : expected.entrySet()) {
            Long got = staged.get(e.getKey());
            if (got == null) {
                return "file " + e.getKey() + " is gone";
            }
            if (!got.equals(e.getValue())) {
                return "file " + e.getKey() + " holds " + got + " bytes, not " + e.getValue();
            }
        }
        for (String k : staged.keySet()) {
            if (!expected.containsKey(k)) {
                return "file " + k + " was added";
            }
        }
        return "they differ";
    }

    /**
     * Removes the staging directories of kind {@code kind} ({@link TempNames#EXPORT_STAGING},
     * {@link TempNames#IMPORT_STAGING}) in {@code dir} left by a command ({@code who}: "an
     * export") killed or stopped over {@link dev.ckpt.store.gc.GarbageCollector#LEFTOVER_AGE}
     * ago (a running one refreshes its own every {@link TempNames#IMPORT_HEARTBEAT}), and says
     * so on {@code err}; best effort: one that cannot be removed is left, and named. A link is
     * never one. In a local store's directory gc does the same; an S3 import's in $TMPDIR had
     * no one to remove it (helper-105: 291 MB per import killed).
     */
    static void removeStale(Path dir, String kind, String who, java.io.PrintWriter err) {
        // as the command's other notes start (helper-147: these alone were bare)
        String prefix = "ckpt-tool " + (who.contains("import") ? "import" : "export") + ": ";
        java.util.List<Path> stale;
        try {
            stale = TempNames.staleStaging(dir, java.time.Instant.now().minus(
                    dev.ckpt.store.gc.GarbageCollector.LEFTOVER_AGE), n -> TempNames.matches(n, kind));
        } catch (IOException | RuntimeException ex) {
            return; // best effort: creating this command's own staging directory there says what is wrong, if anything
        }
        try {
            // a young one is kept (it may be running: its heartbeat keeps it young), but said: three killed exports left
            // 151 MiB each beside the archive without a word (helper-146)
            for (Path p : TempNames.staleStaging(dir, java.time.Instant.now().plusSeconds(60), n -> TempNames.matches(n, kind))) {
                if (!stale.contains(p) && Files.isWritable(p)) {
                    err.println(prefix + "note: " + ShowCommand.printable(p.toString()) + " is the staging directory of " + who
                            + " that ran in the last hour: it is running, or it was killed; if none is running, delete it:"
                            + " rm -r " + dev.ckpt.store.util.ShellWords.word(p.toString()) + " (one an hour old is"
                            + " removed by the next " + (who.contains("import") ? "import" : "export") + " here)");
                }
            }
        } catch (IOException | RuntimeException ex) {
            // best effort, as above
        }
        for (Path p : stale) {
            if (!Files.isWritable(p)) {
                continue; // another user's, in a shared $TMPDIR (each is made 0700): theirs to remove
            }
            try {
                dev.ckpt.store.util.LocalFiles.deleteTree(p);
                err.println(prefix + "note: removed " + ShowCommand.printable(p.toString()) + ", left by " + who + " killed over an hour ago");
            } catch (IOException | java.io.UncheckedIOException ex) { // one that cannot be removed: the others still are
                IOException io = ex instanceof java.io.UncheckedIOException u ? u.getCause() : (IOException) ex;
                err.println(prefix + "warning: could not remove " + ShowCommand.printable(p.toString()) + ", left by " + who + " killed over an hour ago: "
                        + dev.ckpt.store.util.LocalFiles.explain(io) + "; delete it: rm -r "
                        + dev.ckpt.store.util.ShellWords.word(p.toString()));
            }
        }
    }

    /**
     * Creates the staging directory {@code dir} of an import or export, open to its owner only
     * (0700): another user cannot plant a link in it while it unpacks, or read the checkpoint
     * staged there (helper-97 raced a link into an import's staging directory). Where the
     * filesystem has no POSIX permissions, with its defaults.
     */
    static Path create(Path dir) throws IOException {
        try {
            return Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException e) {
            return Files.createDirectory(dir);
        }
    }

    /**
     * Removes an import's or export's staging directory as the command ends; one that cannot be
     * removed is said on {@code err}, with the command to remove it, and never replaces the
     * command's own error (helper-97: "is a directory that is not empty" in place of why the
     * import failed).
     */
    static void remove(Path staging, java.io.PrintWriter err) {
        try {
            dev.ckpt.store.util.LocalFiles.deleteTree(staging);
        } catch (IOException | RuntimeException e) {
            // an UncheckedIOException's message is its cause's class name and text (helper-142: "java.nio.file
            // .FileSystemException: ...")
            IOException io = e instanceof IOException i ? i : e instanceof java.io.UncheckedIOException u ? u.getCause() : null;
            err.println("warning: could not remove " + ShowCommand.printable(staging.toString()) + ": " + (io != null
                    ? dev.ckpt.store.util.LocalFiles.explain(io) : e.getMessage()) + "; delete it: rm -r "
                    + dev.ckpt.store.util.ShellWords.word(staging.toString()));
        }
    }

    /**
     * Creates the directories from {@code staging} down to {@code dir}, one at a time, each
     * checked to be a directory and not a link once it exists, and refuses one that is not: a
     * link put into the staging directory while the import unpacked was followed, and a file
     * written outside the store (helper-94). What remains is the moment between a check and
     * the next create; the file itself is created with {@code O_NOFOLLOW} and {@code O_EXCL}.
     *
     * @throws IOException naming the path that is a link or no directory
     */
    static void createDirectories(Path staging, Path dir) throws IOException {
        Path p = staging.toAbsolutePath().normalize();
        Path target = dir.toAbsolutePath().normalize();
        if (!target.startsWith(p)) {
            throw new IllegalArgumentException(dir + " is not below " + staging);
        }
        for (Path part : p.relativize(target)) {
            p = p.resolve(part);
            try {
                Files.createDirectory(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // made for an earlier file, or put there by another process: checked next
            }
            if (!Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new java.nio.file.FileSystemException(p.toString(), null, (Files.isSymbolicLink(p) ? "a link"
                        : "not a directory") + " where the import makes a directory: another process wrote into its"
                        + " staging directory");
            }
        }
    }

    /**
     * Refreshes the modification time of an import's staging directory inside a local store,
     * or an export's beside its archive, every {@link TempNames#IMPORT_HEARTBEAT}, while the
     * command runs: GC (and, for an export's, the next export there) removes one that is older
     * than an hour, as a killed command's. Best effort: a failed refresh is tried again at
     * the next beat (an import would have to fail to refresh it for an hour to lose it).
     */
    static final class Heartbeat implements AutoCloseable {
        private final Thread beat;

        Heartbeat(Path dir) {
            this(dir, TempNames.IMPORT_HEARTBEAT);
        }

        Heartbeat(Path dir, java.time.Duration every) {
            beat = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        Thread.sleep(every.toMillis());
                        Files.setLastModifiedTime(dir, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
                    } catch (InterruptedException e) {
                        return;
                    } catch (IOException | RuntimeException e) {
                        // tried again at the next beat
                    }
                }
            }, "ckpt-staging-heartbeat");
            beat.setDaemon(true);
            beat.start();
        }

        @Override
        public void close() {
            beat.interrupt();
        }
    }

    /**
     * Ends an export's packing or an import's unpacking once this thread is interrupted (a
     * signal's stop: {@link Interruption}): the streams of {@code Files.newInputStream} and {@code newOutputStream} do not heed an
     * interrupt, and an export stopped while it packed ran to its end and exited 0 (helper-98).
     */
    static void stopIfInterrupted() throws java.io.InterruptedIOException {
        if (Thread.currentThread().isInterrupted()) {
            throw new java.io.InterruptedIOException("interrupted");
        }
    }
}

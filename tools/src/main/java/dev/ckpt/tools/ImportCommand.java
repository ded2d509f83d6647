package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.github.luben.zstd.ZstdInputStream;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.ReadOnlyStoreException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.ShellWords;
import dev.ckpt.store.util.TempNames;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

@Command(name = "import", description = {"Import a .tar.zst archive made by export as a checkpoint of RUN at STEP.",
        "Prints the new checkpoint id on stdout. Importing claims the run, as push does: an older writer of the run (a"
                + " job still training it) is fenced. A checkpoint already at STEP is kept; RUN@STEP then names the"
                + " imported one (a note says so).",
        "Metadata is kept. Entry names that are absolute or contain '..', links and devices are refused; every file"
                + " is checked against the archived manifest's SHA-256 before anything is committed. The archive is"
                + " unpacked in a hidden directory inside a local store, or in $TMPDIR for other stores (removed"
                + " afterwards)."},
        footer = {"", "Example:", "  ckpt-tool import ./ckpt-store run-42.tar.zst --run run-42 --step 1000"})
final class ImportCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "FILE.tar.zst", description = "the archive")
    Path file;

    @picocli.CommandLine.Mixin
    GcWaitOptions gcWait;

    @Option(names = "--run", required = true, paramLabel = "RUN", description = "run name in this store: 1-100 ASCII letters, digits, '.', '_' or '-'")
    String run;

    @Option(names = "--step", required = true, paramLabel = "STEP", description = "training step (0 or more)")
    long step;

    @Override
    boolean createsStore() {
        return true;
    }

    @Override
    void checkArguments() {
        runName("--run", run);
        notNegative("--step", step);
        String tooLong = LocalFiles.tooLong(file); // Java's check says "does not exist" of such a path (helper-127)
        if (tooLong != null) {
            throw new InvalidInputException("archive " + file + ": " + tooLong + "; nothing was imported");
        }
        if (!Files.isRegularFile(file)) { // before the store is opened (and created)
            throw new InvalidInputException("archive " + file + (Files.isDirectory(file)
                    ? " is a directory: give the .tar.zst file that ckpt-tool export wrote (push saves a directory)"
                    + (swapped() ? "; the store comes first: ckpt-tool import STORE FILE.tar.zst --run RUN --step STEP" : "")
                    : " does not exist or is not a file: give the .tar.zst file that ckpt-tool export wrote"));
        }
        boolean empty;
        try {
            empty = Files.size(file) == 0;
        } catch (java.io.IOException e) {
            empty = false; // the read says why
        }
        if (empty) { // "has no ckpt-manifest.json" said nothing of it (helper-120): an export cut off, a copy that failed
            throw new InvalidInputException("archive " + file + " is empty (0 bytes): an export that did not finish, or a"
                    + " copy that failed; nothing was imported. Give the .tar.zst file that ckpt-tool export wrote");
        }
    }

    /** Whether the arguments look swapped: the store given is a file (the archive?) and the archive a directory. */
    private boolean swapped() {
        try {
            return !store.contains("://") && Files.isRegularFile(Path.of(store));
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    @Override
    int run(CheckpointStore store) throws Exception {
        Optional<String> readOnly = ObjectStores.readOnlyReason(store.objectStore());
        if (readOnly.isPresent()) {
            throw new ReadOnlyStoreException("store " + store.objectStore().describe() + " is read-only ("
                    + readOnly.get() + "): import writes a checkpoint into it; nothing was read from " + file);
        }
        Path staging = createStaging(store);
        insideStore = ObjectStores.localDirectory(store.objectStore()).isPresent();
        unpackingIn = staging;
        // in $TMPDIR too: the next S3 import there removes one an hour old, as gc does in a store's directory
        try (Staging.Heartbeat alive = new Staging.Heartbeat(staging)) {
            Manifest archived = null;
            Map<String, String> hashes = new HashMap<>();
            Map<String, Long> sizes = new HashMap<>(); // each entry's size in the archive
            List<String> refused = new ArrayList<>();
            java.util.Set<String> seenFiles = new java.util.HashSet<>();
            java.util.Set<String> seenDirectories = new java.util.HashSet<>();
            java.util.Set<String> names = new java.util.HashSet<>(); // every entry's name, refused or not
            try (InputStream raw = new BufferedInputStream(Files.newInputStream(file));
                 ZstdInputStream zstd = new ZstdInputStream(raw);
                 TarArchiveInputStream tar = new TarArchiveInputStream(zstd, "UTF-8")) { // as export writes, whatever the locale
                for (TarArchiveEntry te; (te = tar.getNextEntry()) != null; ) {
                    String name = te.getName();
                    // GNU tar's repack of an unpacked archive (tar -C dir .) names every entry "./..." and adds "./"
                    // itself (helper-105: every entry was refused as "not under files/")
                    while (name.startsWith("./")) {
                        name = name.substring(2);
                    }
                    if (name.isEmpty() || name.equals(".")) {
                        continue;
                    }
                    names.add(name);
                    if (name.equals(ExportCommand.MANIFEST_ENTRY)) {
                        if (!ArchiveEntries.regular(te)) {
                            refused.add("entry '" + name + "' (the manifest) is not a regular file (a link, device or FIFO)");
                            continue;
                        }
                        if (archived != null) {
                            refused.add("entry '" + name + "' (the manifest) appears more than once in the archive");
                            continue;
                        }
                        archived = Json.readManifestFrom(file + ":" + name, tar.readAllBytes(),
                                "the archive is damaged; export the checkpoint again");
                        archivedBytes = archived.logicalBytes();
                        continue;
                    }
                    String rel = ArchiveEntries.safeName(name, refused);
                    if (rel == null || te.isDirectory()) {
                        continue;
                    }
                    if (!ArchiveEntries.regular(te)) {
                        refused.add("entry '" + name + "' is not a regular file (a link, device or FIFO); only regular"
                                + " files can be imported");
                        continue;
                    }
                    Path out;
                    try {
                        out = staging.resolve(rel).normalize();
                    } catch (java.nio.file.InvalidPathException e) {
                        throw new InvalidInputException("cannot import file '" + rel + "' of archive " + file + ": "
                                + LocalFiles.encodingHint() + "; nothing was imported", e);
                    }
                    if (!out.startsWith(staging)) {
                        refused.add("entry '" + name + "' points outside the checkpoint");
                        continue;
                    }
                    String clash = ArchiveEntries.clash(rel, seenFiles, seenDirectories);
                    if (clash != null) {
                        refused.add("entry '" + name + "' " + clash);
                        continue;
                    }
                    // once one is refused, nothing is imported: the rest is only read and hashed, so that one
                    // message names every problem of the archive, its hash mismatches too
                    hashes.put(rel, unpack(tar, refused.isEmpty() ? out : null, staging));
                    sizes.put(rel, te.getSize());
                }
            } catch (IOException e) {
                throw new InvalidInputException("cannot read archive " + file + ": " + archiveProblem(e)
                        + "; nothing was imported", e);
            }
            if (archived == null) {
                if (!refused.stream().allMatch(r -> r.startsWith("unexpected entry "))) {
                    // a link, '..': named first, and the missing manifest with them (helper-147: fixing the link met a
                    // second error)
                    String none = "it has no " + ExportCommand.MANIFEST_ENTRY + " either (it was not written by ckpt-tool"
                            + " export)";
                    if (refused.size() == 1) {
                        throw new InvalidInputException("archive " + file + ": " + refused.get(0) + "; " + none
                                + "; nothing was imported");
                    }
                    throwIfAny(refused, "cannot be imported, and " + none, InvalidInputException::new);
                }
                // a plain tar of a directory got one "not under files/" line per entry, and nothing of this (helper-146)
                throw new InvalidInputException("archive " + file + " has no " + ExportCommand.MANIFEST_ENTRY
                        + ": it was not written by ckpt-tool export" + (names.isEmpty() ? "" : " (it holds "
                        + (names.size() == 1 ? "1 entry" : names.size() + " entries") + ")") + "; nothing was imported."
                        + " To save the files of another archive as a checkpoint, unpack it into a directory and run"
                        + " ckpt-tool push STORE DIR --run RUN --step STEP");
            }
            List<String> bad = new ArrayList<>(); // every problem at once: what was refused, then what does not match
            for (FileEntry f : archived.files()) {
                String got = hashes.remove(f.path());
                if (got == null) {
                    if (!names.contains(ExportCommand.FILES + f.path())) { // else it was refused, and said so
                        bad.add("lacks file " + f.path() + " of its manifest");
                    }
                } else if (!got.equals(f.sha256())) {
                    bad.add("file " + f.path() + " hashes to " + got + " but its manifest says " + f.sha256());
                } else if (sizes.get(f.path()) != f.size()) {
                    // its hash matched a manifest edited to it, its size not: it was said as a change in the staging
                    // by another process, and importing again could never succeed (helper-146)
                    bad.add("file " + f.path() + " is " + sizes.get(f.path()) + " bytes in the archive but its manifest"
                            + " says " + f.size());
                }
            }
            for (String unlisted : new java.util.TreeSet<>(hashes.keySet())) {
                bad.add("holds file " + unlisted + ", which its manifest does not list");
            }
            if (refused.isEmpty()) {
                String corrupt = file.toString();
                throwIfAny(bad, "do not match its manifest", m -> new CorruptObjectException(corrupt, m));
            }
            refused.addAll(bad);
            throwIfAny(refused, "cannot be imported", InvalidInputException::new);
            // what the save reads is what was unpacked and checked: the files of the archive's manifest, no fewer (a
            // gc that took the staging directory of an import stopped over an hour, SIGSTOP or a suspended VM, left a
            // partial checkpoint that committed and verified: helper-93), each with the archive's SHA-256 (one rewritten
            // in place, its size kept, was committed: helper-94); the save checks each file against this scan up to its
            // last read and its hash before it writes anything that commits
            dev.ckpt.store.commit.SourceDir scanned = CheckpointStore.scanEverything(staging);
            java.util.SortedMap<String, Long> expected = new java.util.TreeMap<>();
            archived.files().forEach(f -> expected.put(f.path(), f.size()));
            if (!scanned.sizes().equals(expected)) {
                throw Staging.changed(file, staging, "before", Staging.difference(expected, scanned.sizes()));
            }
            java.util.Map<String, String> sha256 = new HashMap<>();
            archived.files().forEach(f -> sha256.put(f.path(), f.sha256()));
            java.util.Map<String, Integer> modes = new HashMap<>(); // the archive's modes, not the staging's 0644
            archived.files().forEach(f -> modes.put(f.path(), f.mode()));
            scanned = scanned.expecting(sha256).withModes(modes);
            SaveRequest request;
            try { // before the run is claimed: a refused archive must not fence the run's writer
                request = new SaveRequest(staging, run, step, archived.epoch(), archived.metadata(), null, null)
                        .withScan(scanned);
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new InvalidInputException("archive " + file + " cannot be imported as it is: " + e.getMessage()
                        + "; nothing was imported");
            }
            SaveResult s = null; // null until the save returned (Interruption.settled)
            try (OutputOptions.Progress p = output.start(err(), "import " + file)) {
                WriterToken w = store.claimWriter(run, "ckpt-tool-import");
                s = gcWait.save(store, w, request, p);
            } catch (InvalidInputException e) {
                String m = String.valueOf(e.getMessage());
                if (!m.contains(staging.toString())) {
                    throw e;
                }
                // a staged file changed during the save: said as the import's, not as a save's ("save again")
                int cut = m.indexOf("; nothing was committed");
                throw Staging.changed(file, staging, "before or while", cut > 0 ? m.substring(0, cut) : m);
            } finally {
                Interruption.settled(s == null ? null : s.checkpointId()); // only saying the outcome is left
            }
            SameStepNote.of(store, this.store, run, step, s.checkpointId()).ifPresent(err()::println);
            if (!s.repairedChunks().isEmpty()) { // as push says it (helper-111: an import repaired without a word)
                err().println(Printable.message(s.repairNote(this.store)));
            }
            print(new Imported(s.checkpointId(), archived.id(), file.toString(), s.files(), s.logicalBytes(), s.newChunks(),
                    s.repairedChunks(), s.summary()));
            return ExitCode.OK;
        } finally {
            Staging.remove(staging, err());
        }
    }

    /**
     * @param id      the new checkpoint
     * @param from    the checkpoint the archive was exported from
     * @param archive the archive as given (text form only)
     * @param repairedChunks chunk objects live checkpoints referenced that the import found missing or damaged and wrote again
     * @param summary the save's summary line (text form only)
     */
    record Imported(String id, String from, @JsonIgnore String archive, int files, long logicalBytes, int newChunks,
                    List<String> repairedChunks, @JsonIgnore String summary) implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.println(id);
            err.printf("imported %s from %s as %s: %s%n", from, ShowCommand.printable(archive), id, summary);
        }
    }

    /**
     * Where the archive is unpacked before it is saved: inside a local store's directory
     * (hidden, same filesystem, never listed), else in $TMPDIR (or java.io.tmpdir).
     */
    private Path createStaging(CheckpointStore store) {
        Optional<Path> local = ObjectStores.localDirectory(store.objectStore());
        String tmpdir = CkptTool.env(spec).get("TMPDIR");
        Path dir = local.orElseGet(() -> Path.of(tmpdir != null && !tmpdir.isBlank() ? tmpdir
                : System.getProperty("java.io.tmpdir")));
        if (local.isEmpty()) {
            Staging.removeStale(dir, TempNames.IMPORT_STAGING, "an import", err());
        }
        for (int attempt = 1; ; attempt++) {
            try {
                if (local.isPresent()) {
                    // a command that failed next to this one may have removed the new store's empty directory
                    LocalFiles.createDirectoriesAgain(dir);
                }
                return Staging.create(dir.resolve(TempNames.next(TempNames.IMPORT_STAGING)));
            } catch (java.nio.file.NoSuchFileException e) {
                // removed between creating it and creating the staging directory in it: create it again
                if (attempt == 20 || local.isEmpty()) {
                    throw stagingError(dir, e);
                }
            } catch (IOException e) {
                throw stagingError(dir, e);
            }
        }
    }

    /** What is wrong with the archive, in words (zstd's own terse message last), and what it should be. */
    static String archiveProblem(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (e instanceof com.github.luben.zstd.ZstdIOException && m.contains("Unknown frame descriptor")) {
            return "it is not zstd-compressed, so not a .tar.zst written by ckpt-tool export (zstd: " + m + ")";
        }
        if (e instanceof com.github.luben.zstd.ZstdIOException) {
            return (m.contains("Truncated") || m.contains("Src size is incorrect")
                    ? "it ends early; was it cut off while it was copied or downloaded?"
                    : "its compressed data is damaged; export the checkpoint again") + " (zstd: " + m + ")";
        }
        return LocalFiles.explain(e) + " (is it a .tar.zst written by ckpt-tool export?)";
    }

    /** The archived checkpoint's bytes, once its manifest is read (-1 before): what its unpacking needs at most. */
    private long archivedBytes = -1;

    private InvalidInputException stagingError(Path where, IOException e) {
        String size = archivedBytes < 0 ? "" : "; the checkpoint's files take up to "
                + dev.ckpt.store.util.Sizes.human(archivedBytes) + " there (runs of zeros take none)";
        return new InvalidInputException("cannot unpack archive " + file + " into " + where + ": " + LocalFiles.explain(e)
                + " (import stages the checkpoint inside a local store's directory, for other stores in $TMPDIR" + size
                + "; nothing was imported)", e);
    }

    /**
     * Unpacks one entry into {@code out} and returns its SHA-256; with {@code out} null (the
     * archive is already refused) only reads and hashes it. An error writing (a full disk)
     * is the staging's, not the archive's.
     */
    private String unpack(InputStream tar, Path out, Path staging) throws IOException {
        MessageDigest md = Hashes.sha256();
        java.nio.channels.FileChannel o = null;
        if (out != null) {
            try {
                Staging.createDirectories(staging, out.getParent());
                o = java.nio.channels.FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw stagingError(staging, e);
            }
        }
        try {
            byte[] buf = new byte[1 << 16];
            long at = 0;
            for (int n; (n = tar.read(buf)) > 0; ) { // an IOException here is the archive's
                Staging.stopIfInterrupted(); // a signal's stop: these streams do not heed an interrupt
                md.update(buf, 0, n);
                // a run of zeros is left a hole, as restore leaves it: a sparse file exported in a few KiB took its
                // whole size to import (helper-105: 200 MiB on a 40 MiB $TMPDIR)
                if (o != null && !zeros(buf, n)) {
                    try {
                        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(buf, 0, n);
                        while (b.hasRemaining()) {
                            o.write(b, at + b.position());
                        }
                    } catch (IOException e) {
                        throw stagingError(staging, e);
                    }
                }
                at += n;
            }
            if (o != null && o.size() < at) {
                try {
                    o.write(java.nio.ByteBuffer.wrap(new byte[1]), at - 1); // the file's size, ending in a hole
                } catch (IOException e) {
                    throw stagingError(staging, e);
                }
            }
        } finally {
            try {
                if (o != null) {
                    o.close();
                }
            } catch (IOException e) {
                throw stagingError(staging, e);
            }
        }
        return Hashes.hex(md.digest());
    }

    private static boolean zeros(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** How many problems one message lists; the rest are counted. */
    static final int SHOWN = 20;

    /**
     * Throws one error for every problem found in the archive: a single one as one line, more as a
     * list (the first {@link #SHOWN}, in the archive's order) under a heading with their count.
     */
    private <E extends dev.ckpt.store.error.CkptException> void throwIfAny(List<String> problems, String what,
                                                                          java.util.function.Function<String, E> error) {
        if (problems.size() == 1) {
            throw error.apply("archive " + file + ": " + problems.get(0) + "; nothing was imported");
        }
        if (problems.size() > 1) {
            E e = error.apply(problems.size() + " entries of archive " + file + " " + what + ", and nothing was imported"
                    + (problems.size() > SHOWN ? " (the first " + SHOWN + " are listed)" : ""));
            throw e.<E>listing(problems.subList(0, Math.min(SHOWN, problems.size())));
        }
    }

    /** The directory the archive is unpacked in, once made: an interrupted import names it. */
    private volatile Path unpackingIn;
    /** Whether {@link #unpackingIn} is inside a local store, where GC removes it. */
    private volatile boolean insideStore;

    @Override
    RuntimeException onFullDisk(dev.ckpt.store.error.StoreUnavailableException e) {
        return fullDiskBeforeCommit(e);
    }

    @Override
    String interrupted(String committing) {
        return interruptedSave(committing) + (unpackingIn == null ? "" : "; delete " + unpackingIn + ", where the archive"
                + " was being unpacked (rm -r " + ShellWords.word(unpackingIn.toString()) + ")"
                + (insideStore ? "; gc removes it once it is an hour old"
                : "; the next import through $TMPDIR removes it once it is an hour old"));
    }

    /** Asked only when its commit was not sent, and is now barred ({@link StoreCommand#atSignal}). */
    @Override
    String finishedAfterSignal() {
        return "its commit had been sent";
    }

    @Override
    boolean stopsAtSignal() {
        return true;
    }

    @Override
    String stoppedAtSignal() {
        return "nothing was imported" + (unpackingIn == null ? "" : "; the directory the archive was being unpacked in"
                + " was removed") + "; importing again is safe";
    }
}

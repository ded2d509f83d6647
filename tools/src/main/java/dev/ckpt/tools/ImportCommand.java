package dev.ckpt.tools;

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
import dev.ckpt.store.manifest.SafePaths;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.util.LocalFiles;
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
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

@Command(name = "import", description = {"Import a .tar.zst archive made by export as a checkpoint of RUN at STEP.",
        "Metadata is kept. Entry names that are absolute or contain '..', links and devices are refused; every file",
        "is checked against the archived manifest's SHA-256 before anything is committed. The archive is unpacked",
        "in a hidden directory inside a local store, or in $TMPDIR for other stores (removed afterwards)."},
        footer = {"", "Example:", "  ckpt-tool import ./ckpt-store run-42.tar.zst --run run-42 --step 1000"})
final class ImportCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "FILE.tar.zst", description = "the archive")
    Path file;

    @picocli.CommandLine.Mixin
    GcWaitOptions gcWait;

    @Option(names = "--run", required = true, description = "run name in this store")
    String run;

    @Option(names = "--step", required = true, description = "training step")
    long step;

    @Override
    boolean createsStore() {
        return true;
    }

    @Override
    int run(CheckpointStore store) throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException("archive " + file + " does not exist or is not a file");
        }
        Optional<String> readOnly = ObjectStores.readOnlyReason(store.objectStore());
        if (readOnly.isPresent()) {
            throw new ReadOnlyStoreException("store " + store.objectStore().describe() + " is read-only ("
                    + readOnly.get() + "): import writes a checkpoint into it; nothing was read from " + file);
        }
        Path staging = createStaging(store);
        try {
            Manifest archived = null;
            Map<String, String> hashes = new HashMap<>();
            try (InputStream raw = new BufferedInputStream(Files.newInputStream(file));
                 ZstdInputStream zstd = new ZstdInputStream(raw);
                 TarArchiveInputStream tar = new TarArchiveInputStream(zstd, "UTF-8")) { // as export writes, whatever the locale
                for (TarArchiveEntry te; (te = tar.getNextEntry()) != null; ) {
                    String name = te.getName();
                    if (name.equals(ExportCommand.MANIFEST_ENTRY)) {
                        archived = Json.readManifestFrom(file + ":" + name, tar.readAllBytes());
                        continue;
                    }
                    String rel = safeName(name);
                    if (te.isDirectory()) {
                        continue;
                    }
                    // isFile() alone is true for link and device entries (their names do not end in '/')
                    if (!te.isFile() || te.isSymbolicLink() || te.isLink() || te.isCharacterDevice()
                            || te.isBlockDevice() || te.isFIFO()) {
                        throw new InvalidInputException("archive " + file + ": entry '" + name
                                + "' is a link or device; only regular files can be imported");
                    }
                    Path out;
                    try {
                        out = staging.resolve(rel).normalize();
                    } catch (java.nio.file.InvalidPathException e) {
                        throw new InvalidInputException("cannot import file '" + rel + "' of archive " + file + ": "
                                + LocalFiles.encodingHint() + "; nothing was imported", e);
                    }
                    if (!out.startsWith(staging)) {
                        throw new InvalidInputException("archive " + file + ": entry '" + name + "' points outside the checkpoint");
                    }
                    hashes.put(rel, unpack(tar, out, staging));
                }
            } catch (IOException e) {
                throw new InvalidInputException("cannot read archive " + file + ": " + LocalFiles.explain(e)
                        + " (is it a .tar.zst written by ckpt-tool export?)", e);
            }
            if (archived == null) {
                throw new InvalidInputException("archive " + file + " has no " + ExportCommand.MANIFEST_ENTRY
                        + "; it was not written by ckpt-tool export");
            }
            for (FileEntry f : archived.files()) {
                String got = hashes.remove(f.path());
                if (got == null) {
                    throw new CorruptObjectException(file.toString(), "archive " + file + " lacks file " + f.path() + " of its manifest");
                }
                if (!got.equals(f.sha256())) {
                    throw new CorruptObjectException(file.toString(), "archive " + file + ": file " + f.path()
                            + " hashes to " + got + " but its manifest says " + f.sha256() + "; nothing was imported");
                }
            }
            if (!hashes.isEmpty()) {
                throw new InvalidInputException("archive " + file + " holds files its manifest does not list: " + hashes.keySet());
            }
            SaveResult s;
            try (OutputOptions.Progress p = output.start(err(), "import " + file)) {
                WriterToken w = store.claimWriter(run, "ckpt-tool-import");
                s = gcWait.save(store, w, new SaveRequest(staging, run, step, archived.epoch(), archived.metadata(), null, null), p);
            }
            print(new Imported(s.checkpointId(), archived.id(), file.toString(), s.files(), s.logicalBytes(), s.newChunks(),
                    s.summary()));
            return ExitCode.OK;
        } finally {
            LocalFiles.deleteTree(staging);
        }
    }

    /**
     * @param id      the new checkpoint
     * @param from    the checkpoint the archive was exported from
     * @param archive the archive as given (text form only)
     * @param summary the save's summary line (text form only)
     */
    record Imported(String id, String from, @JsonIgnore String archive, int files, long logicalBytes, int newChunks,
                    @JsonIgnore String summary) implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.println(id);
            err.printf("imported %s from %s as %s: %s%n", from, archive, id, summary);
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
        try {
            return Files.createDirectory(dir.resolve(LocalFiles.tempName("-import")));
        } catch (IOException e) {
            throw stagingError(dir, e);
        }
    }

    private InvalidInputException stagingError(Path where, IOException e) {
        return new InvalidInputException("cannot unpack archive " + file + " into " + where + ": " + LocalFiles.explain(e)
                + " (import stages the checkpoint inside a local store's directory, for other stores in $TMPDIR;"
                + " nothing was imported)", e);
    }

    /** Unpacks one entry; an error writing (a full disk) is the staging's, not the archive's. */
    private String unpack(InputStream tar, Path out, Path staging) throws IOException {
        MessageDigest md = Hashes.sha256();
        OutputStream o;
        try {
            Files.createDirectories(out.getParent());
            o = Files.newOutputStream(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw stagingError(staging, e);
        }
        try {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = tar.read(buf)) > 0; ) { // an IOException here is the archive's
                md.update(buf, 0, n);
                try {
                    o.write(buf, 0, n);
                } catch (IOException e) {
                    throw stagingError(staging, e);
                }
            }
        } finally {
            try {
                o.close();
            } catch (IOException e) {
                throw stagingError(staging, e);
            }
        }
        return Hashes.hex(md.digest());
    }

    /** The relative path of a file entry, refusing absolute names and '..'. */
    private String safeName(String name) {
        if (!name.startsWith(ExportCommand.FILES)) {
            throw new InvalidInputException("archive " + file + ": unexpected entry '" + name + "' (not under files/)");
        }
        String rel = name.substring(ExportCommand.FILES.length());
        if (rel.endsWith("/")) {
            rel = rel.substring(0, rel.length() - 1);
        }
        if (rel.isEmpty()) {
            return ".";
        }
        try {
            return SafePaths.check(rel);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("archive " + file + ": entry '" + name + "' refused: " + e.getMessage());
        }
    }

}

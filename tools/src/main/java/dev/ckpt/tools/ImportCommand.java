package dev.ckpt.tools;

import com.github.luben.zstd.ZstdInputStream;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.LocalFiles;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.SafePaths;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "import", description = {"Import a .tar.zst archive made by export as a checkpoint of RUN at STEP.",
        "Metadata is kept. Entry names that are absolute or contain '..', links and devices are refused; every file",
        "is checked against the archived manifest's SHA-256 before anything is committed."},
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
    int run(CheckpointStore store) throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException("archive " + file + " does not exist or is not a file");
        }
        Path staging = Files.createTempDirectory(".ckpt-import-");
        try {
            Manifest archived = null;
            Map<String, String> hashes = new HashMap<>();
            try (InputStream raw = new BufferedInputStream(Files.newInputStream(file));
                 ZstdInputStream zstd = new ZstdInputStream(raw);
                 TarArchiveInputStream tar = new TarArchiveInputStream(zstd)) {
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
                    if (!te.isFile()) {
                        throw new InvalidInputException("archive " + file + ": entry '" + name
                                + "' is a link or device; only regular files can be imported");
                    }
                    Path out = staging.resolve(rel).normalize();
                    if (!out.startsWith(staging)) {
                        throw new InvalidInputException("archive " + file + ": entry '" + name + "' points outside the checkpoint");
                    }
                    Files.createDirectories(out.getParent());
                    MessageDigest md = Hashes.sha256();
                    Files.copy(new DigestInputStream(new NoClose(tar), md), out);
                    hashes.put(rel, Hashes.hex(md.digest()));
                }
            } catch (IOException e) {
                throw new InvalidInputException("cannot read archive " + file + ": " + e.getMessage()
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
            if (output.json) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("id", s.checkpointId());
                j.put("from", archived.id());
                j.put("files", s.files());
                j.put("logicalBytes", s.logicalBytes());
                j.put("newChunks", s.newChunks());
                output.printJson(out(), j);
            } else {
                out().println(s.checkpointId());
                err().printf("imported %s from %s as %s: %s%n", archived.id(), file, s.checkpointId(), s.summary());
            }
            return ExitCode.OK;
        } finally {
            LocalFiles.deleteTree(staging);
        }
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

    /** Keeps Files.copy from closing the tar stream. */
    private static final class NoClose extends java.io.FilterInputStream {
        NoClose(InputStream in) {
            super(in);
        }

        @Override
        public void close() {
        }
    }
}

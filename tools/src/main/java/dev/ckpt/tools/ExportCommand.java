package dev.ckpt.tools;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.github.luben.zstd.ZstdOutputStream;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.TempNames;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

@Command(name = "export", description = {"Write a checkpoint to a .tar.zst archive.",
        "The archive holds the manifest (ckpt-manifest.json) and the files under files/. The checkpoint is restored"
                + " and verified first; the archive is written under a temporary name and renamed into place."},
        footer = {"", "Example:", "  ckpt-tool export s3://ml-ckpt/llama run-42:latest run-42.tar.zst"})
final class ExportCommand extends StoreCommand {
    static final String MANIFEST_ENTRY = "ckpt-manifest.json";
    static final String FILES = "files/";

    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint")
    String ckpt;

    @Parameters(index = "2", paramLabel = "FILE.tar.zst", description = "the archive to write")
    Path file;

    @Override
    int run(CheckpointStore store) throws Exception {
        CheckpointEntry e = store.resolve(ckpt);
        Manifest m = store.manifest(e);
        Path dir = file.toAbsolutePath().getParent();
        Path staging;
        try {
            // a short name next to the archive: same filesystem for the final rename, and a
            // checkpoint path that fits wherever it fitted when it was pushed
            staging = Files.createDirectory(dir.resolve(TempNames.next("")));
        } catch (IOException ex) {
            throw new InvalidInputException("cannot write archive " + file + ": cannot create a staging directory in "
                    + dir + ": " + LocalFiles.explain(ex), ex);
        }
        writingIn = staging;
        Path data = staging.resolve("d");
        Path tmp = staging.resolve("a.tmp");
        try (OutputOptions.Progress p = output.start(err(), "export " + e.id())) {
            try {
                store.restore(e, data, List.of(), p);
            } catch (InvalidInputException ex) {
                if (ex.getCause() instanceof IOException io) { // the staging's disk, not the checkpoint
                    throw new InvalidInputException("cannot write archive " + file + ": staging the checkpoint next to it in "
                            + staging + " failed: " + LocalFiles.explain(io) + "; nothing was written to " + file, ex);
                }
                throw ex;
            }
            p.update("restored and verified; writing " + file);
            try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(tmp));
                 ZstdOutputStream zstd = new ZstdOutputStream(raw, 3);
                 TarArchiveOutputStream tar = new TarArchiveOutputStream(zstd, "UTF-8")) { // entry names never in the locale's charset
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                byte[] manifest = Json.write(m);
                TarArchiveEntry me = new TarArchiveEntry(MANIFEST_ENTRY);
                me.setSize(manifest.length);
                tar.putArchiveEntry(me);
                tar.write(manifest);
                tar.closeArchiveEntry();
                for (FileEntry f : m.files()) {
                    TarArchiveEntry te = new TarArchiveEntry(data.resolve(f.path()).toFile(), FILES + f.path());
                    te.setMode(f.mode() == 0 ? 0644 : f.mode() & 07777);
                    tar.putArchiveEntry(te);
                    Files.copy(data.resolve(f.path()), tar);
                    tar.closeArchiveEntry();
                }
                tar.finish();
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException ex) {
            throw new InvalidInputException("cannot write archive " + file + " (staging in " + staging + "): "
                    + LocalFiles.explain(ex) + "; nothing was written to " + file, ex);
        } finally {
            LocalFiles.deleteTree(staging);
        }
        print(new Exported(m.id(), file.toAbsolutePath().toString(), file.toString(), m.files().size(), m.logicalBytes(),
                Files.size(file)));
        return ExitCode.OK;
    }

    /**
     * @param file  the archive, absolute
     * @param given the archive as given on the command line (text form only)
     */
    record Exported(String id, String file, @JsonIgnore String given, int files, long logicalBytes, long archiveBytes)
            implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.printf("exported %s (%s, %s) to %s (%s)%n", id, count(files, "file"), human(logicalBytes), given, human(archiveBytes));
        }
    }

    /** The staging directory beside the archive, once made: an interrupted export names it. */
    private volatile Path writingIn;

    @Override
    String interrupted(String committing) {
        return file + " was not written" + (writingIn == null ? "" : "; delete " + writingIn
                + ", where the checkpoint was being restored and packed");
    }
}

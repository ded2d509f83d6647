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
import dev.ckpt.store.util.ShellWords;
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
                + " and verified first; the archive is written under a temporary name and renamed into place. It replaces an earlier archive"
                + " or an empty file at FILE; any other file there is refused."},
        footer = {"", "Example:", "  ckpt-tool export s3://ml-ckpt/llama run-42:latest run-42.tar.zst"})
final class ExportCommand extends StoreCommand {
    static final String MANIFEST_ENTRY = "ckpt-manifest.json";
    static final String FILES = "files/";

    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint", converter = SelectorShape.class)
    String ckpt;

    @Parameters(index = "2", paramLabel = "FILE.tar.zst", description = "the archive to write")
    Path file;

    /**
     * Refuses, before the store is opened and anything restored, an archive path where
     * something other than a regular file stands: the final rename replaced whatever was
     * there (as root, {@code export ... /dev/null} replaced the device with a file), and a
     * directory failed only after the whole checkpoint was restored (helper-96).
     */
    @Override
    void checkArguments() {
        if (file.toString().isEmpty()) {
            throw new InvalidInputException("no archive given (FILE is empty): give the path of a .tar.zst file to write;"
                    + " nothing was written");
        }
        String name = file.toString();
        if (name.equals("-") || name.matches("/dev/(stdout|stderr|stdin|fd/[0-9]+)|/proc/(self|[0-9]+)/fd/[0-9]+")) {
            // '-' wrote a file named '-', the summary going where the archive was meant to; /dev/stdout was "a
            // symbolic link (give the path it points to)", a pipe that has no path (helper-146)
            throw new InvalidInputException("cannot write archive " + name + ": export writes a file, not a stream"
                    + " (standard output, standard error or another open descriptor); give the path of a .tar.zst file"
                    + (name.equals("-") ? " (./- for a file named '-')" : "") + "; nothing was written");
        }
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) { // no parent: "/", a directory, said below
            String tooLong = dev.ckpt.store.util.LocalFiles.tooLong(file.toAbsolutePath());
            if (tooLong != null) { // Java's check says "does not exist" of it (helper-127)
                throw new InvalidInputException("cannot write archive " + file + ": " + tooLong + "; nothing was written");
            }
            // it failed after the store was opened, as "cannot create a staging directory in DIR", without the way out
            Path link = danglingLink(dir);
            throw new InvalidInputException("cannot write archive " + file + ": its directory " + dir + (Files.exists(dir)
                    ? " is not a directory" : link != null ? (link.equals(dir) ? "" : " passes through " + link + ", which")
                    + " is a symbolic link to " + target(link) + ", which does not exist" : " does not exist (mkdir -p "
                    + ShellWords.word(dir.toString()) + " makes it)") + "; give a path in an existing directory; nothing was"
                    + " written");
        }
        String refused = notReplaceable(file);
        if (refused != null && !Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new InvalidInputException(refused); // a directory, link or device now; a file's content after the
                                                      // store's own names, in run
        }
    }

    /** The first four bytes of every zstd frame (RFC 8878, 3.1.1: 0xFD2FB528, little-endian). */
    private static final byte[] ZSTD_MAGIC = {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD};

    /**
     * Why the regular file at {@code file} may not be replaced by the archive, or null if it may:
     * an export replaces an earlier archive (a file that starts as a zstd frame does) or an empty
     * file, never another file (helper-142: {@code export S latest model.safetensors}, the
     * arguments mixed up, replaced the user's file). Checked before anything is restored (after
     * the store's own names, which {@link #run} refuses in words of their own) and again just
     * before the rename.
     */
    static String notReplaceable(Path file) {
        java.nio.file.attribute.BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return null; // nothing there (or not readable): writing it says what is wrong
        }
        if (!a.isRegularFile()) {
            // never opened: a FIFO made there during the export blocked its open until a writer came (helper-147)
            return "cannot write archive " + file + ": it is " + (a.isDirectory() ? "a directory" : a.isSymbolicLink()
                    ? "a symbolic link (give the path it points to)" : "not a regular file (a device, FIFO or socket)")
                    + "; give the path of a new .tar.zst file, or of an archive to replace; nothing was written";
        }
        if (a.size() == 0) {
            return null;
        }
        byte[] head = new byte[ZSTD_MAGIC.length];
        int n = 0;
        try (java.io.InputStream in = Files.newInputStream(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            for (int r; n < head.length && (r = in.read(head, n, head.length - n)) > 0; ) {
                n += r;
            }
        } catch (java.nio.file.NoSuchFileException gone) {
            return null;
        } catch (IOException e) {
            return "cannot write archive " + file + ": a file is there, and whether it is an earlier archive cannot be"
                    + " read (" + LocalFiles.reason(e) + ": see the file's own mode and owner); export replaces only an earlier"
                    + " archive or an empty file: remove it or give another path; nothing was written";
        }
        if (n == 0 || (n == head.length && java.util.Arrays.equals(head, ZSTD_MAGIC))) {
            return null;
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            size = n;
        }
        return "cannot write archive " + file + ": a file that is not a zstd archive is there (" + size + " bytes);"
                + " export replaces only an earlier archive or an empty file: remove it or give another path (check the"
                + " order: ckpt-tool export STORE CKPT FILE.tar.zst); nothing was written";
    }

    /** The nearest of {@code dir} and its parents that is a link pointing nowhere, or null: mkdir -p would fail there. */
    private static Path danglingLink(Path dir) {
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isSymbolicLink(p) && !Files.exists(p)) {
                return p;
            }
        }
        return null;
    }

    /** Where the link {@code link} points, as it says, or "?" if it cannot be read. */
    private static String target(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    @Override
    int run(CheckpointStore store) throws Exception {
        Path dir = file.toAbsolutePath().getParent();
        java.util.Optional<Path> local = dev.ckpt.store.objectstore.ObjectStores.localDirectory(store.objectStore());
        dev.ckpt.store.util.Overlap overlap = local.isEmpty() ? dev.ckpt.store.util.Overlap.NONE
                : dev.ckpt.store.util.Overlap.of(local.get(), dir);
        if (overlap == dev.ckpt.store.util.Overlap.INSIDE) {
            // gc deleted an archive written into manifests/ or chunks/ as an object no checkpoint references (helper-98)
            throw new InvalidInputException("cannot write archive " + file + ": it is inside the store " + local.get()
                    + ", among its objects; write it outside the store (or at its top); nothing was written");
        }
        String own = overlap == dev.ckpt.store.util.Overlap.SAME ? storeName(local.get()) : null;
        if (own != null) {
            // "export s2 latest s2/ROOT" replaced the store's ROOT with the archive: the store was lost (helper-100);
            // one named gc or runs broke gc and a ranks' stop (helper-101)
            throw new InvalidInputException("cannot write archive " + file + ": it is " + own + " in " + local.get()
                    + "; give the archive another name; nothing was written");
        }
        String refused = notReplaceable(file); // after the store's own names, which say more
        if (refused != null) {
            throw new InvalidInputException(refused);
        }
        CheckpointEntry e = store.resolve(ckpt);
        Manifest m = store.manifest(e);
        Staging.removeStale(dir, TempNames.EXPORT_STAGING, "an export", err());
        Path staging;
        try {
            // a short name next to the archive: same filesystem for the final rename, and a
            // checkpoint path that fits wherever it fitted when it was pushed
            staging = Staging.create(dir.resolve(TempNames.next(TempNames.EXPORT_STAGING)));
        } catch (IOException ex) {
            throw new InvalidInputException("cannot write archive " + file + ": cannot create a staging directory in "
                    + dir + ": " + LocalFiles.explain(ex), ex);
        }
        writingIn = staging;
        Path data = staging.resolve("d");
        Path tmp = staging.resolve("a.tmp");
        try (OutputOptions.Progress p = output.start(err(), "export " + e.id());
             Staging.Heartbeat beat = new Staging.Heartbeat(staging)) {
            try {
                store.restore(e, data, List.of(), p);
            } catch (InvalidInputException ex) {
                if (ex.getCause() instanceof IOException io) { // the staging's disk, not the checkpoint
                    throw new InvalidInputException("cannot write archive " + file + ": staging the checkpoint next to it in "
                            + staging + " failed: " + LocalFiles.explain(io) + "; nothing was written to " + file, ex);
                }
                throw ex;
            } catch (dev.ckpt.store.error.CorruptObjectException | dev.ckpt.store.error.NotFoundException ex) {
                throw asExport(ex, data); // a damaged chunk: said as the export's, not as a restore into its staging
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
                    pack(tar, data, f, staging);
                }
                tar.finish();
            }
            String appeared = notReplaceable(file); // a file written there while the checkpoint was restored and packed
            if (appeared != null) {
                throw new InvalidInputException(appeared.replace("; nothing was written", " (it appeared while this export"
                        + " ran); nothing was written"));
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            written = true;
        } catch (IOException ex) {
            if (ex instanceof java.nio.file.NoSuchFileException gone && gone.getFile() != null
                    && Path.of(gone.getFile()).startsWith(staging)) { // a staged file went: a change, not the disk's failure
                Path p = Path.of(gone.getFile());
                throw changedWhilePacked(staging, p.startsWith(data) ? "file " + data.relativize(p) + " is gone"
                        : "the archive being written there, " + staging.relativize(p) + ", is gone");
            }
            throw new InvalidInputException("cannot write archive " + file + " (staging in " + staging + "): "
                    + LocalFiles.explain(ex) + "; nothing was written to " + file, ex);
        } finally {
            Staging.remove(staging, err());
        }
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (!name.endsWith(".tar.zst") && !name.endsWith(".tzst")) {
            // a helper's "export ... x.tar" wrote zstd under a name that says plain tar
            err().println("ckpt-tool export: note: " + ShowCommand.printable(file.toString()) + " holds a zstd-compressed tar, whatever its name; name it"
                    + " .tar.zst to say so (ckpt-tool import and GNU tar read it either way)");
        }
        print(new Exported(m.id(), file.toAbsolutePath().toString(), file.toString(), m.files().size(), m.logicalBytes(),
                Files.size(file)));
        return ExitCode.OK;
    }

    /**
     * What the archive, at the top of the local store {@code storeDir}, would replace of the
     * store's own, or null: a name the store uses there ({@link dev.ckpt.store.objectstore.Keys#TOP_LEVEL},
     * made when first needed), a hidden one (its locks, a writer's temporary), or another name
     * of its ROOT (a hard link, or a filesystem that ignores case).
     */
    private String storeName(Path storeDir) {
        String name = file.getFileName().toString();
        if (dev.ckpt.store.objectstore.Keys.TOP_LEVEL.contains(name) || name.startsWith(".")) {
            return "the store's own " + name;
        }
        try {
            Path root = storeDir.resolve(dev.ckpt.store.manifest.RootState.KEY);
            return Files.exists(file) && Files.exists(root) && Files.isSameFile(file, root)
                    ? "another name of the store's ROOT" : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Writes file {@code f} of the checkpoint, restored and verified in {@code data}, into
     * {@code tar}: its size and mode from the manifest, its bytes from the staged file, whose
     * SHA-256 is checked against the manifest's as they are packed. A staged file rewritten
     * after the restore verified it (another process, or one removed by a later export or GC
     * while this export was stopped for over an hour) had been packed as it was, and the export
     * exited 0 with an archive that import refuses (helper-95).
     */
    private void pack(TarArchiveOutputStream tar, Path data, FileEntry f, Path staging) throws IOException {
        Path src = data.resolve(f.path());
        TarArchiveEntry te = new TarArchiveEntry(FILES + f.path());
        te.setSize(f.size());
        te.setMode(f.mode() == 0 ? 0644 : f.mode() & 07777);
        te.setModTime(Files.getLastModifiedTime(src).toMillis());
        java.security.MessageDigest sha = dev.ckpt.store.chunk.Hashes.sha256();
        tar.putArchiveEntry(te);
        try (java.io.InputStream in = Files.newInputStream(src)) {
            byte[] buf = new byte[1 << 20];
            long left = f.size();
            while (left > 0) {
                Staging.stopIfInterrupted();
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw changedWhilePacked(staging, "file " + f.path() + " holds " + (f.size() - left) + " bytes, not "
                            + f.size());
                }
                sha.update(buf, 0, n);
                tar.write(buf, 0, n);
                left -= n;
            }
            if (in.read() >= 0) {
                throw changedWhilePacked(staging, "file " + f.path() + " holds more than its " + f.size() + " bytes");
            }
        }
        String hash = dev.ckpt.store.chunk.Hashes.hex(sha.digest());
        if (!hash.equals(f.sha256())) {
            throw changedWhilePacked(staging, "file " + f.path() + " hashed to " + hash + ", not the checkpoint's "
                    + f.sha256());
        }
        tar.closeArchiveEntry();
    }

    /**
     * A restore's error about a damaged or missing chunk, said as this export's: it named the
     * staging directory (deleted by then) as "as it was" and advised to restore an earlier
     * checkpoint (helper-96). Same type, so the same exit code.
     */
    private RuntimeException asExport(dev.ckpt.store.error.CkptException ex, Path data) {
        String m = String.valueOf(ex.getMessage())
                .replace("nothing was written, " + data.toAbsolutePath().normalize() + " is as it was", "nothing was written to " + file)
                .replace("restore an earlier checkpoint", "export an earlier checkpoint");
        String key = ex instanceof dev.ckpt.store.error.CorruptObjectException c ? c.key()
                : ((dev.ckpt.store.error.NotFoundException) ex).key();
        return ex instanceof dev.ckpt.store.error.CorruptObjectException
                ? new dev.ckpt.store.error.CorruptObjectException(key, "cannot export checkpoint " + ckpt + ": " + m, ex)
                : new dev.ckpt.store.error.NotFoundException(key, "cannot export checkpoint " + ckpt + ": " + m);
    }

    private InvalidInputException changedWhilePacked(Path staging, String what) {
        return new InvalidInputException("cannot write archive " + file + ": the checkpoint restored and verified in "
                + staging + " changed before it was packed (" + what + "; another process wrote into that directory, or"
                + " this export was stopped for over an hour and its directory was removed as a killed export's);"
                + " nothing was written to " + file + ", exporting again is safe");
    }

    /**
     * @param file  the archive, absolute
     * @param given the archive as given on the command line (text form only)
     */
    record Exported(String id, String file, @JsonIgnore String given, int files, long logicalBytes, long archiveBytes)
            implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.printf("exported %s (%s, %s) to %s (%s)%n", id, count(files, "file"), human(logicalBytes), ShowCommand.printable(given),
                    human(archiveBytes));
        }
    }

    /** The staging directory beside the archive, once made: an interrupted export names it. */
    private volatile Path writingIn;
    /** The archive was renamed into place: only the staging directory's removal was left. */
    private volatile boolean written;

    @Override
    boolean stopsAtSignal() {
        return true;
    }

    /** Its restore's renames go into its own staging directory, removed anyway: a signal stops it there too. */
    @Override
    boolean waitsForCommit() {
        return false;
    }

    @Override
    String stoppedAtSignal() {
        return ShellWords.word(file.toString()) + (written ? " was written, whole" : " was not written") + (writingIn == null
                ? "" : "; the directory where the checkpoint was being restored and packed was removed");
    }

    /** When a stop at the signal did not end the export in time (see {@link Interruption}). */
    @Override
    String interrupted(String committing) {
        return ShellWords.word(file.toString()) + (written ? " was written, whole" : " was not written")
                + (writingIn == null ? "" : "; delete "
                + writingIn + ", where the checkpoint was being restored and packed (rm -r "
                + ShellWords.word(writingIn.toString()) + "), or leave it to the next export into its directory, which"
                + " removes it once an hour old (as gc does in a store's directory)");
    }
}

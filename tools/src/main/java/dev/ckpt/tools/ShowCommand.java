package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.util.Printable;
import dev.ckpt.store.manifest.Manifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

@Command(name = "show", description = {"Show a checkpoint: its files with size and SHA-256, chunk counts, metadata.",
        "For a checkpoint saved by several ranks: its world size and each part (rank, files, bytes, part manifest key)."},
        footer = {"", "CKPT is an id, latest (the newest checkpoint of any run), RUN:latest or RUN@STEP.", "", "Example:", "  ckpt-tool show ./ckpt-store demo:latest"})
final class ShowCommand extends StoreCommand {
    @Parameters(index = "1", paramLabel = "CKPT", description = "the checkpoint", converter = SelectorShape.class)
    String ckpt;

    @Override
    int run(CheckpointStore store) {
        CheckpointEntry e = store.resolve(ckpt);
        Manifest m = store.manifest(e);
        Manifest top = store.manifestTop(e);
        List<Part> parts = new ArrayList<>();
        if (top.parts() != null) {
            for (Manifest.PartRef p : top.parts()) {
                parts.add(new Part(p.rank(), p.files(), p.logicalBytes(), p.key()));
            }
        }
        List<File> files = new ArrayList<>();
        for (FileEntry f : m.files()) {
            files.add(new File(f.path(), f.size(), f.sha256(), f.chunks().size(), Integer.toOctalString(f.mode() & 07777)));
        }
        print(new Shown(m.id(), m.run(), m.step(), m.epoch(), m.created(), m.writer(), e.pinned(), e.verifiedAt(), m.metadata(),
                m.logicalBytes(), m.chunks().size(), top.worldSize(), parts, files));
        return ExitCode.OK;
    }

    /**
     * A checkpoint's manifest as show prints it; {@code epoch} is the training epoch (null if none was given);
     * {@code worldSize} how many ranks saved it and {@code parts} their parts (empty for a checkpoint of one writer);
     * {@code verifiedAt} when {@code verify --read-data --record} last read all of it (null if never).
     */
    record Shown(String id, String run, long step, Long epoch, Instant created, Manifest.Writer writer, boolean pinned,
                 Instant verifiedAt, Map<String, String> metadata, long logicalBytes, int distinctChunks, int worldSize, List<Part> parts,
                 List<File> files)
            implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.printf("checkpoint %s%n  run %s, step %d%s, created %s%n  writer %s (epoch %d)%s%n", id, run, step,
                    epoch == null ? "" : ", epoch " + epoch, created, writer == null ? "?" : writer.id(),
                    writer == null ? 0 : writer.epoch(), pinned ? ", pinned" : "");
            if (verifiedAt != null) {
                // recorded by verify --read-data --record or by a resume that read it whole (helper-117, 118: it named verify only)
                out.println("  every byte verified at " + verifiedAt + " (by verify --read-data --record, or a resume that read every chunk)");
            } else { // said, not left out: a reader could not tell "never" from "not shown" (helper-151)
                out.println("  never verified byte by byte (ckpt-tool verify --read-data --record reads it all and records when)");
            }
            if (!metadata.isEmpty()) { // one pair a line, escaped: a value cannot break the line or pose as another pair
                out.println("  metadata:");
                metadata.forEach((k, v) -> out.println("    " + printable(k) + "=" + printable(v)));
            }
            out.printf("  %s, %s, %s%n", count(files.size(), "file"), human(logicalBytes),
                    count(distinctChunks, "distinct chunk"));
            if (!parts.isEmpty()) {
                out.printf("  world size %d: %s%n", worldSize, count(parts.size(), "part"));
                for (Part p : parts) {
                    out.printf("    rank %-5d %11s %10s  %s%n", p.rank(), count(p.files(), "file"), human(p.logicalBytes()), p.manifest());
                }
            }
            for (File f : files) {
                // escaped as metadata is: an imported archive's names cannot drive the terminal or split a row (helper-105)
                out.printf("  %-40s %12d  %s  %s%n", printable(f.path()), f.size(), f.sha256(), count(f.chunks(), "chunk"));
            }
        }
    }

    /** One rank's part: its files, their bytes and the key of its part manifest. */
    record Part(int rank, int files, long logicalBytes, String manifest) {
    }

    /** @param mode the POSIX permission bits in octal ("644") */
    record File(String path, long size, String sha256, int chunks, String mode) {
    }

    /** {@code s} escaped by {@link Printable#of(String)}. */
    static String printable(String s) {
        return Printable.of(s);
    }

    /** {@code s} escaped by {@link Printable#of(String, boolean)}. */
    static String printable(String s, boolean keepLines) {
        return Printable.of(s, keepLines);
    }
}

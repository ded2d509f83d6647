package dev.ckpt.store.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Hashes;

import java.util.List;

/**
 * One file of a checkpoint: relative path, size, POSIX mode, SHA-256 and ordered chunks;
 * the mode as {@code st_mode} gives it for a regular file, the type bit {@code 0100000} and the
 * nine permission bits (saves before 2026-12-04 recorded the permission bits alone); 0 means
 * none recorded (a restore leaves the file as its create made it), so a file of mode 0000 is
 * recorded {@code 0100000};
 * for a safetensors file, its tensor index ({@code tensors}, in file order; null for other
 * files and in manifests written before the index existed — an additive field, so the
 * manifest format is unchanged and older readers ignore it). A small file packed with others
 * has exactly one chunk, a slice of the pack ({@link ChunkRef#sliced()}); its size is the
 * slice's length.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FileEntry(String path, long size,
                        @com.fasterxml.jackson.databind.annotation.JsonDeserialize(using = FileEntry.ModeReader.class) int mode,
                        String sha256, List<ChunkRef> chunks, List<TensorEntry> tensors) {
    public FileEntry(String path, long size, int mode, String sha256, List<ChunkRef> chunks) {
        this(path, size, mode, sha256, chunks, null);
    }

    public FileEntry {
        SafePaths.check(path);
        if (mode != 0 && (mode & ~0777) != 0 && (mode & ~0777) != REGULAR) {
            // a value no save records: -1 restored as 0777, a directory's or device's type bits as a file (helper-143:
            // an archive's manifest edited so imported, verified and restored)
            throw new IllegalArgumentException("file " + path + ": mode " + mode + " (octal " + Integer.toOctalString(mode)
                    + ") is not a regular file's: the type bit 0100000 and the permission bits 0-0777, or 0 for none");
        }
        if (!Hashes.isSha256Hex(sha256)) {
            throw new IllegalArgumentException("file " + path + ": sha256 must be 64 lower-case hex digits");
        }
        chunks = List.copyOf(chunks);
        long sum = 0;
        for (ChunkRef c : chunks) {
            sum += c.sliceLength();
            if (c.sliced() && chunks.size() != 1) {
                throw new IllegalArgumentException("file " + path + ": a packed file is one slice of one chunk, not "
                        + chunks.size() + " chunks");
            }
        }
        if (sum != size) {
            throw new IllegalArgumentException("file " + path + ": chunks add up to " + sum + " bytes but size is " + size);
        }
        if (tensors != null) {
            tensors = List.copyOf(tensors);
            for (TensorEntry t : tensors) {
                if (t.end() > size) {
                    throw new IllegalArgumentException("file " + path + ": tensor " + t.name() + " ends at byte "
                            + t.end() + ", past the file's " + size + " bytes");
                }
            }
        }
    }

    /**
     * Reads a mode only as a JSON whole number: "0755" was read as 755 and 1.5 as 1, so an
     * archive's manifest edited so imported with modes no save records (helper-143). Other
     * whole-number fields keep the reading they had (a format of 3.0 is 3: committed objects
     * stay readable).
     */
    static final class ModeReader extends com.fasterxml.jackson.databind.JsonDeserializer<Integer> {
        @Override
        public Integer deserialize(com.fasterxml.jackson.core.JsonParser p,
                                   com.fasterxml.jackson.databind.DeserializationContext ctx) throws java.io.IOException {
            if (p.currentToken() != com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT
                    || p.getNumberType() != com.fasterxml.jackson.core.JsonParser.NumberType.INT) {
                return (Integer) ctx.handleUnexpectedToken(Integer.class, p);
            }
            return p.getIntValue();
        }
    }

    /** {@code S_IFREG}: the type bit of a regular file's mode, as saves record it. */
    public static final int REGULAR = 0100000;

    /** True when the file is a slice of a pack chunk (a small file packed with others). */
    public boolean packed() {
        return chunks.size() == 1 && chunks.get(0).sliced();
    }
}

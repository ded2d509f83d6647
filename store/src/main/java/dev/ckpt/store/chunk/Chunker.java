package dev.ckpt.store.chunk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Decides where a file is cut into chunks.
 *
 * <p>Plain files are cut into fixed-size pieces. Safetensors files are cut at tensor
 * boundaries: the header is always its own piece and every tensor larger than a small-piece
 * threshold starts a new chunk, so an unchanged tensor is the same chunks in every
 * checkpoint even when tensors before it change size. Small neighbouring tensors are
 * packed together (up to {@code chunkSize / 8}) so that a model with thousands of tiny
 * tensors does not become thousands of tiny objects.
 */
public final class Chunker {
    /** Default chunk size: 8 MiB. */
    public static final int DEFAULT_CHUNK_SIZE = 8 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final int chunkSize;
    private final int minPiece;

    public Chunker(int chunkSize) {
        if (chunkSize < 1024) {
            throw new IllegalArgumentException("chunk size must be at least 1024 bytes, got " + chunkSize);
        }
        this.chunkSize = chunkSize;
        this.minPiece = Math.max(1, chunkSize / 8);
    }

    public int chunkSize() {
        return chunkSize;
    }

    /** A byte range of a file. */
    public record Piece(long offset, int length) {
    }

    /** The pieces of the file at {@code path} with {@code size} bytes, in order, covering it exactly. */
    public List<Piece> pieces(Path path, long size) throws IOException {
        TreeSet<Long> boundaries = new TreeSet<>();
        boundaries.add(0L);
        long forced = -1;
        if (path.getFileName().toString().endsWith(".safetensors")) {
            List<Long> b = safetensorsBoundaries(path, size);
            if (!b.isEmpty()) {
                forced = b.get(0); // the header is always a chunk of its own
            }
            boundaries.addAll(b);
        }
        boundaries.add(size);
        return cut(boundaries, size, forced);
    }

    /** Cuts [0, size) given segment boundaries (which must include 0 and size); always cuts at {@code forced}. */
    List<Piece> cut(TreeSet<Long> boundaries, long size, long forced) {
        List<Piece> out = new ArrayList<>();
        long pieceStart = 0;
        Iterator<Long> it = boundaries.iterator();
        long segStart = it.next();
        while (it.hasNext()) {
            long segEnd = it.next();
            long pending = segStart - pieceStart;
            if (pending > 0 && (segStart == forced || pending >= minPiece || pending + (segEnd - segStart) > chunkSize)) {
                out.add(new Piece(pieceStart, (int) pending));
                pieceStart = segStart;
            }
            while (segEnd - pieceStart > chunkSize) {
                out.add(new Piece(pieceStart, chunkSize));
                pieceStart += chunkSize;
            }
            segStart = segEnd;
        }
        if (pieceStart < size) {
            out.add(new Piece(pieceStart, (int) (size - pieceStart)));
        }
        return out;
    }

    /** Tensor start offsets of a safetensors file; empty if it does not parse as one. */
    static List<Long> safetensorsBoundaries(Path path, long size) {
        List<Long> out = new ArrayList<>();
        if (size < 8) {
            return out;
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                return out;
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            while (header.hasRemaining() && ch.read(header, 8 + header.position()) > 0) {
                // read fully
            }
            JsonNode root = JSON.readTree(header.array());
            long dataStart = 8 + headerLen;
            out.add(dataStart);
            for (Iterator<Map.Entry<String, JsonNode>> f = root.fields(); f.hasNext(); ) {
                Map.Entry<String, JsonNode> e = f.next();
                JsonNode offsets = e.getValue().get("data_offsets");
                if (offsets != null && offsets.isArray() && offsets.size() == 2) {
                    long begin = dataStart + offsets.get(0).asLong();
                    long end = dataStart + offsets.get(1).asLong();
                    if (begin >= dataStart && begin <= end && end <= size) {
                        out.add(begin);
                        out.add(end);
                    }
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            return new ArrayList<>(); // not a safetensors file after all: fixed-size pieces
        }
    }
}

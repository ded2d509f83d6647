package dev.ckpt.store.chunk;

import dev.ckpt.store.util.NonFiles;
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
 *
 * <p>A piece that lies wholly within floating-point tensors of one element width (F16,
 * BF16: 2 bytes; F32: 4; F64: 8) carries that width, so its chunk is stored byte-grouped
 * ({@link ByteGrouping}); every other piece has width 1.
 */
public final class Chunker {
    /** Default chunk size: 8 MiB. */
    public static final int DEFAULT_CHUNK_SIZE = 8 << 20;
    private static final ObjectMapper JSON = new ObjectMapper(dev.ckpt.store.util.JsonFactories.withoutLengthLimits());
    /** As {@link #JSON}, refusing a name given twice: such a header is cut as the lenient read takes it, but not indexed. */
    private static final ObjectMapper STRICT_JSON = new ObjectMapper(dev.ckpt.store.util.JsonFactories
            .withoutLengthLimits()).enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
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

    /**
     * A byte range of a file, and the width in bytes of the floating-point elements it
     * holds (1 when it is not all floating-point tensors of one width).
     */
    public record Piece(long offset, int length, int groupWidth) {
        public Piece(long offset, int length) {
            this(offset, length, 1);
        }
    }

    /** A tensor's data: [begin, end) in the file and its element width for grouping (1: none). */
    record Segment(long begin, long end, int width) {
    }

    /** The grouping width of a safetensors dtype: the floating-point ones only. */
    static int groupWidth(String dtype) {
        return switch (dtype) {
            case "F16", "BF16" -> 2;
            case "F32" -> 4;
            case "F64" -> 8;
            default -> 1;
        };
    }

    /**
     * A tensor as a safetensors header names it, for the manifest's tensor index: its bytes are
     * {@code [begin, end)} of the file (absolute offsets).
     */
    public record Tensor(String name, String dtype, List<Long> shape, long begin, long end) {
    }

    /** A file's pieces, and for a safetensors file its tensors in file order (null for any other file). */
    public record Layout(List<Piece> pieces, List<Tensor> tensors) {
    }

    /** The pieces of the file at {@code path} with {@code size} bytes, in order, covering it exactly. */
    public List<Piece> pieces(Path path, long size) throws IOException {
        return layout(path, size).pieces();
    }

    /** The pieces of the file (as {@link #pieces}) and the tensors its safetensors header names, from one read of it. */
    public Layout layout(Path path, long size) throws IOException {
        List<Tensor> named = null;
        TreeSet<Long> boundaries = new TreeSet<>();
        boundaries.add(0L);
        long forced = -1;
        List<Segment> tensors = List.of();
        if (path.getFileName().toString().endsWith(".safetensors")) {
            Header h = safetensorsHeader(path, size);
            if (h != null) {
                forced = h.dataStart(); // the header is always a chunk of its own
                boundaries.add(h.dataStart());
                for (Segment t : h.tensors()) {
                    boundaries.add(t.begin());
                    boundaries.add(t.end());
                }
                tensors = h.tensors();
                named = h.named();
            }
        }
        boundaries.add(size);
        List<Piece> pieces = cut(boundaries, size, forced);
        return new Layout(tensors.isEmpty() ? pieces : withWidths(pieces, tensors), named);
    }

    /** Gives each piece the element width of the tensors it lies in, if they all have the same one. */
    static List<Piece> withWidths(List<Piece> pieces, List<Segment> tensors) {
        java.util.TreeMap<Long, Segment> byBegin = new java.util.TreeMap<>();
        for (Segment t : tensors) {
            if (t.end() > t.begin()) {
                byBegin.put(t.begin(), t);
            }
        }
        List<Piece> out = new ArrayList<>(pieces.size());
        for (Piece p : pieces) {
            long end = p.offset() + p.length();
            int width = 0;
            long at = p.offset();
            while (at < end) {
                Map.Entry<Long, Segment> e = byBegin.floorEntry(at);
                if (e == null || e.getValue().end() <= at || (width != 0 && width != e.getValue().width())) {
                    width = 1; // a gap, the header, or mixed widths
                    break;
                }
                width = e.getValue().width();
                at = e.getValue().end();
            }
            out.add(new Piece(p.offset(), p.length(), Math.max(1, width)));
        }
        return out;
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

    /**
     * A safetensors file's data start and tensors, as segments and (sorted by offset) by name;
     * {@code named} is null where the header is not one by the format's rules ({@link #indexable}).
     */
    record Header(long dataStart, List<Segment> tensors, List<Tensor> named) {
    }

    private static List<Long> shape(JsonNode tensor) {
        List<Long> shape = new ArrayList<>();
        JsonNode s = tensor.get("shape");
        if (s != null && s.isArray()) {
            s.forEach(d -> shape.add(d.asLong()));
        }
        return shape;
    }

    /**
     * The bytes per element of the safetensors dtypes of whole bytes (the format's {@code Dtype}
     * in safetensors 0.6); with {@link #SUB_BYTE_DTYPES}, the dtypes a header may name to be
     * indexed (safetensors itself refuses a header naming another: a dtype newer than this list
     * leaves its file unindexed, restored whole).
     */
    private static final Map<String, Integer> DTYPE_BYTES = Map.ofEntries(Map.entry("BOOL", 1), Map.entry("U8", 1),
            Map.entry("I8", 1), Map.entry("F8_E5M2", 1), Map.entry("F8_E4M3", 1), Map.entry("F8_E8M0", 1),
            Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("F16", 2), Map.entry("BF16", 2), Map.entry("I32", 4),
            Map.entry("U32", 4), Map.entry("F32", 4), Map.entry("F64", 8), Map.entry("I64", 8), Map.entry("U64", 8),
            Map.entry("C64", 8));

    /** The safetensors dtypes of fewer than 8 bits per element: indexed without their length checked against their shape. */
    private static final java.util.Set<String> SUB_BYTE_DTYPES = java.util.Set.of("F4", "F6_E2M3", "F6_E3M2");

    /**
     * Whether a parsed header is a safetensors header by the format's rules, so that its tensors
     * may be indexed: every entry but {@code __metadata__} has a dtype the format names, a shape of non-negative
     * whole numbers and {@code data_offsets} {@code [begin, end]} within the {@code dataLength}
     * bytes after the header, holding exactly the shape's elements where the dtype's width is
     * known ({@link #DTYPE_BYTES}), and no two tensors share a byte.
     */
    static boolean indexable(JsonNode root, long dataLength) {
        if (!root.isObject()) {
            return false;
        }
        List<long[]> ranges = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> f = root.fields(); f.hasNext(); ) {
            Map.Entry<String, JsonNode> e = f.next();
            if (e.getKey().equals("__metadata__")) {
                // the format's: null, or names to text (a number or nested objects were indexed: helper-143)
                JsonNode meta = e.getValue();
                if (!meta.isNull() && !(meta.isObject() && java.util.stream.StreamSupport.stream(meta.spliterator(), false)
                        .allMatch(JsonNode::isTextual))) {
                    return false;
                }
                continue;
            }
            JsonNode t = e.getValue();
            JsonNode dtype = t.get("dtype");
            JsonNode shape = t.get("shape");
            JsonNode offsets = t.get("data_offsets");
            // whole numbers written as such: 4.0 is no shape or offset to the format (helper-143)
            if (dtype == null || !dtype.isTextual() || shape == null || !shape.isArray() || offsets == null
                    || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).isIntegralNumber()
                    || !offsets.get(1).isIntegralNumber() || !offsets.get(0).canConvertToLong()
                    || !offsets.get(1).canConvertToLong()) {
                return false;
            }
            long begin = offsets.get(0).asLong();
            long end = offsets.get(1).asLong();
            if (begin < 0 || end < begin || end > dataLength) {
                return false;
            }
            long elements = 1;
            try {
                for (JsonNode d : shape) {
                    if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                        return false;
                    }
                    elements = Math.multiplyExact(elements, d.asLong());
                }
                Integer width = DTYPE_BYTES.get(dtype.asText());
                if (width == null ? !SUB_BYTE_DTYPES.contains(dtype.asText())
                        : Math.multiplyExact(elements, width) != end - begin) {
                    return false;
                }
            } catch (ArithmeticException tooMany) {
                return false;
            }
            if (end > begin) {
                ranges.add(new long[]{begin, end});
            }
        }
        ranges.sort(java.util.Comparator.comparingLong(r -> r[0]));
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i)[0] < ranges.get(i - 1)[1]) {
                return false;
            }
        }
        return true;
    }

    /** The header of a safetensors file; null if it does not parse as one. */
    static Header safetensorsHeader(Path path, long size) {
        if (size < 8) {
            return null;
        }
        try (FileChannel ch = NonFiles.open(path, StandardOpenOption.READ)) { // a FIFO in its place: no header
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                return null;
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            while (header.hasRemaining() && ch.read(header, 8 + header.position()) > 0) {
                // read fully
            }
            JsonNode root;
            boolean notTheFormats = false; // or otherwise not the format's: cut, not indexed
            try {
                root = STRICT_JSON.readTree(header.array());
            } catch (com.fasterxml.jackson.core.JsonProcessingException twice) {
                // a name given twice (the last one wins), anything but spaces after the header's object (a second
                // object's tensors were left out of the index unsaid: helper-143), or no JSON at all
                root = JSON.readTree(header.array());
                notTheFormats = true;
            }
            if (header.array()[0] != '{') {
                notTheFormats = true; // the format's header starts with its object: safetensors refuses one that does not
            }
            long dataStart = 8 + headerLen;
            List<Segment> out = new ArrayList<>();
            List<Tensor> named = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> f = root.fields(); f.hasNext(); ) {
                Map.Entry<String, JsonNode> e = f.next();
                JsonNode offsets = e.getValue().get("data_offsets");
                if (offsets != null && offsets.isArray() && offsets.size() == 2) {
                    long begin = dataStart + offsets.get(0).asLong();
                    long end = dataStart + offsets.get(1).asLong();
                    if (begin >= dataStart && begin <= end && end <= size) {
                        JsonNode dtype = e.getValue().get("dtype");
                        int width = dtype == null ? 1 : groupWidth(dtype.asText());
                        // a tensor whose bytes are not whole elements is not grouped
                        out.add(new Segment(begin, end, (end - begin) % width == 0 ? width : 1));
                        named.add(new Tensor(e.getKey(), dtype == null ? "" : dtype.asText(), shape(e.getValue()), begin, end));
                    }
                }
            }
            named.sort(java.util.Comparator.comparingLong(Tensor::begin).thenComparing(Tensor::name));
            // the cut takes what it can of any header; the index only a header by the format's rules, as a restore of
            // selected tensors writes a safetensors file from it (stop 59's list: overlapping tensors, a shape its bytes
            // do not hold, a tensor past the file's end were indexed, or left out of it unsaid)
            return new Header(dataStart, out, !notTheFormats && indexable(root, size - dataStart)
                    ? List.copyOf(named) : null);
        } catch (IOException | RuntimeException e) {
            return null; // not a safetensors file after all: fixed-size pieces
        }
    }
}

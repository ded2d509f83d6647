package dev.ckpt.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes float32 tensors in the safetensors format (8-byte little-endian header
 * length, JSON header with dtype, shape and data offsets, then the raw little-endian data),
 * so checkpoints load in Python with {@code safetensors} or numpy. Writing streams each
 * tensor's buffer to the file; reading maps the file, so a 1 GiB tensor costs no heap.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {
    }

    /** One float32 tensor: its name, shape and {@code 4 * product(shape)} little-endian bytes. */
    public record Tensor(String name, long[] shape, ByteBuffer data) {
        public Tensor {
            long n = 4;
            for (long d : shape) {
                n *= d;
            }
            if (n != data.remaining()) {
                throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape)
                        + " needs " + n + " bytes, got " + data.remaining());
            }
            data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        }

        public long elements() {
            return data.remaining() / 4;
        }

        public float[] toFloats() {
            float[] f = new float[(int) elements()];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        }

        public static Tensor of(String name, long[] shape, float[] values) {
            ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return new Tensor(name, shape, b);
        }
    }

    /** Writes the tensors in the given order to {@code file} (created or replaced). */
    public static void write(Path file, List<Tensor> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (Tensor t : tensors) {
            long end = offset + t.data().remaining();
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("dtype", "F32");
            h.put("shape", t.shape());
            h.put("data_offsets", new long[]{offset, end});
            if (header.put(t.name(), h) != null) {
                throw new IllegalArgumentException(file + ": tensor " + t.name() + " appears twice");
            }
            offset = end;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int pad = (8 - json.length % 8) % 8; // tensor data 8-byte aligned, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + json.length + pad).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(json.length + pad).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head);
            for (Tensor t : tensors) {
                writeFully(ch, t.data().duplicate());
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Reads every tensor of a file, in header order; the data is mapped from the file. */
    public static Map<String, Tensor> read(Path file) throws IOException {
        ByteBuffer all;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
        if (all.capacity() < 8) {
            throw new IOException(file + " is not a safetensors file: " + all.capacity() + " bytes");
        }
        long headerLen = all.getLong(0);
        if (headerLen < 2 || headerLen > 100_000_000 || 8 + headerLen > all.capacity()) {
            throw new IOException(file + " is not a safetensors file: bad header length " + headerLen);
        }
        byte[] h = new byte[(int) headerLen];
        all.get(8, h);
        JsonNode header;
        try {
            header = JSON.readTree(new String(h, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new IOException(file + " is not a safetensors file: header is not JSON (" + e.getMessage() + ")");
        }
        if (header == null || !header.isObject()) {
            throw new IOException(file + " is not a safetensors file: header is not a JSON object");
        }
        long base = 8 + headerLen;
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            if (!"F32".equals(t.path("dtype").asText())) {
                throw new IOException(file + ": tensor " + name + " has dtype " + t.path("dtype")
                        + "; only F32 is supported");
            }
            JsonNode offs = t.path("data_offsets");
            JsonNode shapeNode = t.path("shape");
            if (offs.size() != 2 || !shapeNode.isArray()) {
                throw new IOException(file + ": tensor " + name + " has no data_offsets or shape");
            }
            long begin = offs.get(0).asLong();
            long end = offs.get(1).asLong();
            long[] shape = new long[shapeNode.size()];
            long n = 4;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong();
                n *= shape[i];
            }
            if (begin < 0 || end < begin || base + end > all.capacity() || end - begin != n) {
                throw new IOException(file + ": tensor " + name + " has data offsets [" + begin + ", " + end
                        + ") that do not fit its shape " + Arrays.toString(shape) + " or the file ("
                        + all.capacity() + " bytes)");
            }
            out.put(name, new Tensor(name, shape, all.slice((int) (base + begin), (int) (end - begin))));
        }
        return out;
    }
}

package dev.ckpt.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes float32 tensors in the safetensors format (8-byte little-endian header
 * length, JSON header with dtype, shape and data offsets, then the raw data), so
 * checkpoints load in Python with {@code safetensors} or numpy.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {
    }

    /** Writes 1-D float32 tensors in the given order. */
    public static void write(Path file, Map<String, float[]> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            long end = offset + 4L * e.getValue().length;
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("dtype", "F32");
            t.put("shape", new long[]{e.getValue().length});
            t.put("data_offsets", new long[]{offset, end});
            header.put(e.getKey(), t);
            offset = end;
        }
        byte[] h = JSON.writeValueAsBytes(header);
        int pad = (8 - h.length % 8) % 8; // keep tensor data 8-byte aligned, as the reference writer does
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + pad + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length + pad).put(h);
        for (int i = 0; i < pad; i++) {
            buf.put((byte) ' ');
        }
        for (float[] t : tensors.values()) {
            buf.asFloatBuffer().put(t);
            buf.position(buf.position() + 4 * t.length);
        }
        Files.write(file, buf.array());
    }

    /** Reads every float32 tensor of a file, in header order. */
    public static Map<String, float[]> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 8) {
            throw new IOException(file + " is not a safetensors file: too short");
        }
        long headerLen = buf.getLong();
        if (headerLen < 2 || 8 + headerLen > all.length) {
            throw new IOException(file + " is not a safetensors file: bad header length " + headerLen);
        }
        JsonNode header = JSON.readTree(new String(all, 8, (int) headerLen, StandardCharsets.UTF_8).trim());
        int base = 8 + (int) headerLen;
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            if (!"F32".equals(e.getValue().path("dtype").asText())) {
                throw new IOException(file + ": tensor " + e.getKey() + " has dtype " + e.getValue().path("dtype")
                        + "; only F32 is supported");
            }
            long begin = e.getValue().get("data_offsets").get(0).asLong();
            long end = e.getValue().get("data_offsets").get(1).asLong();
            if (begin < 0 || end < begin || base + end > all.length || (end - begin) % 4 != 0) {
                throw new IOException(file + ": tensor " + e.getKey() + " has bad data offsets");
            }
            float[] t = new float[(int) ((end - begin) / 4)];
            ByteBuffer.wrap(all, base + (int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(t);
            out.put(e.getKey(), t);
        }
        return out;
    }
}

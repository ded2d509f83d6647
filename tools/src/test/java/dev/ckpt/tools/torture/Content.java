package dev.ckpt.tools.torture;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The directory a torture writer saves for (seed, run, step): a pure function of the three,
 * so the checker regenerates what any checkpoint must restore to without trusting anything
 * the store or the writer recorded. Between steps some files stay the same (deduplicated
 * across the run's checkpoints, one file across runs too), some tensors change every step,
 * others every 2, 4 or 8 steps, and one file changes size; about 200 KiB in all, so with
 * 16 KiB chunks a checkpoint is a dozen or more chunks.
 */
public final class Content {
    private Content() {
    }

    /** Relative path -> bytes of the checkpoint (seed, run, step). */
    public static Map<String, byte[]> of(long seed, String run, long step) {
        Map<String, byte[]> files = new TreeMap<>();
        files.put("shared.bin", random(mix(seed, "shared", 0), 24 * 1024));             // every run, every step
        files.put("frozen/block.bin", random(mix(seed, "frozen/" + run, 0), 48 * 1024)); // every step of the run
        float[][] tensors = new float[6][];
        int[] sizes = {6000, 120, 4500, 64, 8000, 300};
        for (int i = 0; i < tensors.length; i++) {
            long period = 1L << (i % 4); // tensor i changes every 1, 2, 4 or 8 steps
            tensors[i] = floats(mix(seed, run + "/t" + i, step / period), sizes[i]);
        }
        files.put("model.safetensors", safetensors(tensors));
        files.put("optimizer/state.bin", random(mix(seed, run + "/opt", step), 4000 + (int) (step % 5) * 7000));
        files.put("state.json", ("{\"run\":\"" + run + "\",\"step\":" + step + ",\"seed\":" + seed + "}\n")
                .getBytes(StandardCharsets.UTF_8));
        files.put("empty", new byte[0]);
        if (step % 3 == 0) {
            files.put("extra/notes-" + (step % 2) + ".txt", ("notes of step " + step + "\n").repeat(40)
                    .getBytes(StandardCharsets.UTF_8));
        }
        return files;
    }

    /** Writes {@link #of} into {@code dir} (created; must not hold other files). */
    public static void write(Path dir, long seed, String run, long step) {
        try {
            for (Map.Entry<String, byte[]> f : of(seed, run, step).entrySet()) {
                Path p = dir.resolve(f.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, f.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Relative path -> bytes of every regular file below {@code dir}. */
    public static Map<String, byte[]> read(Path dir) {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Null when {@code actual} equals {@code expected}, else the first difference in words. */
    public static String difference(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        if (!expected.keySet().equals(actual.keySet())) {
            return "files differ: expected " + expected.keySet() + ", restored " + actual.keySet();
        }
        for (Map.Entry<String, byte[]> e : expected.entrySet()) {
            byte[] a = actual.get(e.getKey());
            if (!Arrays.equals(e.getValue(), a)) {
                return e.getKey() + " differs: expected " + e.getValue().length + " bytes, restored " + a.length
                        + " bytes, first difference at byte " + Arrays.mismatch(e.getValue(), a);
            }
        }
        return null;
    }

    static long mix(long seed, String what, long n) {
        long h = seed * 0x9E3779B97F4A7C15L + n;
        for (byte b : what.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ b) * 0x100000001B3L;
        }
        return h ^ (h >>> 29);
    }

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) {
                b[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return b;
    }

    private static float[] floats(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return f;
    }

    /** A safetensors file (8-byte header length, JSON header, little-endian F32 data) of tensors t0, t1, ... */
    private static byte[] safetensors(float[][] tensors) {
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (int i = 0; i < tensors.length; i++) {
            long end = offset + 4L * tensors[i].length;
            header.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[")
                    .append(tensors[i].length).append("],\"data_offsets\":[").append(offset).append(',').append(end)
                    .append("]}");
            offset = end;
        }
        header.append('}');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        for (float[] t : tensors) {
            for (float v : t) {
                buf.putFloat(v);
            }
        }
        return buf.array();
    }
}

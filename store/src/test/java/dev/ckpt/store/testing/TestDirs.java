package dev.ckpt.store.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Generates checkpoint-like directories and compares directory trees byte for byte. */
public final class TestDirs {

    /**
     * A directory under {@code tmp} whose path is over 4096 bytes (Linux's PATH_MAX), which no
     * single path can make: two halves of nine 250-byte names, each short enough, {@code fill}
     * given the lower one's deepest directory while its path is still short, then the lower
     * moved under the upper. {@link LongPath#close} moves it back, so that {@code @TempDir} can
     * delete the tree.
     */
    public static LongPath longPath(Path tmp, IoConsumer fill) throws IOException {
        String name = "d".repeat(250);
        Path upper = tmp.resolve("up");
        Path lower = tmp.resolve("low");
        for (int i = 0; i < 9; i++) {
            upper = upper.resolve(name);
            lower = lower.resolve(name);
        }
        Files.createDirectories(upper);
        Files.createDirectories(lower);
        fill.accept(lower);
        Files.move(tmp.resolve("low").resolve(name), upper.resolve(name));
        return new LongPath(tmp.resolve("up"), upper.resolve(tmp.resolve("low").relativize(lower)), upper.resolve(name),
                tmp.resolve("low").resolve(name));
    }

    /** What {@link #longPath} made: {@code top} (short) holds {@code deepest} (over 4096 bytes). */
    public record LongPath(Path top, Path deepest, Path moved, Path back) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            Files.move(moved, back);
        }
    }

    /** A step that may throw an IOException. */
    public interface IoConsumer {
        void accept(Path p) throws IOException;
    }
    private TestDirs() {
    }

    /**
     * {@code dir}/log.txt (the directory created if need be): {@code lines} lines of a text that
     * zstd compresses well, about 45 bytes each, the same for the same count. Returns {@code dir}.
     */
    public static Path compressibleText(Path dir, int lines) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            b.append("line ").append(i % 97).append(" of a text that compresses, ").append(i * 31 % 1000).append('\n');
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("log.txt"), b);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return dir;
    }

    /** Writes {@code files} files of about {@code size} bytes each, half compressible, seeded. */
    public static Path checkpoint(Path dir, long seed, int files, int size) {
        Random rnd = new Random(seed);
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < files; i++) {
                byte[] data = new byte[size + rnd.nextInt(size / 4 + 1)];
                if (i % 2 == 0) {
                    rnd.nextBytes(data);
                } else {
                    for (int j = 0; j < data.length; j++) {
                        data[j] = (byte) ("abcdefgh".charAt(rnd.nextInt(8)));
                    }
                }
                Path p = dir.resolve(i % 3 == 0 ? "sub/file" + i + ".bin" : "file" + i + ".bin");
                Files.createDirectories(p.getParent());
                Files.write(p, data);
            }
            Files.writeString(dir.resolve("state.json"), "{\"seed\":" + seed + "}");
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes {@code files} files of {@code size} random (incompressible) bytes each, seeded,
     * named {@code prefix0.bin}, {@code prefix1.bin}, ... in {@code dir} (created if missing).
     */
    public static Path randomFiles(Path dir, String prefix, int files, int size, long seed) {
        Random rnd = new Random(seed);
        byte[] data = new byte[size];
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < files; i++) {
                rnd.nextBytes(data);
                Files.write(dir.resolve(prefix + i + ".bin"), data);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Flips 16 consecutive bytes at a seeded position of a file (touching at most two chunks). */
    public static void touch(Path file, long seed) {
        try {
            byte[] data = Files.readAllBytes(file);
            Random rnd = new Random(seed);
            int at = rnd.nextInt(Math.max(1, data.length - 16));
            for (int i = at; i < Math.min(data.length, at + 16); i++) {
                data[i] ^= (byte) (1 + rnd.nextInt(255));
            }
            Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A minimal safetensors file with seeded float32 tensors of the given element counts. */
    public static void safetensors(Path file, long seed, int... elements) {
        Random rnd = new Random(seed);
        float[][] tensors = new float[elements.length][];
        for (int i = 0; i < elements.length; i++) {
            tensors[i] = new float[elements[i]];
            for (int j = 0; j < elements[i]; j++) {
                tensors[i][j] = (float) rnd.nextGaussian();
            }
        }
        safetensors(file, tensors);
    }

    /** A tensor of a safetensors file: its name, its dtype ("F32", "BF16", "I64", ...) and its raw bytes. */
    public record Tensor(String name, String dtype, byte[] data) {
    }

    /** A safetensors file of tensors of any dtype, in order (shapes are given as [1]: only offsets matter here). */
    public static void safetensors(Path file, java.util.List<Tensor> tensors) {
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (Tensor t : tensors) {
            long end = offset + t.data().length;
            header.append(header.length() == 1 ? "" : ",").append('"').append(t.name()).append("\":{\"dtype\":\"")
                    .append(t.dtype()).append("\",\"shape\":[1],\"data_offsets\":[").append(offset).append(',')
                    .append(end).append("]}");
            offset = end;
        }
        header.append('}');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        for (Tensor t : tensors) {
            buf.put(t.data());
        }
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, buf.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A minimal safetensors file holding the given float32 tensors t0, t1, ... */
    public static void safetensors(Path file, float[]... tensors) {
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (int i = 0; i < tensors.length; i++) {
            long end = offset + 4L * tensors[i].length;
            header.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[")
                    .append(tensors[i].length).append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
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
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, buf.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Relative path -> content of every regular file below {@code dir}, skipping hidden files. */
    public static Map<String, byte[]> snapshot(Path dir) {
        Map<String, byte[]> out = new TreeMap<>();
        if (!Files.exists(dir)) {
            return out;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(p)) {
                    out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public static void assertSameTree(Map<String, byte[]> expected, Path actualDir) {
        Map<String, byte[]> actual = snapshot(actualDir);
        assertEquals(expected.keySet(), actual.keySet(), "files in " + actualDir);
        for (String k : expected.keySet()) {
            assertArrayEquals(expected.get(k), actual.get(k), "content of " + k);
        }
    }

    public static boolean sameTree(Map<String, byte[]> a, Map<String, byte[]> b) {
        if (!a.keySet().equals(b.keySet())) {
            return false;
        }
        for (String k : a.keySet()) {
            if (!Arrays.equals(a.get(k), b.get(k))) {
                return false;
            }
        }
        return true;
    }
}

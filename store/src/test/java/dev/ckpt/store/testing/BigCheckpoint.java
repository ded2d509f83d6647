package dev.ckpt.store.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

/**
 * Generates large checkpoints of float32 safetensors shards, tensor by tensor (the
 * generator holds one tensor, never a file). Each shard holds 16 tensors of 4 MiB.
 */
public final class BigCheckpoint {
    public static final int TENSORS_PER_FILE = 16;
    public static final int TENSOR_BYTES = 4 << 20;

    private BigCheckpoint() {
    }

    public static int files(int mb) {
        return Math.max(1, mb / 64);
    }

    /** The bytes of all regular files below {@code dir}. */
    public static long bytes(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    /**
     * Writes {@code files(mb)} shards. With {@code perturb}, tensors 0 and 5 of every tenth
     * shard (shard 0, 10, ...) change: about 10 % of the files.
     *
     * @return how many tensors differ from the unperturbed checkpoint
     */
    public static int write(Path dir, int mb, boolean perturb) {
        int files = files(mb);
        int elements = TENSOR_BYTES / 4;
        StringBuilder header = new StringBuilder("{");
        for (int k = 0; k < TENSORS_PER_FILE; k++) {
            long begin = (long) TENSOR_BYTES * k;
            header.append(k == 0 ? "" : ",").append("\"t").append(k).append("\":{\"dtype\":\"F32\",\"shape\":[")
                    .append(elements).append("],\"data_offsets\":[").append(begin).append(',').append(begin + TENSOR_BYTES)
                    .append("]}");
        }
        byte[] h = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer tensor = ByteBuffer.allocate(TENSOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        Random rnd = new Random(7);
        int changed = 0;
        try {
            Files.createDirectories(dir);
            for (int f = 0; f < files; f++) {
                try (FileChannel ch = FileChannel.open(dir.resolve("shard" + f + ".safetensors"), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip());
                    ch.write(ByteBuffer.wrap(h));
                    for (int k = 0; k < TENSORS_PER_FILE; k++) {
                        boolean change = perturb && f % 10 == 0 && (k == 0 || k == 5);
                        tensor.clear();
                        for (int i = 0; i < elements; i++) {
                            tensor.putFloat((float) (rnd.nextGaussian() * 0.02) + (change ? 1e-3f : 0f));
                        }
                        changed += change ? 1 : 0;
                        tensor.flip();
                        while (tensor.hasRemaining()) {
                            ch.write(tensor);
                        }
                    }
                }
            }
            Files.writeString(dir.resolve("state.json"), "{\"step\":" + (perturb ? 2 : 1) + "}");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return changed;
    }
}

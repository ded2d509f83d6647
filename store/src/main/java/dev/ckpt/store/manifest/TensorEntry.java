package dev.ckpt.store.manifest;

import java.util.List;
import java.util.Objects;

/**
 * One tensor of a safetensors file, as the file's header describes it: its name, dtype and
 * shape, and where its bytes are in the file, {@code [begin, end)} (absolute file offsets,
 * header included). With the file's chunk list this says which chunks hold the tensor, so a
 * rank can fetch the tensors it needs without the whole file (see {@code TensorSelection}).
 */
public record TensorEntry(String name, String dtype, List<Long> shape, long begin, long end) {
    public TensorEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape == null ? List.of() : List.copyOf(shape);
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("tensor " + name + ": byte range [" + begin + ", " + end + ") is not valid");
        }
    }

    public long length() {
        return end - begin;
    }
}

package dev.ckpt.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.ckpt.trainer.SafeTensors.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files of one checkpoint: one safetensors file per module ({@code encoder},
 * {@code adapter_llama}, {@code adapter_qwen}, {@code frozen} when present),
 * {@code optimizer.safetensors} (Adam's {@code exp_avg} and {@code exp_avg_sq} per
 * parameter), {@code state.json}, {@code config.json} and {@code training_stats.json}.
 */
final class CheckpointFiles {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String OPTIMIZER = "optimizer.safetensors";

    private CheckpointFiles() {
    }

    /**
     * The bytes of a checkpoint that change from one step to the next: the trained tensors,
     * their two Adam moments and a little JSON (state, training stats); the frozen block does not.
     */
    static long changingBytes(Model model) {
        long trained = 0;
        for (NDArray p : model.params().values()) {
            trained += 4L * p.size();
        }
        return 3 * trained + 4 * 1024;
    }

    /** Bytes the files of one checkpoint of this model take (tensors; JSON is small). */
    static long bytesNeeded(Model model) {
        long trained = 0;
        for (NDArray p : model.params().values()) {
            trained += 4L * p.size();
        }
        return model.parameterBytes() + 2 * trained + 64 * 1024;
    }

    /**
     * Writes every file of the current state into {@code dir} (which exists and is empty).
     * The frozen block never changes: when {@code frozenSource} (a staged copy known to
     * hold it: written by this process or verified by a restore) exists, it is hard-linked
     * instead of written again. Returns whether it was linked.
     */
    static boolean write(Path dir, Model model, TrainState state, Map<String, Object> stats, Path frozenSource) throws IOException {
        boolean linked = false;
        for (String module : Model.TRAINED_MODULES) {
            List<Tensor> ts = new ArrayList<>();
            model.params().forEach((name, p) -> {
                if (name.startsWith(module + ".")) {
                    ts.add(tensor(name, p));
                }
            });
            SafeTensors.write(dir.resolve(module + ".safetensors"), ts);
        }
        if (model.frozen() != null) {
            Path f = dir.resolve(Model.FROZEN + ".safetensors");
            linked = link(frozenSource, f);
            if (!linked) {
                SafeTensors.write(f, List.of(tensor(Model.FROZEN + ".weight", model.frozen())));
            }
        }
        List<Tensor> opt = new ArrayList<>();
        model.params().keySet().forEach(name -> {
            opt.add(tensor(name + ".exp_avg", model.adam.expAvg().get(name)));
            opt.add(tensor(name + ".exp_avg_sq", model.adam.expAvgSq().get(name)));
        });
        SafeTensors.write(dir.resolve(OPTIMIZER), opt);
        JSON.writeValue(dir.resolve("state.json").toFile(), state.toJson());
        JSON.writeValue(dir.resolve("config.json").toFile(), model.cfg.toJson());
        JSON.writeValue(dir.resolve("training_stats.json").toFile(), stats);
        return linked;
    }

    private static boolean link(Path source, Path target) {
        if (source == null || !Files.isRegularFile(source)) {
            return false;
        }
        try {
            Files.createLink(target, source);
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false; // no hard links here: write it
        }
    }

    private static Tensor tensor(String name, NDArray a) {
        // a view of the engine's memory, not a copy into a Java byte[] (which for a 1 GiB
        // tensor needs 1 GiB of heap, and crashes the JVM inside DJL when it is not there);
        // safe because the training thread writes the file before it touches the tensor again
        return new Tensor(name, a.getShape().getShape(), a.toByteBuffer(true));
    }

    /** What a load did besides loading: lines for the log (lenient mode only). */
    record LoadReport(List<String> skipped) {
    }

    /**
     * Loads a restored checkpoint into {@code model} and {@code state}. Strict: every
     * expected file and tensor present with the configured shape, no extra tensors, the
     * same model configuration. Lenient: accepts a checkpoint without optimizer state
     * (fresh moments) or with extra tensors, and reports exactly what it skipped.
     */
    static LoadReport load(Path dir, String checkpointId, Model model, TrainState state, boolean lenient) throws IOException {
        List<String> skipped = new ArrayList<>();
        String where = "checkpoint " + checkpointId + ": ";
        JsonNode cfg = readJson(dir.resolve("config.json"), where);
        JsonNode want = JSON.valueToTree(model.cfg.toJson());
        for (String k : List.of("input", "hidden", "output", "frozen_rows", "seed", "batch", "dataset_size", "lr")) {
            if (!same(cfg.path(k), want.path(k))) {
                String msg = "config.json has " + k + " = " + cfg.path(k) + " but this run is configured with " + want.path(k);
                if (!lenient || List.of("input", "hidden", "output", "frozen_rows").contains(k)) {
                    throw new IOException(where + msg + "; pass the options the run was started with"
                            + (lenient ? "" : " (or --lenient-resume to continue with the new value where shapes allow)"));
                }
                skipped.add(msg + "; continuing with " + want.path(k));
            }
        }
        Map<String, NDArray> loaded = new LinkedHashMap<>();
        List<String> modules = new ArrayList<>(Model.TRAINED_MODULES);
        if (model.frozen() != null) {
            modules.add(Model.FROZEN);
        }
        Map<String, long[]> expected = new LinkedHashMap<>();
        model.params().forEach((n, p) -> expected.put(n, p.getShape().getShape()));
        if (model.frozen() != null) {
            expected.put(Model.FROZEN + ".weight", model.frozen().getShape().getShape());
        }
        for (String module : modules) {
            Path f = dir.resolve(module + ".safetensors");
            if (!Files.exists(f)) {
                throw new IOException(where + "file " + f.getFileName() + " is missing"
                        + (module.equals(Model.FROZEN) ? " (the run was configured with --frozen-mb; was the checkpoint saved without it?)" : ""));
            }
            for (Tensor t : SafeTensors.read(f).values()) {
                long[] shape = expected.get(t.name());
                if (shape == null || !t.name().startsWith(module + ".")) {
                    if (!lenient) {
                        throw new IOException(where + f.getFileName() + " holds an unexpected tensor " + t.name()
                                + Arrays.toString(t.shape()) + " (--lenient-resume skips it)");
                    }
                    skipped.add("extra tensor " + t.name() + Arrays.toString(t.shape()) + " in " + f.getFileName());
                    continue;
                }
                checkShape(where, f, t, shape);
                loaded.put(t.name(), nd(model, t));
            }
        }
        for (String name : expected.keySet()) {
            if (!loaded.containsKey(name)) {
                throw new IOException(where + "tensor " + name + " is missing from " + name.substring(0, name.indexOf('.'))
                        + ".safetensors");
            }
        }
        JsonNode st = readJson(dir.resolve("state.json"), where);
        if (st.path("format").asInt() != TrainState.FORMAT) {
            throw new IOException(where + "state.json has format " + st.path("format") + "; this trainer reads format "
                    + TrainState.FORMAT);
        }
        Map<String, NDArray> m = new LinkedHashMap<>();
        Map<String, NDArray> v = new LinkedHashMap<>();
        Path opt = dir.resolve(OPTIMIZER);
        long optStep = st.path("optimizer_step").asLong();
        if (!Files.exists(opt)) {
            if (!lenient) {
                throw new IOException(where + OPTIMIZER + " is missing (--lenient-resume starts Adam's moments from zero)");
            }
            skipped.add(OPTIMIZER + " is missing: Adam's moments start from zero");
            optStep = 0;
        } else {
            Map<String, Tensor> ot = SafeTensors.read(opt);
            for (String name : model.params().keySet()) {
                for (String kind : List.of("exp_avg", "exp_avg_sq")) {
                    Tensor t = ot.remove(name + "." + kind);
                    if (t == null) {
                        throw new IOException(where + OPTIMIZER + " has no tensor " + name + "." + kind);
                    }
                    checkShape(where, opt, t, expected.get(name));
                    (kind.equals("exp_avg") ? m : v).put(name, nd(model, t));
                }
            }
            for (String extra : ot.keySet()) {
                if (!lenient) {
                    throw new IOException(where + OPTIMIZER + " holds an unexpected tensor " + extra + " (--lenient-resume skips it)");
                }
                skipped.add("extra tensor " + extra + " in " + OPTIMIZER);
            }
        }
        // everything checked: now replace the model's state
        loaded.forEach(model::set);
        if (m.isEmpty()) {
            model.adam.init(model.params());
        } else {
            model.adam.load(m, v, optStep);
        }
        state.step = st.path("step").asLong();
        state.epoch = st.path("epoch").asLong();
        state.dataCursor = st.path("data_cursor").asInt();
        state.seed = st.path("seed").asLong();
        state.optimizerStep = optStep;
        state.bestLoss = st.path("best_loss").isNumber() ? st.path("best_loss").asDouble() : Double.NaN;
        state.recentLosses.clear();
        st.path("recent_losses").forEach(n -> state.recentLosses.add(n.asDouble()));
        return new LoadReport(skipped);
    }

    private static boolean same(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.asLong() == b.asLong() && Float.compare((float) a.asDouble(), (float) b.asDouble()) == 0;
        }
        return a.equals(b);
    }

    private static void checkShape(String where, Path f, Tensor t, long[] shape) throws IOException {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IOException(where + f.getFileName() + ": tensor " + t.name() + " has shape " + Arrays.toString(t.shape())
                    + " but the model needs " + Arrays.toString(shape) + "; check --input/--hidden/--output/--frozen-mb");
        }
    }

    private static NDArray nd(Model model, Tensor t) {
        // the engine may wrap the (read-only, mapped) buffer instead of copying it: copy
        // into engine-owned memory before anything updates the tensor in place
        NDArray wrapped = model.manager().create(t.data(), new Shape(t.shape()), DataType.FLOAT32);
        NDArray owned = wrapped.duplicate();
        wrapped.close();
        return owned;
    }

    private static JsonNode readJson(Path f, String where) throws IOException {
        try {
            return JSON.readTree(f.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new IOException(where + "file " + f.getFileName() + " is missing");
        } catch (IOException e) {
            throw new IOException(where + f.getFileName() + " is not valid JSON: " + e.getMessage());
        }
    }
}

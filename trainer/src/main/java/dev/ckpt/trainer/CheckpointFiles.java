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
 *
 * <p>Saved by several ranks ({@link Partition}), rank R writes only the tensors it owns, and
 * their Adam moments, under {@code rank-R/} (same file names; a file only where it owns
 * something, plus {@code rank-R/shard.json} naming them); rank 0 also writes the three JSON
 * files at the top, as one process does. {@link #load} reads either layout, whatever world
 * size wrote it, by gathering each file's tensors from the top and every {@code rank-*}.
 */
final class CheckpointFiles {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String OPTIMIZER = "optimizer.safetensors";

    private CheckpointFiles() {
    }

    /**
     * Which tensors a rank saves: tensor i of {@link #tensorOrder} (the trained parameters in
     * the model's order, then the frozen block) belongs to rank {@code i mod worldSize}, with
     * its two Adam moments, as a ZeRO-sharded optimizer partitions its state.
     */
    record Partition(int rank, int worldSize) {
        static final Partition WHOLE = new Partition(0, 1);

        Partition {
            if (worldSize < 1 || rank < 0 || rank >= worldSize) {
                throw new IllegalArgumentException("rank " + rank + " is not within world size " + worldSize);
            }
        }

        boolean whole() {
            return worldSize == 1;
        }

        /** The tensors this rank owns, in {@link #tensorOrder}. */
        List<String> owned(Model model) {
            List<String> all = tensorOrder(model);
            List<String> mine = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                if (i % worldSize == rank) {
                    mine.add(all.get(i));
                }
            }
            return mine;
        }

        /** Where this rank's files go in a checkpoint directory. */
        Path dirIn(Path checkpoint) {
            return whole() ? checkpoint : checkpoint.resolve("rank-" + rank);
        }
    }

    /** The trained parameters in the model's order, then the frozen block when there is one. */
    static List<String> tensorOrder(Model model) {
        List<String> names = new ArrayList<>(model.params().keySet());
        if (model.frozen() != null) {
            names.add(Model.FROZEN + ".weight");
        }
        return names;
    }

    /** The files called {@code name} of a checkpoint: at the top, then in each {@code rank-R/} by rank. */
    static List<Path> parts(Path dir, String name) throws IOException {
        List<Path> out = new ArrayList<>();
        if (Files.isRegularFile(dir.resolve(name))) {
            out.add(dir.resolve(name));
        }
        List<Path> ranks = new ArrayList<>();
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().matches("rank-\\d+") && Files.isDirectory(p)).forEach(ranks::add);
        }
        ranks.sort(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(5))));
        for (Path r : ranks) {
            if (Files.isRegularFile(r.resolve(name))) {
                out.add(r.resolve(name));
            }
        }
        return out;
    }

    /** A staged file holding the frozen block alone (either layout), or null. */
    static Path frozenFileIn(Path dir) throws IOException {
        List<Path> f = parts(dir, Model.FROZEN + ".safetensors");
        return f.isEmpty() ? null : f.get(0);
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

    /**
     * Bytes the files of {@code part} of one checkpoint take: the tensors it owns, the Adam moments
     * of the trained ones, 64 KiB for JSON. A rank's part, not the whole (helper-104: a rank was
     * refused 12.8 MiB for a part of 13.6 KiB).
     */
    static long bytesNeeded(Model model, Partition part) {
        return bytesNeeded(model, part, false);
    }

    /**
     * As above; with {@code frozenLinked}, the frozen block is hard-linked from a staged copy
     * and takes no new space (helper-106: a staging disk that held the 30 MiB block once was
     * refused the second save, which needed 0.3 MiB more).
     */
    static long bytesNeeded(Model model, Partition part, boolean frozenLinked) {
        List<String> mine = part.owned(model);
        long trained = 0;
        long owned = 0;
        for (Map.Entry<String, NDArray> p : model.params().entrySet()) {
            trained += 4L * p.getValue().size();
            if (mine.contains(p.getKey())) {
                owned += 3 * 4L * p.getValue().size(); // the tensor and its two moments
            }
        }
        if (model.frozen() != null && mine.contains(Model.FROZEN + ".weight") && !frozenLinked) {
            owned += model.parameterBytes() - trained;
        }
        return owned + 64 * 1024;
    }

    /**
     * Writes every file of the current state into {@code dir} (which exists and is empty).
     * The frozen block never changes: when {@code frozenSource} (a staged copy known to
     * hold it: written by this process or verified by a restore) exists, it is hard-linked
     * instead of written again. Returns whether it was linked.
     */
    static boolean write(Path dir, Model model, TrainState state, Map<String, Object> stats, Path frozenSource) throws IOException {
        return write(dir, model, state, stats, frozenSource, Partition.WHOLE);
    }

    /** Writes rank {@code part}'s files of the current state (all of them for {@link Partition#WHOLE}). */
    static boolean write(Path dir, Model model, TrainState state, Map<String, Object> stats, Path frozenSource,
                         Partition part) throws IOException {
        return write(dir, model, state, stats, frozenSource, part, false);
    }

    /**
     * As {@link #write(Path, Model, TrainState, Map, Path, Partition)}; with {@code leaveFrozen}
     * the frozen block's file is left out, for the caller to {@link #linkFrozen link} later.
     */
    static boolean write(Path dir, Model model, TrainState state, Map<String, Object> stats, Path frozenSource,
                         Partition part, boolean leaveFrozen) throws IOException {
        boolean linked = false;
        List<String> mine = part.owned(model);
        Path own = part.dirIn(dir);
        Files.createDirectories(own);
        for (String module : Model.TRAINED_MODULES) {
            List<Tensor> ts = new ArrayList<>();
            model.params().forEach((name, p) -> {
                if (name.startsWith(module + ".") && mine.contains(name)) {
                    ts.add(tensor(name, p));
                }
            });
            if (part.whole() || !ts.isEmpty()) {
                SafeTensors.write(own.resolve(module + ".safetensors"), ts);
            }
        }
        if (!leaveFrozen && holdsFrozen(model, part)) {
            Path f = own.resolve(Model.FROZEN + ".safetensors");
            linked = link(frozenSource, f);
            if (!linked) {
                SafeTensors.write(f, List.of(tensor(Model.FROZEN + ".weight", model.frozen())));
            }
        }
        List<Tensor> opt = new ArrayList<>();
        model.params().keySet().forEach(name -> {
            if (mine.contains(name)) {
                opt.add(tensor(name + ".exp_avg", model.adam.expAvg().get(name)));
                opt.add(tensor(name + ".exp_avg_sq", model.adam.expAvgSq().get(name)));
            }
        });
        if (part.whole() || !opt.isEmpty()) {
            SafeTensors.write(own.resolve(OPTIMIZER), opt);
        }
        if (!part.whole()) {
            Map<String, Object> shard = new LinkedHashMap<>();
            shard.put("rank", part.rank());
            shard.put("world_size", part.worldSize());
            shard.put("step", state.step);
            shard.put("tensors", mine);
            JSON.writeValue(own.resolve("shard.json").toFile(), shard);
        }
        if (part.rank() == 0) {
            JSON.writeValue(dir.resolve("state.json").toFile(), state.toJson());
            JSON.writeValue(dir.resolve("config.json").toFile(), model.cfg.toJson());
            JSON.writeValue(dir.resolve("training_stats.json").toFile(), stats);
        }
        return linked;
    }

    /** Whether rank {@code part}'s share of a checkpoint of {@code model} holds the frozen block. */
    static boolean holdsFrozen(Model model, Partition part) {
        return model.frozen() != null && part.owned(model).contains(Model.FROZEN + ".weight");
    }

    /**
     * Hard-links the staged frozen block {@code source} into {@code dir} (a checkpoint written
     * with {@code leaveFrozen}), or copies it where the filesystem has no hard links; fails,
     * naming both, if the source is gone.
     */
    static void linkFrozen(Path source, Path dir, Partition part) throws IOException {
        Path target = part.dirIn(dir).resolve(Model.FROZEN + ".safetensors");
        if (link(source, target)) {
            return;
        }
        if (source != null && Files.isRegularFile(source)) {
            // no hard links on this filesystem: a copy (off the training thread; reading the
            // source does not move its change time, so it cannot upset a save reading it)
            Files.copy(source, target);
            return;
        }
        throw new IOException("could not hard-link or copy the staged frozen block " + source + " into " + target
                + " (it is gone); the next save writes it again");
    }

    /** Makes a hard link {@code target} to {@code source}; a test replaces it to stand for a filesystem without them. */
    interface Linker {
        void link(Path target, Path source) throws IOException;
    }

    static volatile Linker linker = Files::createLink;

    private static boolean link(Path source, Path target) {
        if (source == null || !Files.isRegularFile(source)) {
            return false;
        }
        try {
            linker.link(target, source);
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
                // which option sets it (helper-106: "frozen_rows" named none a user types)
                String option = k.equals("frozen_rows") ? "--frozen-mb, with --input" : "--" + k.replace('_', '-');
                String msg = "config.json has " + k + " = " + cfg.path(k) + " but this run is configured with " + want.path(k)
                        + " (set by " + option + ")";
                if (!lenient || List.of("input", "hidden", "output", "frozen_rows").contains(k)) {
                    // bad input, not an I/O error: a requeue fails the same way (helper-151: a stop during the resume made it 75)
                    throw new dev.ckpt.store.error.InvalidInputException(where + msg + "; pass the options the run was started"
                            + " with" + (lenient ? "" : " (or --lenient-resume to continue with the new value where shapes allow)"));
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
        Map<String, Path> from = new java.util.HashMap<>();
        for (String module : modules) {
            List<Path> files = parts(dir, module + ".safetensors");
            if (files.isEmpty()) {
                throw new IOException(where + "file " + module + ".safetensors is missing"
                        + (module.equals(Model.FROZEN) ? " (the run was configured with --frozen-mb; was the checkpoint saved without it?)" : ""));
            }
            for (Path f : files) {
                for (Tensor t : SafeTensors.read(f).values()) {
                    checkOnce(where, dir, from, t.name(), f);
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
        List<Path> optFiles = parts(dir, OPTIMIZER);
        Path opt = optFiles.isEmpty() ? dir.resolve(OPTIMIZER) : optFiles.get(0);
        long optStep = st.path("optimizer_step").asLong();
        if (optFiles.isEmpty()) {
            if (!lenient) {
                throw new IOException(where + OPTIMIZER + " is missing (--lenient-resume starts Adam's moments from zero)");
            }
            skipped.add(OPTIMIZER + " is missing: Adam's moments start from zero");
            optStep = 0;
        } else {
            Map<String, Tensor> ot = new LinkedHashMap<>();
            for (Path f : optFiles) {
                for (Tensor t : SafeTensors.read(f).values()) {
                    checkOnce(where, dir, from, t.name(), f);
                    ot.put(t.name(), t);
                }
            }
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

    /** A tensor saved by two ranks means the parts do not belong together: refuse rather than pick one. */
    private static void checkOnce(String where, Path dir, Map<String, Path> from, String name, Path f) throws IOException {
        Path before = from.putIfAbsent(name, f);
        if (before != null) {
            throw new IOException(where + "tensor " + name + " is in both " + dir.relativize(before) + " and "
                    + dir.relativize(f) + "; each tensor must be saved by one rank");
        }
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

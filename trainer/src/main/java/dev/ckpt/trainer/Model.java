package dev.ckpt.trainer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LatentWire-like model: a shared encoder ({@code tanh(x W + b)}) feeding two adapters
 * ("llama" and "qwen", linear heads), trained with Adam on deterministic synthetic data
 * (a fixed random teacher per adapter), plus an optional frozen block standing in for
 * frozen base-model weights (a table added to the inputs; never trained, so its bytes
 * never change between checkpoints).
 *
 * <p>Determinism: parameters start from the engine RNG seeded with the run's seed; the
 * data order of epoch {@code e} is a permutation drawn from {@code (seed, e)}; the input
 * noise of step {@code s} comes from the engine RNG reseeded with {@code (seed, s)}. With
 * one engine thread the arithmetic is the same in every process, so resuming at step k
 * gives byte-identical tensors to a run that never stopped.
 *
 * <p>PyTorch's RNG is one per process and DJL lets one gradient collector record at a time
 * per process: construction and each step hold {@link #ENGINE}, so several trainers in one
 * JVM (the tests' ranks as threads) take turns and stay deterministic. A real rank is a
 * process of its own; the lock is then never contended.
 */
final class Model implements AutoCloseable {
    static final List<String> TRAINED_MODULES = List.of("encoder", "adapter_llama", "adapter_qwen");
    static final String FROZEN = "frozen";

    final ModelConfig cfg;
    private final Engine engine;
    private final NDManager manager;
    private final Map<String, NDArray> params = new LinkedHashMap<>();
    private NDArray frozen;
    private final NDArray dataX;
    private final NDArray targetLlama;
    private final NDArray targetQwen;
    final Adam adam;
    private static final Object ENGINE = new Object();

    Model(ModelConfig cfg) {
        synchronized (ENGINE) {
            this.cfg = cfg;
            this.engine = Engine.getEngine("PyTorch");
            this.manager = NDManager.newBaseManager(engine.defaultDevice(), "PyTorch");
            this.adam = new Adam(cfg.lr(), 0.9f, 0.999f, 1e-8f);
            engine.setRandomSeed(mix(cfg.seed(), -1));
            params.put("encoder.weight", normal(cfg.input(), cfg.hidden(), 1.0 / Math.sqrt(cfg.input())));
            params.put("encoder.bias", manager.zeros(new Shape(cfg.hidden())));
            for (String a : List.of("adapter_llama", "adapter_qwen")) {
                params.put(a + ".weight", normal(cfg.hidden(), cfg.output(), 1.0 / Math.sqrt(cfg.hidden())));
                params.put(a + ".bias", manager.zeros(new Shape(cfg.output())));
            }
            if (cfg.frozenRows() > 0) {
                frozen = normal(cfg.frozenRows(), cfg.input(), 0.5);
            }
            // the dataset and its teachers: fixed by the seed, not saved
            engine.setRandomSeed(mix(cfg.seed(), -2));
            dataX = normal(cfg.datasetSize(), cfg.input(), 1.0);
            NDArray teacherL = normal(cfg.input(), cfg.output(), 1.5 / Math.sqrt(cfg.input()));
            NDArray teacherQ = normal(cfg.input(), cfg.output(), 1.0 / Math.sqrt(cfg.input()));
            targetLlama = dataX.matMul(teacherL).tanh();
            targetQwen = dataX.matMul(teacherQ).sin();
            teacherL.close();
            teacherQ.close();
            adam.init(params);
        }
    }

    private NDArray normal(long rows, long cols, double std) {
        return manager.randomNormal(0f, (float) std, new Shape(rows, cols), DataType.FLOAT32);
    }

    /** A 64-bit mix of the seed and a counter (SplitMix64 finaliser), for reseeding. */
    static int mix(long seed, long counter) {
        long z = seed * 0x9E3779B97F4A7C15L + counter + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (int) (z & 0x7fffffff);
    }

    /**
     * One training step on the given sample indices; returns the loss before the update.
     * {@code globalStep} is the step being taken (1-based).
     */
    float step(long[] batch, long globalStep) {
        synchronized (ENGINE) {
            return stepLocked(batch, globalStep);
        }
    }

    private float stepLocked(long[] batch, long globalStep) {
        try (NDManager s = manager.newSubManager()) {
            NDArray idx = s.create(batch);
            NDArray x = dataX.get(idx);
            x.attach(s);
            NDArray yl = targetLlama.get(idx);
            yl.attach(s);
            NDArray yq = targetQwen.get(idx);
            yq.attach(s);
            engine.setRandomSeed(mix(cfg.seed(), globalStep));
            x = x.add(s.randomNormal(0f, 0.05f, x.getShape(), DataType.FLOAT32));
            if (frozen != null) {
                long start = Math.floorMod(globalStep * 7919L, cfg.frozenRows() - batch.length + 1);
                NDArray f = frozen.get(new NDIndex("{}:{}", start, start + batch.length));
                f.attach(s);
                x = x.add(f.mul(0.1f));
            }
            Map<String, NDArray> leaves = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray leaf = e.getValue().duplicate();
                leaf.attach(s);
                leaf.setRequiresGradient(true);
                leaves.put(e.getKey(), leaf);
            }
            float loss;
            try (GradientCollector gc = engine.newGradientCollector()) {
                NDArray h = x.matMul(leaves.get("encoder.weight")).add(leaves.get("encoder.bias")).tanh();
                NDArray pl = h.matMul(leaves.get("adapter_llama.weight")).add(leaves.get("adapter_llama.bias"));
                NDArray pq = h.matMul(leaves.get("adapter_qwen.weight")).add(leaves.get("adapter_qwen.bias"));
                NDArray l = pl.sub(yl).square().mean().add(pq.sub(yq).square().mean());
                gc.backward(l);
                loss = l.getFloat();
            }
            Map<String, NDArray> grads = new LinkedHashMap<>();
            leaves.forEach((k, v) -> grads.put(k, v.getGradient()));
            adam.update(params, grads, s);
            return loss;
        }
    }

    Map<String, NDArray> params() {
        return params;
    }

    NDArray frozen() {
        return frozen;
    }

    NDManager manager() {
        return manager;
    }

    /** Replaces a trained parameter or the frozen block with {@code a} (same shape, checked by the loader). */
    void set(String name, NDArray a) {
        a.attach(manager);
        if (name.equals(FROZEN + ".weight")) {
            frozen.close();
            frozen = a;
        } else {
            params.put(name, a).close();
        }
    }

    /** Total bytes of trained parameters and the frozen block. */
    long parameterBytes() {
        long n = 0;
        for (NDArray p : params.values()) {
            n += 4L * p.size();
        }
        return n + (frozen == null ? 0 : 4L * frozen.size());
    }

    @Override
    public void close() {
        manager.close();
    }
}

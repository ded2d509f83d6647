package dev.ckpt.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.VerifyReport;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The README's main job until the DJL trainer lands: a small deterministic training loop
 * (an encoder and two adapters, plain float32 arrays, gradient steps towards seeded
 * targets) that checkpoints through the store exactly as the real trainer will: stage the
 * files locally, save and commit, keep the last N, resume from the newest checkpoint that
 * verifies. Resuming gives bit-identical weights to an uninterrupted run.
 */
public final class DemoTrainer {
    static final int EXIT_OK = 0;
    static final int EXIT_ERROR = 1;
    static final int EXIT_USAGE = 2;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String[] MODULES = {"encoder", "adapter_llama", "adapter_qwen"};

    /** Parsed options. */
    static final class Options {
        String store = "./ckpt-store";
        String run = "demo";
        long steps = 200;
        long saveEvery = 50;
        int keepLast = 3;
        boolean autoResume;
        Path staging = Path.of("./ckpt-staging");
        long seed = 42;
        int width = 256;
        int frozenMb;
        long logEvery = 25;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("ckpt-train: " + e.getMessage());
            err.println("try 'ckpt-train --help'");
            return EXIT_USAGE;
        }
        if (o == null) {
            out.print(HELP);
            return EXIT_OK;
        }
        try {
            new DemoTrainer(o, out, err).train();
            return EXIT_OK;
        } catch (CkptException e) {
            err.println("ckpt-train: " + e.getMessage());
            return EXIT_ERROR;
        } catch (IOException e) {
            err.println("ckpt-train: I/O error: " + e.getMessage());
            return EXIT_ERROR;
        }
    }

    static final String HELP = """
            Usage: ckpt-train [options]
            Trains a small demo model and checkpoints it to a ckpt store.

              --store STORE        store URL or path (default ./ckpt-store)
              --run NAME           run name (default demo)
              --steps N            train to step N (default 200)
              --save-every K       save every K steps (default 50); also --save_every
              --keep-last N        keep the newest N checkpoints of the run (default 3)
              --auto-resume        resume from the newest checkpoint that verifies; also --auto_resume
              --staging DIR        local staging directory (default ./ckpt-staging); also --save_dir
              --seed S             random seed (default 42)
              --width W            encoder width; parameters ~ W*W floats (default 256)
              --frozen-mb MB       add a frozen block of MB MiB (uploaded once per run)
              --help               this help

            Example:
              ckpt-train --steps 300 --save-every 100 --auto-resume

            Exit codes: 0 ok, 1 error, 2 usage.
            """;

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            a = a.replace('_', '-');
            switch (a) {
                case "--help", "-h" -> {
                    return null;
                }
                case "--auto-resume" -> o.autoResume = true;
                case "--store", "--run", "--steps", "--save-every", "--keep-last", "--staging", "--save-dir", "--seed",
                     "--width", "--frozen-mb", "--log-every" -> {
                    if (v == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException("option " + a + " needs a value");
                        }
                        v = args[++i];
                    }
                    apply(o, a, v);
                }
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
            }
        }
        if (o.steps < 0 || o.saveEvery < 1 || o.keepLast < 1 || o.width < 1 || o.frozenMb < 0 || o.logEvery < 1) {
            throw new IllegalArgumentException("--steps must be >= 0; --save-every, --keep-last, --width, --log-every >= 1");
        }
        return o;
    }

    private static void apply(Options o, String name, String v) {
        try {
            switch (name) {
                case "--store" -> o.store = v;
                case "--run" -> o.run = v;
                case "--steps" -> o.steps = Long.parseLong(v);
                case "--save-every" -> o.saveEvery = Long.parseLong(v);
                case "--keep-last" -> o.keepLast = Integer.parseInt(v);
                case "--staging", "--save-dir" -> o.staging = Path.of(v);
                case "--seed" -> o.seed = Long.parseLong(v);
                case "--width" -> o.width = Integer.parseInt(v);
                case "--frozen-mb" -> o.frozenMb = Integer.parseInt(v);
                case "--log-every" -> o.logEvery = Long.parseLong(v);
                default -> throw new IllegalArgumentException(name);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + name + " needs a number, got '" + v + "'");
        }
    }

    private final Options o;
    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, float[]> weights = new LinkedHashMap<>();
    private final Map<String, float[]> targets = new LinkedHashMap<>();
    private final List<Double> losses = new ArrayList<>();
    private long step;

    DemoTrainer(Options o, PrintStream out, PrintStream err) {
        this.o = o;
        this.out = out;
        this.err = err;
        Random init = new Random(o.seed);
        for (String m : MODULES) {
            int n = m.equals("encoder") ? o.width * o.width : o.width * 64;
            float[] w = new float[n];
            float[] t = new float[n];
            for (int i = 0; i < n; i++) {
                w[i] = (float) init.nextGaussian();
                t[i] = (float) init.nextGaussian() * 0.5f;
            }
            weights.put(m, w);
            targets.put(m, t);
        }
        if (o.frozenMb > 0) {
            float[] f = new float[o.frozenMb * (1 << 18)];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) init.nextGaussian();
            }
            weights.put("frozen", f);
        }
    }

    void train() throws IOException {
        try (CheckpointStore store = CheckpointStore.open(o.store)) {
            store.init();
            WriterToken writer = store.claimWriter(o.run);
            out.printf("ckpt-train: run %s, store %s (writer epoch %d)%n", o.run, store.objectStore().describe(), writer.epoch());
            Files.createDirectories(o.staging);
            cleanStaleStaging();
            if (o.autoResume) {
                resume(store);
            }
            SaveResult last = null;
            while (step < o.steps) {
                double loss = step();
                if (step % o.logEvery == 0 || step == o.steps) {
                    out.printf("step %d  loss %.6f%n", step, loss);
                }
                if (step % o.saveEvery == 0 || step == o.steps) {
                    last = save(store, writer);
                }
            }
            List<CheckpointEntry> cps = store.list(o.run);
            VerifyReport v = store.verify(List.of(), 0);
            out.printf("done: run %s at step %d; %d checkpoints of the run in %s (latest %s); structural verify %s%n",
                    o.run, step, cps.size(), store.objectStore().describe(),
                    cps.isEmpty() ? "none" : cps.get(cps.size() - 1).id(), v.ok() ? "ok" : "FAILED: " + v.problems());
            if (last == null && cps.isEmpty()) {
                out.println("nothing was saved: --steps is 0 or the run was already at its last step");
            }
        }
    }

    /** One deterministic training step; returns the loss after it. */
    double step() {
        step++;
        Random noise = new Random(o.seed * 1_000_003L + step);
        double sum = 0;
        long count = 0;
        float lr = 0.05f;
        for (String m : MODULES) {
            float[] w = weights.get(m);
            float[] t = targets.get(m);
            for (int i = 0; i < w.length; i++) {
                float g = (w[i] - t[i]) + (float) noise.nextGaussian() * 0.01f;
                w[i] -= lr * g;
                double d = w[i] - t[i];
                sum += d * d;
                count++;
            }
        }
        double loss = sum / count;
        losses.add(loss);
        if (losses.size() > 20) {
            losses.remove(0);
        }
        return loss;
    }

    private SaveResult save(CheckpointStore store, WriterToken writer) throws IOException {
        String name = o.run + "-step" + step;
        Path tmp = o.staging.resolve(name + ".tmp");
        Path dir = o.staging.resolve(name);
        deleteTree(tmp);
        Files.createDirectories(tmp);
        for (Map.Entry<String, float[]> e : weights.entrySet()) {
            SafeTensors.write(tmp.resolve(e.getKey() + ".safetensors"), Map.of(e.getKey() + ".weight", e.getValue()));
        }
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("step", step);
        state.put("seed", o.seed);
        state.put("loss", losses.isEmpty() ? null : losses.get(losses.size() - 1));
        state.put("recent_losses", losses);
        JSON.writeValue(tmp.resolve("state.json").toFile(), state);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("model", "demo-latentwire");
        config.put("width", o.width);
        config.put("frozen_mb", o.frozenMb);
        JSON.writeValue(tmp.resolve("config.json").toFile(), config);
        deleteTree(dir);
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        Map<String, String> meta = new LinkedHashMap<>();
        if (!losses.isEmpty()) {
            meta.put("loss", Double.toString(losses.get(losses.size() - 1)));
        }
        SaveResult r = store.save(writer, SaveRequest.of(dir, o.run, step).withMetadata(meta)
                .withRetention(Retention.keepLast(o.keepLast)));
        out.println("saved " + r.summary());
        if (!r.droppedByRetention().isEmpty()) {
            out.println("  retention (keep last " + o.keepLast + ") dropped " + String.join(", ", r.droppedByRetention()));
        }
        // keep only the newest staged copy: a fast local source for the next resume
        try (Stream<Path> s = Files.list(o.staging)) {
            for (Path p : s.toList()) {
                if (!p.equals(dir) && p.getFileName().toString().startsWith(o.run + "-step")) {
                    deleteTree(p);
                }
            }
        }
        return r;
    }

    private void resume(CheckpointStore store) throws IOException {
        if (store.list(o.run).isEmpty()) {
            out.println("auto-resume: run " + o.run + " has no checkpoint yet; starting from step 0");
            return;
        }
        Path target = o.staging.resolve(o.run + "-restore");
        deleteTree(target);
        List<Path> reuse = new ArrayList<>();
        try (Stream<Path> s = Files.list(o.staging)) {
            s.filter(p -> p.getFileName().toString().startsWith(o.run + "-step") && Files.isDirectory(p)).forEach(reuse::add);
        }
        RestoreResult r = store.restoreLatestGood(o.run, target, reuse);
        store.recordVerified(List.of(r.checkpointId())); // every chunk and file hash matched
        for (String f : r.fallbacks()) {
            err.println("auto-resume: WARNING " + f + "; falling back to an older checkpoint");
        }
        for (String m : new ArrayList<>(weights.keySet())) {
            Path f = target.resolve(m + ".safetensors");
            float[] w = SafeTensors.read(f).get(m + ".weight");
            if (w == null || w.length != weights.get(m).length) {
                throw new IOException("checkpoint " + r.checkpointId() + ": " + f.getFileName()
                        + " does not hold tensor " + m + ".weight of the configured shape; check --width and --frozen-mb");
            }
            weights.put(m, w);
        }
        JsonNode state = JSON.readTree(target.resolve("state.json").toFile());
        step = state.get("step").asLong();
        losses.clear();
        state.withArray("recent_losses").forEach(n -> losses.add(n.asDouble()));
        out.printf("auto-resume: restored checkpoint %s (step %d): %d chunks downloaded, %d reused locally%n",
                r.checkpointId(), step, r.chunksDownloaded(), r.chunksReused());
        Path dir = o.staging.resolve(o.run + "-step" + step);
        deleteTree(dir);
        Files.move(target, dir, StandardCopyOption.ATOMIC_MOVE);
    }

    private void cleanStaleStaging() throws IOException {
        try (Stream<Path> s = Files.list(o.staging)) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().endsWith(".tmp")) {
                    out.println("removing leftover of an interrupted save: " + p);
                    deleteTree(p);
                }
            }
        }
    }

    Map<String, float[]> weights() {
        return weights;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}

package dev.ckpt.trainer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shape of the model and its data: everything {@code config.json} records and a resume
 * must agree with. {@code frozenMb} MiB of frozen weights become a table of
 * {@code frozenRows} rows of {@code input} floats (at least one batch of rows).
 */
record ModelConfig(long seed, int input, int hidden, int output, int batch, int datasetSize, float lr, int frozenMb) {
    ModelConfig {
        // each refusal names its option (helper-106: one line for all of them named none)
        for (Object[] o : new Object[][] {{"--input", input}, {"--hidden", hidden}, {"--output", output},
                {"--batch", batch}}) {
            if ((int) o[1] < 1) {
                throw new IllegalArgumentException("option " + o[0] + " must be 1 or more, got " + o[1]);
            }
        }
        if (datasetSize < batch) {
            throw new IllegalArgumentException("option --dataset-size " + datasetSize + " holds less than one batch"
                    + " (--batch " + batch + "): give at least " + batch);
        }
        if (frozenMb < 0) {
            throw new IllegalArgumentException("option --frozen-mb must be 0 or more, got " + frozenMb);
        }
        if (!(lr > 0)) {
            throw new IllegalArgumentException("option --lr must be more than 0, got " + lr);
        }
        long enc = (long) input * hidden;
        if (enc > Integer.MAX_VALUE / 4 || (long) hidden * output > Integer.MAX_VALUE / 4
                || (long) datasetSize * input > Integer.MAX_VALUE / 4 || frozenMb > 2000) {
            throw new IllegalArgumentException("a tensor would exceed 2 GiB (safetensors files are mapped whole); "
                    + "use smaller --input/--hidden/--dataset-size or --frozen-mb <= 2000");
        }
    }

    /** The options that set this, as given to ckpt-train: what every rank of a job must be given alike. */
    String options() {
        return "--seed " + seed + " --input " + input + " --hidden " + hidden + " --output " + output + " --batch " + batch
                + " --dataset-size " + datasetSize + " --lr " + lr + " --frozen-mb " + frozenMb;
    }

    long frozenRows() {
        if (frozenMb == 0) {
            return 0;
        }
        return Math.max(batch, ((long) frozenMb << 20) / (4L * input));
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", "latentwire-tiny");
        m.put("modules", Model.TRAINED_MODULES);
        m.put("seed", seed);
        m.put("input", input);
        m.put("hidden", hidden);
        m.put("output", output);
        m.put("batch", batch);
        m.put("dataset_size", datasetSize);
        m.put("lr", lr);
        m.put("frozen_mb", frozenMb);
        m.put("frozen_rows", frozenRows());
        // in this order in every JVM: Map.of's order changes from one JVM to the next, so config.json had changed
        // across a resume, and deduplicated against nothing (helper-103)
        Map<String, Object> optimizer = new LinkedHashMap<>();
        optimizer.put("name", "adam");
        optimizer.put("beta1", 0.9);
        optimizer.put("beta2", 0.999);
        optimizer.put("eps", 1e-8);
        m.put("optimizer", optimizer);
        return m;
    }
}

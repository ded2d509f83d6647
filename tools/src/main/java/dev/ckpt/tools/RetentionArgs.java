package dev.ckpt.tools;

import dev.ckpt.store.commit.Retention;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** Builds a {@link Retention} from the command line; a value it refuses is a usage error (exit 2). */
final class RetentionArgs {
    private RetentionArgs() {
    }

    /**
     * @param keepBest {@code METRIC}, {@code METRIC:min} or {@code METRIC:max}, or null
     */
    static Retention build(CommandSpec spec, Integer keepLast, Long keepEvery, String keepBest) {
        String metric = null;
        boolean max = false;
        if (keepBest != null) {
            String[] parts = keepBest.split(":", -1);
            if (parts.length > 2 || parts[0].isBlank() || (parts.length == 2 && !parts[1].equals("min") && !parts[1].equals("max"))) {
                throw new ParameterException(spec.commandLine(), "--keep-best takes METRIC, METRIC:min or METRIC:max"
                        + " (a metadata key such as loss), got '" + keepBest + "'");
            }
            metric = parts[0];
            max = parts.length == 2 && parts[1].equals("max");
        }
        try {
            return new Retention(keepLast, keepEvery, metric, max, metric == null ? 0 : 1);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--" + e.getMessage());
        }
    }
}

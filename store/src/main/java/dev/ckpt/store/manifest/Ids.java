package dev.ckpt.store.manifest;

import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.util.Printable;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Run names and checkpoint ids: safe in object keys, file names and shells. */
public final class Ids {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    public static String checkRunName(String run) {
        if (!isName(run)) {
            throw new InvalidInputException("invalid run name '" + shown(run)
                    + "': use 1-100 ASCII letters (A-Z, a-z), digits, '.', '_' or '-', starting with a letter or digit, without '..'");
        }
        return run;
    }

    /** A job id ({@code --job-id}, or built from SLURM's or torchrun's variables): the run name's rules. */
    public static String checkJobId(String job) {
        if (!isName(job)) {
            throw new InvalidInputException("invalid job id '" + shown(job)
                    + "': use 1-100 ASCII letters (A-Z, a-z), digits, '.', '_' or '-', starting with a letter or digit, without '..'");
        }
        return job;
    }

    /**
     * {@code name} as a message shows it: at most 120 code points, escaped by {@link Printable}
     * (helper-105: a run name with a line break from an archive cut the message short at it).
     */
    private static String shown(String name) {
        return Printable.cut(name, 120);
    }

    /** Whether {@code name} follows the rules of run names and checkpoint ids (a value, for a caller that says why). */
    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches() && !name.contains("..");
    }

    public static String checkCheckpointId(String id) {
        if (!isName(id)) {
            throw new IllegalArgumentException("invalid checkpoint id '" + shown(id) + "'");
        }
        return id;
    }

    /** A new checkpoint id: {@code <run>-s<step>-<8 random hex>}, unique without coordination. */
    public static String newCheckpointId(String run, long step) {
        byte[] b = new byte[4];
        RANDOM.nextBytes(b);
        String suffix = "-s" + step + "-" + HexFormat.of().formatHex(b);
        String base = run.length() + suffix.length() > 100 ? run.substring(0, 100 - suffix.length()) : run;
        return base + suffix;
    }

    /**
     * The id of a checkpoint saved by several ranks: {@code <run>-s<step>-e<writer epoch>}.
     * Every rank of one job computes it alone (they share the epoch); a requeued job has
     * another epoch, so its checkpoint of the same step is another one.
     */
    public static String shardedCheckpointId(String run, long step, long writerEpoch) {
        String suffix = "-s" + step + "-e" + writerEpoch;
        if (run.length() + suffix.length() <= 100) {
            return run + suffix;
        }
        // cut, the name no longer tells runs apart: 8 hex digits of the full name's SHA-256 do (the id is
        // deterministic, so two long runs with a common prefix must not share it)
        String tag = "-" + dev.ckpt.store.chunk.Hashes.sha256Hex(run.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .substring(0, 8);
        return run.substring(0, 100 - suffix.length() - tag.length()) + tag + suffix;
    }
}

package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Runs ckpt-tool in-process through picocli with captured stdout and stderr. */
final class Cli {
    record Result(int code, String out, String err) {
        JsonNode json() {
            try {
                return OutputOptions.JSON.readTree(out);
            } catch (Exception e) {
                throw new AssertionError("stdout is not one JSON document: " + out + "\nstderr: " + err, e);
            }
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private final Map<String, String> env;
    private final List<String> common;

    Cli(Map<String, String> env, String... common) {
        this.env = env;
        this.common = List.of(common);
    }

    /** This command line's environment with other options added to every command ({@code --progress plain}, say). */
    Cli withCommon(String... other) {
        return new Cli(env, other);
    }

    Result run(String... args) {
        return run(new StringWriter(), args);
    }

    /** As {@link #run(String...)}, with stderr in {@code err}, which another thread may read while the command runs. */
    Result run(StringWriter err, String... args) {
        StringWriter out = new StringWriter();
        List<String> all = new ArrayList<>(List.of(args));
        if (all.size() > 0 && !all.get(0).startsWith("-") && !all.get(0).equals("help")) {
            all.addAll(common);
        }
        int code = CkptTool.execute(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true), env);
        return new Result(code, out.toString(), err.toString());
    }
}

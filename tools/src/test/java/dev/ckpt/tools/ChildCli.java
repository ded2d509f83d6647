package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs several ckpt-tool commands in one JVM and writes their exit codes and output as
 * JSON: the child process of {@link MountNamespace}, which runs inside a private mount
 * namespace (a read-only bind mount, a small tmpfs) that the test JVM cannot see.
 * Arguments: the commands file ({"env": {...}, "commands": [[arg, ...], ...]}) and the
 * results file.
 */
public final class ChildCli {
    public static void main(String[] args) throws Exception {
        JsonNode in = OutputOptions.JSON.readTree(Files.readAllBytes(Path.of(args[0])));
        Map<String, String> env = new HashMap<>(System.getenv());
        in.path("env").fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        List<Map<String, Object>> results = new ArrayList<>();
        for (JsonNode cmd : in.get("commands")) {
            List<String> argv = new ArrayList<>();
            cmd.forEach(a -> argv.add(a.asText()));
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = CkptTool.execute(argv.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true), env);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("code", code);
            r.put("out", out.toString());
            r.put("err", err.toString());
            results.add(r);
        }
        Files.write(Path.of(args[1]), OutputOptions.JSON.writeValueAsBytes(results));
        System.exit(0);
    }
}

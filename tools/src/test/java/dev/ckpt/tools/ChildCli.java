package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs several ckpt-tool commands in one JVM and writes their exit codes and output as
 * JSON: the child process of {@link MountNamespace}, which runs inside a private mount
 * namespace (a read-only bind mount, a small tmpfs) that the test JVM cannot see.
 * Arguments: the commands file ({"env": {...}, "commands": [[arg, ...], ...]}) and the
 * results file.
 */
public final class ChildCli {
    /**
     * Runs {@code commands} in a child JVM whose process environment has {@code processEnv} on top of this one's
     * (a null value removes the variable).
     */
    static List<Cli.Result> run(Path work, Map<String, String> processEnv, List<List<String>> commands) throws Exception {
        Path out = work.resolve("results.json");
        Process p = start(work, processEnv, commands);
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.exists(out)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM failed:\n" + log);
        }
        List<Cli.Result> results = new ArrayList<>();
        for (JsonNode r : OutputOptions.JSON.readTree(Files.readAllBytes(out))) {
            results.add(new Cli.Result(r.get("code").asInt(), r.get("out").asText(), r.get("err").asText()));
        }
        return results;
    }

    /** Starts the child JVM of {@link #run} (its output merged into its standard output) and returns it running. */
    static Process start(Path work, Map<String, String> processEnv, List<List<String>> commands) throws Exception {
        Files.createDirectories(work);
        Path in = work.resolve("commands.json");
        Path out = work.resolve("results.json");
        Files.deleteIfExists(out);
        Files.write(in, OutputOptions.JSON.writeValueAsBytes(Map.of("env", Map.of(), "commands", commands)));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", shippedClassPath(), ChildCli.class.getName(),
                in.toString(), out.toString()).redirectErrorStream(true);
        processEnv.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        return pb.start();
    }

    /**
     * This JVM's class path without the AWS SDK modules the tests' S3 server brings in and ckpt does not
     * ship ({@code sts}, {@code sso}, {@code ssooidc}: tools/target/lib has none), so the child's credential
     * chain behaves as the installed ckpt-tool's does.
     */
    static String shippedClassPath() {
        return java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(e -> !Path.of(e).getFileName().toString().matches("(sts|sso|ssooidc)-[0-9].*\\.jar"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

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

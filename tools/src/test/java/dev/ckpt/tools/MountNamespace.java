package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs ckpt-tool commands in a child JVM inside a private mount namespace
 * ({@code unshare -m}, or {@code unshare -rm} when not root), after shell commands that
 * mount things there: a read-only bind mount, a tmpfs of a few hundred KiB. The mounts
 * exist only for the child and vanish with it, so nothing is left on the machine even if
 * the test is killed. Where namespaces or mounts are not allowed (a container without
 * CAP_SYS_ADMIN, user namespaces off), {@link #assumeAvailable} skips the test and says why.
 */
final class MountNamespace {
    private static volatile String unavailable;
    private static volatile boolean probed;

    private MountNamespace() {
    }

    private static List<String> unshare() {
        boolean root = "root".equals(System.getProperty("user.name"));
        return root ? List.of("unshare", "-m", "--propagation", "private") : List.of("unshare", "-rm", "--propagation", "private");
    }

    /** Skips the calling test, with the reason, unless this machine lets us mount in a private namespace. */
    static void assumeAvailable(Path scratch) {
        if (!probed) {
            unavailable = probe(scratch);
            probed = true;
        }
        assumeTrue(unavailable == null, () -> "skipped: needs a private mount namespace with bind and tmpfs mounts: "
                + unavailable);
    }

    private static String probe(Path scratch) {
        try {
            Path d = Files.createDirectories(scratch.resolve("mount-probe"));
            List<String> cmd = new ArrayList<>(unshare());
            cmd.addAll(List.of("sh", "-c", "mount -t tmpfs -o size=64k tmpfs " + q(d) + " && mount --bind " + q(d) + " "
                    + q(d) + " && mount -o remount,bind,ro " + q(d) + " && ! touch " + q(d.resolve("x")) + " 2>/dev/null"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "unshare did not finish";
            }
            return p.exitValue() == 0 ? null : String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out;
        } catch (IOException e) {
            return "cannot run unshare: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** A ckpt-tool command line for {@link #run}, without progress output. */
    static List<String> cmd(String... args) {
        List<String> l = new ArrayList<>(List.of(args));
        l.addAll(List.of("--progress", "none"));
        return l;
    }

    /** Shell-quotes a path. */
    static String q(Object p) {
        return "'" + p.toString().replace("'", "'\\''") + "'";
    }

    /** A read-only bind mount of {@code dir} onto itself. */
    static String readOnly(Path dir) {
        return "mount --bind " + q(dir) + " " + q(dir) + " && mount -o remount,bind,ro " + q(dir);
    }

    /** A tmpfs of {@code kib} KiB on {@code dir} (which must exist). */
    static String tmpfs(Path dir, int kib) {
        return "mount -t tmpfs -o size=" + kib + "k tmpfs " + q(dir);
    }

    /**
     * Runs {@code setup} (shell, in the namespace), then each command in one child JVM,
     * then {@code after} (shell; its stdout is returned as the last result's {@code out}
     * of an extra result with code -1), all in the same namespace.
     */
    static List<Cli.Result> run(Path work, String setup, Map<String, String> env, List<List<String>> commands, String after)
            throws IOException, InterruptedException {
        Files.createDirectories(work);
        Path in = work.resolve("commands.json");
        Path out = work.resolve("results.json");
        Files.deleteIfExists(out);
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("env", env);
        j.put("commands", commands);
        Files.write(in, OutputOptions.JSON.writeValueAsBytes(j));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "set -e\n" + setup + "\nset +e\n" + q(java) + " -cp " + q(System.getProperty("java.class.path"))
                + " " + ChildCli.class.getName() + " " + q(in) + " " + q(out) + "\nrc=$?\n"
                + (after == null ? "" : "echo '--- after'\n" + after + "\n") + "exit $rc\n";
        List<String> cmd = new ArrayList<>(unshare());
        cmd.addAll(List.of("sh", "-c", script));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child did not finish: " + log);
        }
        if (p.exitValue() != 0 || !Files.exists(out)) {
            throw new AssertionError("child in a mount namespace failed (exit " + p.exitValue() + "):\n" + log);
        }
        List<Cli.Result> results = new ArrayList<>();
        for (JsonNode r : OutputOptions.JSON.readTree(Files.readAllBytes(out))) {
            results.add(new Cli.Result(r.get("code").asInt(), r.get("out").asText(), r.get("err").asText()));
        }
        int at = log.indexOf("--- after\n");
        if (after != null) {
            results.add(new Cli.Result(-1, at < 0 ? "" : log.substring(at + "--- after\n".length()), log));
        }
        return results;
    }
}

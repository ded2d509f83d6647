package dev.ckpt.tools;

import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bin/ckpt-tool under a limit on threads ({@code ulimit -u}): every run ends, either done
 * or with the thread-limit advice (exit 1), never hung. Two hangs were found this way: a
 * task queued in a pool none of whose threads could start ({@code ThreadPools}), and the
 * JVM (17) waiting at exit for a G1 refinement thread that never started (the launcher's
 * {@code -XX:G1ConcRefinementThreads=1}; without it this test's restore hung at
 * {@code ulimit -u 20}). helper-89 found a third: a restore with one slot left when it
 * had published every file, whose {@code sync -f} then started but the JDK's thread to
 * wait for it could not, exited 1 with the advice, its files all in place
 * ({@code FilesystemSync}; without its fix this test fails at {@code ulimit -u 40}).
 *
 * <p>The limit counts every process and thread of the user, and root is exempt from it,
 * so the launcher runs as a user ID no process on the machine has, through {@code setpriv};
 * this needs root. It was {@code nobody}, whom other processes may share: in the CI run of
 * stop 54, {@code ls} failed at every limit up to 39 (here from 23 it is done), as if some
 * 17 threads of {@code nobody} ran beside it. The checkout is a copy of bin/ckpt-tool with this build's classes and its
 * dependencies' jars, all readable by every user, and the launcher's class-data archive.
 */
class ThreadLimitCliTest {
    private static final String ADVICE = "no new thread could be started, as the limit on processes and threads";
    /** From the fewest threads a JVM needs to reach ckpt's main to more than a restore needs here. */
    private static final int FROM = 18;
    private static final int TO = 50;

    @TempDir
    Path tmp;
    private Path launcher;
    private Path store;
    /** The user ID the launcher runs as: one no process has, so the limit counts only the run's own threads. */
    private int uid;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root: a limit on threads is per user, and only root can run the launcher as another user");
        uid = unusedUid();
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path repo = LauncherClassDataTest.checkout(tmp, true); // the other user may not read the Maven repository's jars
        launcher = repo.resolve("bin/ckpt-tool");
        Path src = dev.ckpt.store.testing.TestDirs.randomFiles(tmp.resolve("src"), "shard-", 8, 8 << 20, 23);
        store = tmp.resolve("store");
        Cli.Result push = new Cli(Map.of()).run("push", store.toString(), src.toString(), "--run", "r", "--step", "1",
                "--progress", "none");
        assertEquals(0, push.code(), push.toString());
        // the launcher's class-data archive, recorded once as root: with it (as users run), the G1 hang at exit
        // came at ulimit -u 23 every time; without it, not at all
        LauncherClassDataTest.Run ls = LauncherClassDataTest.run(Map.of(), "bash", launcher.toString(), "ls",
                store.toString());
        assertEquals(0, ls.code(), ls.out() + ls.err());
        assertTrue(Files.isRegularFile(repo.resolve("tools/target/ckpt-tool.jsa")), "the archive: " + ls.err());
        Files.createDirectories(tmp.resolve("runs"));
        openToAll(tmp);
    }

    @Test
    void aRestoreUnderAnyThreadLimitEndsDoneOrWithTheAdvice() throws Exception {
        sweep(n -> List.of("restore", store.toString(), "latest", tmp.resolve("runs/restored-" + n).toString()),
                n -> tmp.resolve("runs/restored-" + n));
    }

    @Test
    void aPushUnderAnyThreadLimitEndsDoneOrWithTheAdvice() throws Exception {
        Path pushed = tmp.resolve("runs/pushed");
        sweep(n -> List.of("push", pushed.toString(), tmp.resolve("src").toString(), "--run", "p", "--step",
                Integer.toString(n)), n -> null);
        Cli.Result verify = new Cli(Map.of()).run("verify", "--read-data", pushed.toString());
        assertEquals(0, verify.code(), "the pushes that failed left the store sound: " + verify);
    }

    /**
     * The MinIO client over S3: Okio's watchdog thread, started by OkHttp where a failure to
     * start it is reported to no one, left the request waiting for ever (helper-90: ls, forget
     * and gc under ulimit -u 21-23); {@code MinioObjectStore} starts it on the caller's thread.
     */
    @Test
    void s3CommandsWithTheMinioClientUnderAnyThreadLimitEndDoneOrWithTheAdvice() throws Exception {
        S3ProxyServer server = S3ProxyServer.start(null);
        try {
            server.createBucket("tlim");
            Map<String, String> env = server.env(S3Config.Client.MINIO, S3Config.Http.APACHE);
            env.put("CKPT_PROBE_CACHE", "0");
            String s3 = "s3://tlim/p";
            Cli.Result push = new Cli(env).run("push", s3, tmp.resolve("src").toString(), "--run", "r", "--step", "1",
                    "--progress", "none");
            assertEquals(0, push.code(), push.toString());
            sweep(n -> List.of("ls", s3), n -> null, env);
            sweep(n -> List.of("restore", s3, "latest", tmp.resolve("runs/s3-restored-" + n).toString()),
                    n -> tmp.resolve("runs/s3-restored-" + n), env);
        } finally {
            server.close();
        }
    }

    private void sweep(java.util.function.IntFunction<List<String>> command,
                       java.util.function.IntFunction<Path> target) throws Exception {
        sweep(command, target, Map.of());
    }

    private void sweep(java.util.function.IntFunction<List<String>> command,
                       java.util.function.IntFunction<Path> target, Map<String, String> env) throws Exception {
        int done = 0;
        int advised = 0;
        List<String> seen = new ArrayList<>();
        for (int n = FROM; n <= TO; n++) {
            Outcome o = runAsAnotherUser(n, command.apply(n), env);
            seen.add("ulimit -u " + n + ": exit " + o.code);
            assertFalse(o.hung, "under ulimit -u " + n + " the run did not end within 60 s (" + seen + "); stderr:\n"
                    + o.err);
            if (o.code == 0) {
                done++;
                continue;
            }
            // the JVM's own words: on stderr, or (helper-126, "Error occurred during initialization of VM") on stdout
            if (o.err.contains("Error occurred during initialization of VM") || o.out.contains("Error occurred during"
                    + " initialization of VM") || o.err.contains("sun.launcher.LauncherHelper")) {
                continue; // too few threads for the JVM to reach ckpt's main: the JVM's own words
            }
            assertEquals(1, o.code, "ulimit -u " + n + ": " + o.err);
            assertTrue(o.err.contains(ADVICE), "ulimit -u " + n + ": the thread-limit advice: " + o.err);
            assertFalse(o.err.contains("Exception") || o.err.contains("Error:") || o.err.contains("\tat "),
                    "ulimit -u " + n + ": no class names or stack trace: " + o.err);
            advised++;
            Path t = target.apply(n);
            if (t != null && Files.exists(t)) {
                try (var files = Files.list(t)) {
                    assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("shard-")).toList(),
                            "a failed restore leaves no file under its final name");
                }
            }
        }
        assertTrue(advised > 0, "some limit gave the thread-limit advice: " + seen);
        assertTrue(done > 0, "some limit let the command finish: " + seen);
    }

    private record Outcome(boolean hung, int code, String err, String out) {
    }

    /**
     * A user ID from 2^30 up that no process on the machine runs as (real, effective, saved or
     * file-system ID, from {@code /proc/<pid>/status}) and that {@code /etc/passwd} does not name.
     */
    private static int unusedUid() throws IOException {
        java.util.Set<Integer> used = new java.util.HashSet<>();
        for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
            String[] f = line.split(":");
            if (f.length > 2 && f[2].matches("[0-9]+")) {
                used.add(Integer.parseInt(f[2]));
            }
        }
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path pid : procs.filter(d -> d.getFileName().toString().matches("[0-9]+")).toList()) {
                try {
                    for (String line : Files.readAllLines(pid.resolve("status"))) {
                        if (line.startsWith("Uid:")) {
                            for (String id : line.substring(4).trim().split("\\s+")) {
                                used.add(Integer.parseInt(id));
                            }
                        }
                    }
                } catch (IOException gone) {
                    // the process ended while listed
                }
            }
        }
        int uid = (1 << 30) + new java.util.Random().nextInt(1 << 20);
        while (used.contains(uid)) {
            uid++;
        }
        return uid;
    }

    private Outcome runAsAnotherUser(int limit, List<String> args, Map<String, String> env) throws Exception {
        StringBuilder cmd = new StringBuilder("ulimit -u " + limit + " && cd " + tmp + " && HOME=" + tmp);
        env.forEach((k, v) -> cmd.append(' ').append(k).append('=').append(v));
        cmd.append(" exec ").append(launcher);
        for (String a : args) {
            cmd.append(' ').append(a);
        }
        cmd.append(" --progress none");
        Path err = tmp.resolve("runs/err-" + limit);
        Path out = tmp.resolve("runs/out-" + limit);
        Process p = new ProcessBuilder("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "/bin/bash",
                "-c", cmd.toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        String dump = "";
        if (!ended) {
            // the JVM's thread dump (SIGQUIT, to its standard output) says where the run waits; setpriv and
            // bash exec the launcher, which execs java: the process started is the JVM
            new ProcessBuilder("kill", "-QUIT", Long.toString(p.pid())).start().waitFor(5, TimeUnit.SECONDS);
            Thread.sleep(3000);
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            dump = "\nits standard output, with the thread dump:\n" + Files.readString(out, StandardCharsets.UTF_8);
        }
        return new Outcome(!ended, ended ? p.exitValue() : -1, Files.readString(err, StandardCharsets.UTF_8) + dump,
                Files.readString(out, StandardCharsets.UTF_8));
    }

    private static void openToAll(Path dir) throws IOException {
        try (var all = Files.walk(dir)) {
            for (Path f : all.toList()) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(Files.isDirectory(f) ? "rwxrwxrwx"
                        : "rw-rw-rw-"));
            }
        }
        Files.setPosixFilePermissions(dir.resolve("checkout/bin/ckpt-tool"), PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}

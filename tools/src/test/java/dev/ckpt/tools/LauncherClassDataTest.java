package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/ckpt-tool's class-data-sharing archive: the first run after a build records it (the
 * training run), later runs map ckpt's classes from it, and what a command prints is the same
 * with or without it; {@code CKPT_CDS=0} turns it off. A fake checkout whose jar holds this
 * build's classes, with the dependencies' jars on its Class-Path (an archive needs jars, not
 * directories), so the launcher never builds.
 */
class LauncherClassDataTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run run(Map<String, String> env, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        Path err = Files.createTempFile("launcher", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "launcher did not finish: " + out);
        String e = Files.readString(err);
        Files.delete(err);
        return new Run(p.exitValue(), out, e);
    }

    private Path checkout() throws IOException {
        return checkout(tmp);
    }

    /** A fake checkout in {@code tmp}: bin/ckpt-tool and a jar of this build's classes (see the class comment). */
    static Path checkout(Path tmp) throws IOException {
        return checkout(tmp, false);
    }

    /**
     * As {@link #checkout(Path)}; with {@code copyJars} the dependencies' jars are copied into
     * {@code tools/target/lib} (as a build puts them) instead of named on the jar's Class-Path, so
     * a user who may not read the Maven repository can run it, with the archive.
     */
    static Path checkout(Path tmp, boolean copyJars) throws IOException {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("bin/ckpt-tool"))) {
            dir = dir.getParent();
        }
        assertTrue(dir != null, "bin/ckpt-tool not found above " + System.getProperty("user.dir"));
        Path repo = tmp.resolve("checkout");
        Files.createDirectories(repo.resolve("bin"));
        Files.createDirectories(repo.resolve("tools/target/lib"));
        Files.copy(dir.resolve("bin/ckpt-tool"), repo.resolve("bin/ckpt-tool"));
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        List<Path> classDirs = new ArrayList<>();
        StringBuilder cp = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(e).toAbsolutePath();
            if (Files.isDirectory(p)) {
                if (!p.endsWith("test-classes")) {
                    classDirs.add(p); // tools and store classes: into the jar
                }
            } else if (p.toString().endsWith(".jar")) {
                if (copyJars) {
                    Files.copy(p, repo.resolve("tools/target/lib").resolve(p.getFileName()));
                } else {
                    cp.append(p.toUri()).append(' ');
                }
            }
        }
        if (!cp.isEmpty()) {
            m.getMainAttributes().put(Attributes.Name.CLASS_PATH, cp.toString().trim());
        }
        try (OutputStream o = Files.newOutputStream(repo.resolve("tools/target/ckpt-tools.jar"));
             JarOutputStream jar = new JarOutputStream(o, m)) {
            for (Path d : classDirs) {
                try (var files = Files.walk(d)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        jar.putNextEntry(new JarEntry(d.relativize(f).toString().replace('\\', '/')));
                        Files.copy(f, jar);
                        jar.closeEntry();
                    }
                }
            }
        }
        return repo;
    }

    @Test
    void theFirstRunRecordsTheArchiveAndLaterRunsUseItWithTheSameOutput() throws Exception {
        Path repo = checkout();
        String launcher = repo.resolve("bin/ckpt-tool").toString();
        Path jsa = repo.resolve("tools/target/ckpt-tool.jsa");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("a.txt"), "hello");
        String store = tmp.resolve("store").toString();
        Path classLog = tmp.resolve("classes.log");

        Run first = run(Map.of(), "bash", launcher, "push", store, src.toString(), "--run", "r", "--step", "1",
                "--progress", "none");
        assertEquals(0, first.code(), first.out() + first.err());
        assertTrue(first.err().contains("recording its classes for a faster start"), first.err());
        assertTrue(Files.size(jsa) > 1_000_000, "the archive was written: " + jsa);

        Run with = run(Map.of("CKPT_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLog), "bash", launcher, "ls", store);
        assertEquals(0, with.code(), with.out() + with.err());
        assertEquals("", with.err(), "nothing on stderr once the archive exists");
        String log = Files.readString(classLog);
        assertTrue(log.contains("dev.ckpt.tools.LsCommand source: shared objects file (top)"),
                "ckpt's classes come from the archive");

        Files.delete(classLog);
        Run without = run(Map.of("CKPT_CDS", "0", "CKPT_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLog), "bash",
                launcher, "ls", store);
        assertEquals(0, without.code(), without.out() + without.err());
        assertEquals(with.out(), without.out(), "the same output with and without the archive");
        assertFalse(Files.readString(classLog).contains("shared objects file (top)"), "CKPT_CDS=0: no archive");
    }

    /**
     * Transparent huge pages for the heap (docs/benchmarks.md, "Fresh memory"): asked for
     * when the kernel gives them on request ("madvise"), not otherwise (under "never" the
     * JVM would warn). This machine's mode decides which of the two is checked. A command
     * that keeps both compilers ({@code restore}); the small runs go without
     * ({@code LauncherJitTest}).
     */
    @Test
    void theLauncherAsksForTransparentHugePagesExactlyWhenTheKernelGivesThemOnRequest() throws Exception {
        Path repo = checkout();
        Path thp = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        boolean onRequest = Files.isReadable(thp) && Files.readString(thp).contains("[madvise]");
        Run r = run(Map.of("CKPT_CDS", "0", "CKPT_JAVA_OPTS", "-XX:+PrintFlagsFinal"), "bash",
                repo.resolve("bin/ckpt-tool").toString(), "restore", "--help");
        assertEquals(0, r.code(), r.out() + r.err());
        String flag = r.out().lines().filter(l -> l.contains(" UseTransparentHugePages ")).findFirst().orElseThrow();
        assertEquals(onRequest, flag.contains("= true"), flag + " (the kernel's mode: "
                + (Files.isReadable(thp) ? Files.readString(thp).trim() : "unknown") + ")");
        assertEquals("", r.err(), "no warning from the JVM");
    }
}

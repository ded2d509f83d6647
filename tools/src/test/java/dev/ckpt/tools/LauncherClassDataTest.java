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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
     * Another JVM first on PATH (helper-138: a Temurin 25 beside Debian's 17 had no archive, a
     * "[cds] Not a valid shared archive file" error and four native-access warnings on every run):
     * the archive is recorded again for it, and on a JDK of release 22 or later the training and
     * every run allow native access, so the archive recorded is one the runs can use. The other
     * JVM here is this one behind a wrapper in a fake JDK whose release file says 25, logging
     * each command line it is given.
     */
    @Test
    void anotherJvmFirstOnPathGetsAnArchiveOfItsOwnAndNativeAccessFromRelease22() throws Exception {
        Path repo = checkout();
        String launcher = repo.resolve("bin/ckpt-tool").toString();
        String store = tmp.resolve("store").toString();
        Run first = run(Map.of(), "bash", launcher, "init", store);
        assertEquals(0, first.code(), first.out() + first.err());
        assertTrue(first.err().contains("recording its classes"), first.err());

        Path jdk = Files.createDirectories(tmp.resolve("other-jdk/bin"));
        Path args = tmp.resolve("java-args.log");
        Path java = jdk.resolve("java");
        String realJava = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Files.writeString(java, "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + args + "'\nexec '" + realJava + "' \"$@\"\n");
        assertTrue(java.toFile().setExecutable(true));
        Files.writeString(jdk.getParent().resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"25.0.3\"\n");
        Map<String, String> other = Map.of("PATH", jdk + ":" + System.getenv("PATH"));

        Run again = run(other, "bash", launcher, "ls", store);
        assertEquals(0, again.code(), again.out() + again.err());
        assertTrue(again.err().contains("recording its classes"), "recorded again for the other JVM: " + again.err());
        String stamp = Files.readString(repo.resolve("tools/target/ckpt-tool.jsa.cp"));
        assertTrue(stamp.contains(java.toString()), stamp);
        List<String> lines = Files.readAllLines(args);
        assertTrue(lines.stream().anyMatch(l -> l.contains("-XX:ArchiveClassesAtExit")
                && l.contains("--enable-native-access=ALL-UNNAMED")), "the training allows native access: " + lines);
        assertTrue(lines.stream().anyMatch(l -> l.contains("dev.ckpt.tools.CkptTool")
                && l.contains("--enable-native-access=ALL-UNNAMED")), "the run allows native access: " + lines);

        Run later = run(other, "bash", launcher, "ls", store);
        assertEquals(0, later.code(), later.out() + later.err());
        assertEquals(1, later.err().lines().count(), "not recorded again, nothing but ls's own line: " + later.err());
        assertTrue(later.err().startsWith("no checkpoints in "), later.err());

        // back to the JVM of release 17: recorded again, and no native-access option (JDK 17 would turn its
        // archived module graph off for it)
        Files.delete(args);
        Path java17 = Files.createDirectories(tmp.resolve("jdk17/bin")).resolve("java");
        Files.copy(java, java17);
        assertTrue(java17.toFile().setExecutable(true));
        Files.writeString(java17.getParent().getParent().resolve("release"), "JAVA_VERSION=\"17.0.15\"\n");
        Run back = run(Map.of("PATH", java17.getParent() + ":" + System.getenv("PATH")), "bash", launcher, "ls", store);
        assertEquals(0, back.code(), back.out() + back.err());
        assertTrue(back.err().contains("recording its classes"), back.err());
        assertFalse(Files.readString(args).contains("--enable-native-access"), Files.readString(args));
    }

    /**
     * A directory to put first on PATH, holding a stand-in {@code java}: bash that runs
     * {@code training} (lines that act on the class-data training's command line) and otherwise,
     * or after them, execs this JVM. Returns the directory.
     */
    private Path standInTraining(String training) throws IOException {
        Path jdk = Files.createDirectories(tmp.resolve("jdk/bin"));
        String realJava = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Files.writeString(jdk.resolve("java"), "#!/bin/bash\n" + training + "exec '" + realJava + "' \"$@\"\n");
        assertTrue(jdk.resolve("java").toFile().setExecutable(true));
        return jdk;
    }

    /**
     * A training that fails (the JVM's crash while it writes the archive: exit 134) is tried at
     * most twice for the same jar; one killed by a signal from outside (SIGKILL, SIGTERM, an
     * impatient user's Ctrl-C) says nothing of the JVM and is not counted: two such kills turned
     * the archive off until the next build. The training here is a stand-in java, first on PATH,
     * that kills itself or exits 134 as a file says; the runs go to the real one.
     */
    @Test
    void aTrainingKilledBySignalIsNotCountedAsAFailureAndTwoCrashesTurnTheArchiveOff() throws Exception {
        Path repo = checkout();
        String launcher = repo.resolve("bin/ckpt-tool").toString();
        Path mode = tmp.resolve("training-mode");
        Path jdk = standInTraining("case \"$*\" in *ArchiveClassesAtExit*) case \"$(cat '" + mode + "')\" in\n"
                + "  KILL) kill -KILL $$ ;; TERM) kill -TERM $$ ;; CRASH) exit 134 ;; esac ;; esac\n");
        Map<String, String> env = Map.of("PATH", jdk + ":" + System.getenv("PATH"));
        Path jsa = repo.resolve("tools/target/ckpt-tool.jsa");
        for (String signal : new String[]{"KILL", "TERM", "KILL"}) {
            Files.writeString(mode, signal);
            Run r = run(env, "bash", launcher, "--version");
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("recording its classes"), signal + ", tried again: " + r.err());
            assertFalse(Files.exists(jsa), "no archive");
            assertFalse(Files.exists(Path.of(jsa + ".failed")), signal + ": not counted");
        }
        Files.writeString(mode, "CRASH");
        for (int i = 0; i < 2; i++) {
            Run r = run(env, "bash", launcher, "--version");
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("recording its classes"), "crash " + i + ": " + r.err());
        }
        Run off = run(env, "bash", launcher, "--version");
        assertEquals(0, off.code(), off.out() + off.err());
        assertFalse(off.err().contains("recording its classes"), "two crashes: not tried again for this jar: " + off.err());
        assertTrue(off.out().startsWith("ckpt-tool "), off.out());
    }

    /**
     * A signal to the launcher while the training records (timeout, Ctrl-C, a kill of the process
     * group) ends the training and the command, and leaves no partial archive: the training ran on
     * without the launcher and left its 14-28 MB temporary for good, and after Ctrl-C the command
     * ran on (helper-140). The training is a stand-in java that writes its temporary and sleeps.
     */
    @Test
    void aSignalToTheLauncherWhileItRecordsEndsTheTrainingAndLeavesNoTemporary() throws Exception {
        Path repo = checkout();
        String launcher = repo.resolve("bin/ckpt-tool").toString();
        Path pid = tmp.resolve("training.pid");
        Path jdk = standInTraining("for a in \"$@\"; do case \"$a\" in -XX:ArchiveClassesAtExit=*)\n"
                + "  head -c 100000 /dev/zero > \"${a#*=}\"; echo $$ > '" + pid + "'; exec sleep 60 ;; esac; done\n");
        for (String signal : new String[]{"TERM", "INT", "HUP"}) {
            Files.deleteIfExists(pid);
            ProcessBuilder pb = new ProcessBuilder("bash", launcher, "--version").redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("launcher-" + signal + ".out").toFile());
            pb.environment().put("PATH", jdk + ":" + System.getenv("PATH"));
            Process p = pb.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(pid) || Files.readString(pid).isBlank()) {
                assertTrue(System.nanoTime() < deadline && p.isAlive(), "the training did not start");
                Thread.sleep(20);
            }
            long training = Long.parseLong(Files.readString(pid).trim());
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
            assertEquals(0, kill.waitFor());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), signal + ": the launcher ended");
            assertEquals(Map.of("TERM", 143, "INT", 130, "HUP", 129).get(signal), p.exitValue(), signal);
            assertFalse(ProcessHandle.of(training).map(ProcessHandle::isAlive).orElse(false), signal + ": training ended");
            try (var files = Files.list(repo.resolve("tools/target"))) {
                List<String> left = files.map(f -> f.getFileName().toString()).filter(n -> n.contains(".jsa")).toList();
                assertEquals(List.of(), left, signal + ": no partial archive, no failure counted");
            }
            assertFalse(Files.readString(tmp.resolve("launcher-" + signal + ".out")).contains("ckpt-tool 0"),
                    signal + ": the command did not run");
        }
    }

    /**
     * zstd-jni's library as a file of its own ({@code ZstdLibrary}; docs/benchmarks.md, "Jars a CLI
     * run does not open"): the training writes it beside the archive, later runs load it from
     * there, and a run that finds it damaged writes it again and loads that, saying nothing.
     */
    @Test
    void theTrainingWritesZstdsLibraryLaterRunsLoadItAndADamagedOneIsWrittenAgain() throws Exception {
        Path repo = checkout();
        String launcher = repo.resolve("bin/ckpt-tool").toString();
        Path lib = repo.resolve("tools/target/libzstd-jni.so");
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] data = new byte[3 << 20];
        for (int i = 0; i < data.length; i += 8) {
            data[i] = (byte) (i >> 12);
        }
        Files.write(src.resolve("model.bin"), data);
        String store = tmp.resolve("store").toString();
        Path log = tmp.resolve("library.log");

        Run first = run(Map.of(), "bash", launcher, "push", store, src.toString(), "--run", "r", "--step", "1",
                "--progress", "none");
        assertEquals(0, first.code(), first.out() + first.err());
        assertTrue(Files.size(lib) > 100_000, "the training wrote zstd's library: " + lib);
        // a launcher with a time in the future (copied from a machine whose clock is ahead) is not a reason to record
        // the archive again on every run: its class path is what counts (helper-134)
        Files.setLastModifiedTime(Path.of(launcher), java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().plus(java.time.Duration.ofHours(1))));

        Run restore = run(Map.of("CKPT_JAVA_OPTS", "-Xlog:library=info:file=" + log), "bash", launcher, "restore", store,
                "r@1", tmp.resolve("out1").toString(), "--progress", "none");
        assertEquals(0, restore.code(), restore.out() + restore.err());
        assertArrayEquals(data, Files.readAllBytes(tmp.resolve("out1/model.bin")));
        assertFalse(restore.err().contains("recording"), restore.err());
        List<String> zstd = Files.readAllLines(log).stream().filter(l -> l.contains("Loaded library") && l.contains("zstd"))
                .toList();
        assertEquals(1, zstd.size(), zstd.toString());
        assertTrue(zstd.get(0).contains("Loaded library " + lib), "loaded from the file: " + zstd);

        byte[] good = Files.readAllBytes(lib);
        Files.writeString(lib, "damaged\n"); // not as written: the next run writes it again, and loads that
        Files.delete(log);
        Files.writeString(src.resolve("model.bin"), "step 2\n", java.nio.file.StandardOpenOption.APPEND);
        Run damaged = run(Map.of("CKPT_JAVA_OPTS", "-Xlog:library=info:file=" + log), "bash", launcher, "push", store,
                src.toString(), "--run", "r", "--step", "2", "--progress", "none");
        assertEquals(0, damaged.code(), damaged.out() + damaged.err());
        assertFalse(damaged.err().contains("warning") || damaged.err().contains("libzstd"),
                "nothing said of the damaged file: " + damaged.err());
        zstd = Files.readAllLines(log).stream().filter(l -> l.contains("Loaded library") && l.contains("zstd")).toList();
        assertEquals(1, zstd.size(), zstd.toString());
        assertTrue(zstd.get(0).contains("Loaded library " + lib.getParent() + "/.libzstd-jni.so."),
                "the library written again, loaded as it was checked: " + zstd);
        assertArrayEquals(good, Files.readAllBytes(lib), "written whole again");
        Run back = run(Map.of(), "bash", launcher, "restore", store, "r@2", tmp.resolve("out2").toString(),
                "--progress", "none");
        assertEquals(0, back.code(), back.out() + back.err());
        assertArrayEquals(Files.readAllBytes(src.resolve("model.bin")), Files.readAllBytes(tmp.resolve("out2/model.bin")));
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

package dev.ckpt.trainer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/ckpt-train's command line for the JVM, seen by a stand-in {@code java} first on PATH in a
 * checkout whose jars are built: the JVM is the last word of a training's launch, so this is
 * what it is given.
 */
class TrainLauncherTest {
    @TempDir
    Path tmp;

    /**
     * Native access is allowed: on JDK 22 and later loading zstd-jni's and PyTorch's libraries
     * otherwise printed 4 warning lines on every training's stderr (Temurin 25, checked by hand;
     * JDK 17 takes the option). A user's CKPT_JAVA_OPTS come after the launcher's, to override.
     */
    @Test
    void theTrainingAllowsNativeAccessAndTheUsersOptionsComeAfterTheLaunchers() throws Exception {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("bin/ckpt-train"))) {
            dir = dir.getParent();
        }
        assertTrue(dir != null, "bin/ckpt-train not found above " + System.getProperty("user.dir"));
        Path repo = tmp.resolve("checkout");
        Files.createDirectories(repo.resolve("bin"));
        Files.createDirectories(repo.resolve("trainer/target/lib"));
        Files.copy(dir.resolve("bin/ckpt-train"), repo.resolve("bin/ckpt-train"));
        Files.writeString(repo.resolve("trainer/target/ckpt-trainer.jar"), "built"); // no sources newer: no build
        Path bin = Files.createDirectories(tmp.resolve("jdk/bin"));
        Path log = tmp.resolve("java-args.txt");
        Files.writeString(bin.resolve("java"), "#!/bin/bash\nprintf '%s\\n' \"$@\" > '" + log + "'\n");
        Files.setPosixFilePermissions(bin.resolve("java"), PosixFilePermissions.fromString("rwx------"));

        ProcessBuilder pb = new ProcessBuilder("bash", repo.resolve("bin/ckpt-train").toString(), "--steps", "3")
                .redirectErrorStream(true).directory(tmp.toFile());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("CKPT_JAVA_OPTS", "-Xmx300m");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        List<String> args = Files.readAllLines(log);
        assertTrue(args.contains("--enable-native-access=ALL-UNNAMED"), args.toString());
        assertTrue(args.indexOf("--enable-native-access=ALL-UNNAMED") < args.indexOf("-Xmx300m"), args.toString());
        assertEquals(List.of("dev.ckpt.trainer.Trainer", "--steps", "3"), args.subList(args.size() - 3, args.size()));
        assertEquals("", out, "the launcher said nothing of its own");
    }
}

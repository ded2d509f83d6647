package dev.ckpt.tools;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckpt.store.manifest.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A push by hand whose run another push claims between its own claim and its commit is
 * fenced: exit 4, nothing committed, and advice naming the store's ls command (the advice
 * printed the Java object of the store, "dev.ckpt.store.CheckpointStore@…", found in review).
 * The other claim is made here in ROOT itself, while this test holds ROOT's lock so the push's
 * commit waits for it.
 */
class FencedPushCliTest {
    @TempDir
    Path tmp;

    @Test
    void aPushWhoseRunIsClaimedBeforeItsCommitIsFencedWithAdviceNamingTheStore() throws Exception {
        Path src = dev.ckpt.store.testing.TestDirs.checkpoint(tmp.resolve("src"), 8, 4, 8 << 20); // 32 MiB or more
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path store = tmp.resolve("it's a store");
        assertEquals(0, cli.run("init", store.toString()).code());
        Path root = store.resolve("ROOT");
        var initialized = Files.getLastModifiedTime(root);
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ROOT".getBytes(StandardCharsets.UTF_8)));
        Path lockFile = store.resolve(".locks").resolve(md5 + ".lock");
        Files.createDirectories(lockFile.getParent());
        Path err = tmp.resolve("err.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", ChildCli.shippedClassPath(), CkptTool.class.getName(), "push",
                store.toString(), src.toString(), "--run", "r", "--step", "1", "--progress", "none")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        try {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (Files.getLastModifiedTime(root).equals(initialized) && p.isAlive() && System.nanoTime() < until) {
                Thread.sleep(1); // the push's claim of the run
            }
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock held = ch.lock()) {
                assertTrue(held.isValid());
                // another push claims the run: its writer epoch goes up, as a claim writes it
                ObjectNode r = (ObjectNode) Json.MAPPER.readTree(Files.readAllBytes(root));
                ObjectNode run = (ObjectNode) r.get("runs").get("r");
                run.put("writerEpoch", run.get("writerEpoch").asLong() + 1);
                run.put("writerId", "another-push");
                r.put("version", r.get("version").asLong() + 1);
                r.put("txn", "0123456789abcdef01234567");
                Path next = store.resolve(".ROOT.next");
                Files.write(next, Json.MAPPER.writeValueAsBytes(r));
                Files.move(next, root, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the push ends");
            String e = Files.readString(err);
            assertEquals(ExitCode.FENCED_OR_CONFLICT, p.exitValue(), e);
            assertTrue(e.contains("this push of step 1 committed nothing: another push or job claimed run 'r' after it did"
                    + " (ckpt-tool ls " + dev.ckpt.store.util.ShellWords.word(store.toUri().toString()) + " --run r shows what is committed); to save " + src
                    + " anyway, push it again"), e);
            assertFalse(e.contains("CheckpointStore@") || e.contains("dev.ckpt"), e);
            assertEquals(0, cli.run("ls", store.toString(), "--json").json().get("checkpoints").size(), "nothing committed");
        } finally {
            p.destroyForcibly();
        }
    }
}

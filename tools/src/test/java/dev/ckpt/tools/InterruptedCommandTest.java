package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A command ended by a signal (Ctrl-C's SIGINT, SIGTERM) says so and what it left: a push
 * killed with Ctrl-C had exited 130 with nothing on stderr but its first progress line
 * (helper-91, a new-user tryout). Runs the program in a child JVM, since the message is said
 * by a shutdown hook of the program only.
 */
class InterruptedCommandTest {
    @TempDir
    Path tmp;

    /**
     * The push waits for ROOT's lock (held here, as a hung writer would) when SIGTERM comes:
     * exit 143 and "nothing was committed", and nothing is.
     */
    @Test
    void aPushEndedBySigtermSaysNothingWasCommitted() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path store = tmp.resolve("store");
        assertEquals(0, cli.run("init", store.toString()).code());
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ROOT".getBytes(StandardCharsets.UTF_8)));
        Path lockFile = store.resolve(".locks").resolve(md5 + ".lock");
        Files.createDirectories(lockFile.getParent());
        Path err = tmp.resolve("err.txt");
        int code;
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock held = ch.lock()) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "-cp", ChildCli.shippedClassPath(), CkptTool.class.getName(), "push",
                    store.toString(), src.toString(), "--run", "r", "--step", "1", "--progress", "plain")
                    .redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(err.toFile()).start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (p.isAlive() && System.nanoTime() < until && !Files.readString(err).contains("push " + src + " ...")) {
                Thread.sleep(50); // its progress line: the command runs, and the claim goes for ROOT's lock at once
            }
            Thread.sleep(1500);
            assertTrue(p.isAlive(), "the push waits for ROOT's lock (held here): " + Files.readString(err));
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the push ended on SIGTERM");
            code = p.exitValue();
        }
        String e = Files.readString(err);
        assertEquals(143, code, e);
        assertTrue(e.contains("ckpt-tool push: interrupted before it finished; nothing was committed; running it again"
                + " is safe"), e);
        assertFalse(e.contains("Exception") || e.contains("\tat "), e);
        JsonNode ls = cli.run("ls", store.toString(), "--json").json();
        assertEquals(0, ls.get("checkpoints").size(), "nothing was committed");
    }

    /** A command that ends by itself says nothing of the kind: the hook is for a JVM a signal ends. */
    @Test
    void aCommandThatFinishesSaysNothingOfAnInterruption() throws Exception {
        Path store = tmp.resolve("store");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", ChildCli.shippedClassPath(), CkptTool.class.getName(), "push",
                store.toString(), src.toString(), "--run", "r", "--step", "1").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertFalse(out.contains("interrupted"), out);
    }

    /**
     * What the message says after a commit was sent comes from the save itself: the progress
     * hears {@code committing} with the checkpoint's id before the write of ROOT, and not before.
     */
    @Test
    void theProgressOfASaveKnowsWhenItsCommitWasSent() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        OutputOptions.Progress p = new OutputOptions.Progress(new PrintWriter(new StringWriter()), "push",
                OutputOptions.ProgressMode.none, true);
        assertNull(p.committingId());
        SaveResult saved;
        try (CheckpointStore store = CheckpointStore.open(tmp.resolve("store").toString())) {
            saved = store.save(store.claimWriter("r"), new SaveRequest(src, "r", 1, null, Map.of(), null, null), p);
        }
        assertEquals(saved.checkpointId(), p.committingId());
    }

    /**
     * The bar a signal puts on a save that sent no commit yet (helper-92: a push said "nothing was
     * committed", then its commit landed): every later {@code committing} throws, so no write of
     * ROOT goes out. Once a commit was sent, there is no bar: the signal waits for it instead.
     */
    @Test
    void anInterruptedVerifyRecordSaysWhetherItsWriteOfRootHadBegun() {
        VerifyCommand v = new VerifyCommand();
        v.store = "/s t";
        assertEquals("nothing was changed", v.interrupted(null));
        v.record = true;
        assertEquals("nothing was recorded (it records after every byte is read); run it again", v.interrupted(null));
        v.recording = true; // set just before store.recordVerified
        assertTrue(v.interrupted(null).startsWith("its record of the checkpoints it verified in ROOT was being written, and may"
                + " or may not have landed; check with ckpt-tool show '/s t' CKPT"), v.interrupted(null));
    }

    @Test
    void aSignalBarsACommitNotYetSentAndOnlyThat() {
        OutputOptions.Progress before = new OutputOptions.Progress(new PrintWriter(new StringWriter()), "push",
                OutputOptions.ProgressMode.none, true);
        assertTrue(before.barCommit(), "no commit sent: barred");
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> before.committing("r-s1-x"));
        assertTrue(e.getMessage().contains("nothing was committed"), e.getMessage());
        assertNull(before.committingId());

        OutputOptions.Progress after = new OutputOptions.Progress(new PrintWriter(new StringWriter()), "push",
                OutputOptions.ProgressMode.none, true);
        after.committing("r-s1-y");
        assertFalse(after.barCommit(), "a commit was sent: not barred, it may land");
        after.committing("r-s1-y"); // a second attempt of the same commit (a 412 re-read) is not refused
        assertEquals("r-s1-y", after.committingId());
    }

    /**
     * SIGTERM while the push's commit is in flight (its write of ROOT waits for ROOT's lock, held
     * here once the claim has written ROOT): the signal waits for the commit, which lands when the
     * lock is let go, and the push exits 0 with its result, no interrupted line and a line saying
     * the signal was waited out (the hook it replaced printed the result and exited 143: helper-92). A second signal ends the wait at
     * once: exit 143, "it may have landed".
     */
    @Test
    void aSignalDuringACommitWaitsForItAndASecondOneEndsTheWait() throws Exception {
        Path src = sourceOfAboutASecond();
        for (boolean second : new boolean[] {false, true}) {
            Cli cli = new Cli(Map.of(), "--progress", "none");
            Path store = tmp.resolve(second ? "store2" : "store1");
            Path out = tmp.resolve("out-" + second + ".txt");
            Path err = tmp.resolve("err-" + second + ".txt");
            try (PushAtItsCommit push = PushAtItsCommit.start(cli, store, List.of("push", store.toString(), src.toString()),
                    ProcessBuilder.Redirect.to(out.toFile()), err)) {
                Process p = push.process;
                p.destroy(); // SIGTERM
                if (second) {
                    Thread.sleep(1000);
                    assertTrue(p.isAlive(), "the signal waits for the commit in flight");
                    p.destroy();
                    assertTrue(p.waitFor(5, TimeUnit.SECONDS), "a second signal ends the wait at once");
                    push.held.release();
                    assertEquals(143, p.exitValue(), Files.readString(err));
                    assertTrue(Files.readString(err).contains("ckpt-tool push: interrupted before it finished; the commit of"
                            + " checkpoint r-s1-") && Files.readString(err).contains("it may have landed"), Files.readString(err));
                } else {
                    Thread.sleep(1500);
                    push.held.release();
                    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                    String e = Files.readString(err);
                    assertEquals(0, p.exitValue(), e);
                    assertFalse(e.contains("interrupted"), e);
                    // and says the signal came and was waited out (helper-122: no word of it)
                    assertTrue(e.strip().endsWith("ckpt-tool push: SIGTERM came while its commit had been sent; it finished"
                            + " first, and its result stands"), e);
                    assertTrue(Files.readString(out).startsWith("r-s1-"), "its result: " + Files.readString(out));
                    assertEquals(1, cli.run("ls", store.toString(), "--json").json().get("checkpoints").size());
                }
            }
        }
    }

    /**
     * A second SIGTERM once the commit returned, while the push says its result (its stdout, a
     * pipe filled here, holds the id back): the result stands, exit 0, and no "interrupted" line.
     * It had exited 143 saying the commit "may have landed" beside the printed id (helper-128).
     */
    @ParameterizedTest
    @ValueSource(strings = {"push", "import"})
    void aSecondSignalAfterTheCommitReturnedLetsTheResultStand(String command) throws Exception {
        Path src = sourceOfAboutASecond();
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path store = tmp.resolve("store");
        Path err = tmp.resolve("err.txt");
        String from = src.toString();
        if (command.equals("import")) { // an archive of the same files, exported from another store
            Path other = tmp.resolve("other");
            assertEquals(0, cli.run("init", other.toString()).code());
            assertEquals(0, cli.run("push", other.toString(), from, "--run", "e", "--step", "1").code());
            from = tmp.resolve("e.tar.zst").toString();
            assertEquals(0, cli.run("export", other.toString(), "e@1", from).code());
        }
        try (PushAtItsCommit push = PushAtItsCommit.start(cli, store, List.of(command, store.toString(), from),
                ProcessBuilder.Redirect.PIPE, err)) {
            Process p = push.process;
            p.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its stdout)
            Thread.sleep(500);
            assertTrue(p.isAlive(), "the first signal waits for the commit: " + Files.readString(err));
            // fill the push's stdout (a pipe of 64 KiB on Linux; more is written here, from a thread that
            // blocks once it is full) so that its result, once committed, cannot be written until read
            Thread filler = new Thread(() -> {
                try (var fill = new java.io.FileOutputStream("/proc/" + p.pid() + "/fd/1")) {
                    byte[] dots = new byte[4096];
                    java.util.Arrays.fill(dots, (byte) '.');
                    for (int i = 0; i < 64; i++) {
                        fill.write(dots);
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            filler.start();
            Thread.sleep(500);
            assertTrue(filler.isAlive(), "the pipe is full");
            push.held.release(); // the commit lands
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (Files.getLastModifiedTime(store.resolve("ROOT")).equals(push.claimed) && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertTrue(cli.run("ls", store.toString(), "--json").json().get("checkpoints").size() == 1, "committed");
            Thread.sleep(1000); // the push is saying its result, held back by the full pipe
            p.toHandle().destroy(); // a second SIGTERM
            Thread.sleep(1500);
            assertTrue(p.isAlive(), "the second signal waits for the result: " + Files.readString(err));
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).replace(".", "");
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            filler.join(10_000);
            String e = Files.readString(err);
            assertEquals(0, p.exitValue(), e);
            assertFalse(e.contains("interrupted"), e);
            assertTrue(e.strip().endsWith("ckpt-tool " + command + ": SIGTERM came while its commit had been sent; it"
                    + " finished first, and its result stands"), e);
            assertTrue(out.strip().matches("r-s1-[0-9a-f]+"), "its result: " + out);
        }
    }

    /** 64 MiB of random bytes: about a second of upload, the window between the claim and the commit. */
    private Path sourceOfAboutASecond() throws java.io.IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] block = new byte[1 << 20];
        java.util.Random random = new java.util.Random(7);
        try (var out = Files.newOutputStream(src.resolve("w.bin"))) {
            for (int i = 0; i < 64; i++) {
                random.nextBytes(block);
                out.write(block);
            }
        }
        return src;
    }

    /**
     * A save ({@code command}: push or import, STORE, then what it saves) of run r step 1 in a child JVM whose commit waits: ROOT's lock is taken here once the
     * claim wrote ROOT, and held ({@link #held}) past the manifest's write, so its write of ROOT waits.
     */
    private record PushAtItsCommit(Process process, FileChannel lock, FileLock held, java.nio.file.attribute.FileTime claimed)
            implements AutoCloseable {
        static PushAtItsCommit start(Cli cli, Path store, List<String> command, ProcessBuilder.Redirect out, Path err)
                throws Exception {
            assertEquals(0, cli.run("init", store.toString()).code());
            Path root = store.resolve("ROOT");
            java.nio.file.attribute.FileTime initialized = Files.getLastModifiedTime(root);
            String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ROOT".getBytes(StandardCharsets.UTF_8)));
            Path lockFile = store.resolve(".locks").resolve(md5 + ".lock");
            Files.createDirectories(lockFile.getParent());
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> argv = new java.util.ArrayList<>(List.of(java, "-cp", ChildCli.shippedClassPath(), CkptTool.class.getName()));
            argv.addAll(command);
            argv.addAll(List.of("--run", "r", "--step", "1", "--progress", "none"));
            Process p = new ProcessBuilder(argv).redirectOutput(out).redirectError(err.toFile()).start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (Files.getLastModifiedTime(root).equals(initialized) && p.isAlive() && System.nanoTime() < until) {
                Thread.sleep(1); // the claim's write of ROOT
            }
            java.nio.file.attribute.FileTime claimed = Files.getLastModifiedTime(root);
            FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock held = ch.lock();
            Path manifests = store.resolve("manifests");
            while (p.isAlive() && System.nanoTime() < until && !(Files.isDirectory(manifests) && hasAny(manifests))) {
                Thread.sleep(5); // the manifest is stored just before the commit
            }
            Thread.sleep(500); // the commit waits for the lock held here
            assertTrue(p.isAlive(), "the " + command.get(0) + " waits to commit: " + Files.readString(err));
            return new PushAtItsCommit(p, ch, held, claimed);
        }

        @Override
        public void close() throws java.io.IOException {
            process.destroyForcibly();
            lock.close();
        }
    }

    private static boolean hasAny(Path dir) throws java.io.IOException {
        try (var l = Files.list(dir)) {
            return l.findAny().isPresent();
        }
    }
}

package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A restore, an export or an import stopped by SIGTERM while it writes removes what it wrote
 * before it exits 143, and says so: they had left their temporaries, the line telling the user
 * to delete them (helper-95). A restore leaves its target as it was.
 */
class StoppedAtSignalTest {
    @TempDir
    Path tmp;
    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    /** r@1 in a new store: 8 files of 16 MiB of random bytes, f0.bin ... f7.bin. */
    private Path store() throws Exception {
        Path src = dev.ckpt.store.testing.TestDirs.randomFiles(tmp.resolve("src"), "f", 8, 16 << 20, 5);
        Path store = tmp.resolve("store");
        Cli.Result push = cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, push.code(), push.toString());
        return store;
    }

    /** The result of a stopped child: its exit code and its output; null if it ended before {@code ready}. */
    private record Stopped(int code, String out) {
    }

    /** Runs ckpt-tool {@code args} in its own JVM, and SIGTERMs it once {@code ready} holds; null if it ended first. */
    private static Stopped stopWhen(Predicate<Void> ready, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), CkptTool.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            boolean seen = false;
            while (p.isAlive() && System.nanoTime() < end && !(seen = ready.test(null))) {
                Thread.onSpinWait();
            }
            if (!seen || !p.isAlive()) {
                p.waitFor(60, TimeUnit.SECONDS);
                return null;
            }
            new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor(); // destroy() closes the streams
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
            return new Stopped(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static List<String> names(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (Exception e) {
            return List.of();
        }
    }

    private static boolean holds(Path dir, String suffix) {
        return names(dir).stream().anyMatch(n -> n.startsWith(".ckpt-") && n.endsWith(suffix));
    }

    /** Tries a stop up to 5 times: each try may come too late (the command done, or in its last step). */
    private static Stopped stopped(java.util.concurrent.Callable<Stopped> attempt) throws Exception {
        for (int i = 0; i < 5; i++) {
            Stopped s = attempt.call();
            if (s != null && s.code() != 0) {
                return s;
            }
        }
        throw new AssertionError("no attempt was stopped while it wrote");
    }

    @Test
    void aRestoreStoppedWhileItWritesLeavesItsTargetAsItWas() throws Exception {
        Path store = store();
        Path target = Files.createDirectories(tmp.resolve("target dir"));
        Files.writeString(target.resolve("user.txt"), "a user's file");
        Files.writeString(target.resolve("f0.bin"), "an older f0.bin");
        Stopped s = stopped(() -> stopWhen(x -> holds(target, ".tmp"), "restore", store.toString(), "r@1",
                target.toString(), "--progress", "none"));
        assertEquals(143, s.code(), s.out());
        assertTrue(s.out().contains("ckpt-tool restore: interrupted before it finished; nothing was written: " + target
                + " is as it was (the temporaries the restore was writing there, and any directory it had made, were"
                + " removed)"), s.out());
        assertEquals(List.of("f0.bin", "user.txt"), names(target), "no temporary left");
        assertEquals("an older f0.bin", Files.readString(target.resolve("f0.bin")));
    }

    @Test
    void anExportStoppedWhileItRestoresOrPacksLeavesNothing() throws Exception {
        Path store = store();
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path archive = out.resolve("r1.tar.zst");
        Stopped s = stopped(() -> stopWhen(x -> holds(out, "-export"), "export", store.toString(), "r@1",
                archive.toString(), "--progress", "none"));
        assertEquals(143, s.code(), s.out());
        assertTrue(s.out().contains("ckpt-tool export: interrupted before it finished; " + archive + " was not written;"
                + " the directory where the checkpoint was being restored and packed was removed"), s.out());
        assertEquals(List.of(), names(out));

        // while it packs: the streams it packs with do not heed an interrupt, and such an export ran on to exit 0
        Stopped packing = stopped(() -> stopWhen(x -> names(out).stream().anyMatch(n -> n.endsWith("-export")
                && Files.exists(out.resolve(n).resolve("a.tmp"))), "export", store.toString(), "r@1", archive.toString(),
                "--progress", "none"));
        assertEquals(143, packing.code(), packing.out());
        assertTrue(packing.out().contains(archive + " was not written; the directory where the checkpoint was being"
                + " restored and packed was removed"), packing.out());
        assertEquals(List.of(), names(out));
    }

    @Test
    void anImportStoppedWhileItUnpacksOrSavesLeavesNothing() throws Exception {
        Path store = store();
        Path archive = tmp.resolve("r1.tar.zst");
        assertEquals(0, cli.run("export", store.toString(), "r@1", archive.toString()).code());
        Stopped s = stopped(() -> stopWhen(x -> holds(store, "-import"), "import", store.toString(), archive.toString(),
                "--run", "imported", "--step", "1", "--progress", "none"));
        assertEquals(143, s.code(), s.out());
        assertTrue(s.out().contains("ckpt-tool import: interrupted before it finished; nothing was imported; the"
                + " directory the archive was being unpacked in was removed; importing again is safe"), s.out());
        assertFalse(holds(store, "-import"), "no staging directory left: " + names(store));
        assertEquals(0, cli.run("ls", store.toString(), "--run", "imported", "--json").json().get("checkpoints").size());
    }

    /**
     * A push stopped while it uploads removes the temporaries of its uploads (helper-103: 29 MB of
     * chunks/xx/.tmp-* were left for gc to remove an hour later), says nothing was committed, and
     * a push again commits.
     */
    @Test
    void aPushStoppedWhileItUploadsLeavesNoTemporary() throws Exception {
        Path src = dev.ckpt.store.testing.TestDirs.randomFiles(tmp.resolve("src"), "f", 8, 16 << 20, 5);
        Path store = tmp.resolve("store");
        assertEquals(0, cli.run("init", store.toString()).code());
        Stopped s = stopped(() -> stopWhen(x -> !temporaries(store).isEmpty(), "push", store.toString(), src.toString(),
                "--run", "r", "--step", "1", "--progress", "none"));
        assertEquals(143, s.code(), s.out());
        assertTrue(s.out().contains("ckpt-tool push: interrupted before it finished; nothing was committed; running it"
                + " again is safe") && s.out().contains("; the uploads in flight were stopped, and removed what they had"
                + " written"), s.out());
        assertEquals(List.of(), temporaries(store));
        assertEquals(0, cli.run("ls", store.toString(), "--json").json().get("checkpoints").size());
        assertEquals(0, cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "1").code());
    }

    /** The temporaries of uploads in a local store: chunks/xx/.tmp-*. */
    private static List<String> temporaries(Path store) {
        try (Stream<Path> s = Files.walk(store.resolve("chunks"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp-")).toList();
        } catch (Exception e) {
            return List.of(); // no chunks/ yet, or one went while walked
        }
    }

    /**
     * A signal once the archive is in place (its staging directory being removed) never says
     * it was not written: the export ends with its result (exit 0), or says it was written
     * (helper-96: "was not written", 4 times out of 4, of a complete archive).
     */
    @Test
    void anExportSignalledOnceItsArchiveIsInPlaceNeverSaysItWasNotWritten() throws Exception {
        Path store = store();
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path archive = out.resolve("r1.tar.zst");
        for (int i = 0; i < 3; i++) {
            Files.deleteIfExists(archive);
            Stopped s = stopWhen(x -> Files.exists(archive), "export", store.toString(), "r@1", archive.toString(),
                    "--progress", "none");
            if (s == null) {
                continue;
            }
            assertTrue(Files.exists(archive), s.out());
            assertTrue(s.code() == 0 && s.out().contains("exported ") || s.code() == 143 && s.out().contains(archive
                    + " was written, whole"), s.out());
            assertTrue(!s.out().contains("was not written"), s.out());
            assertEquals(List.of("r1.tar.zst"), names(out), "the staging directory is removed");
        }
    }

    /**
     * Two signals while a restore renames its files into place: the renames run to their end
     * (exit 0, every file new) or never began (exit 143, every file old); never a mix, and no
     * user's file left only in a {@code .ckpt-*.old} (helper-97: a second Ctrl-C cut the renames
     * of 20,000 files short).
     */
    @Test
    void twoSignalsDuringARestoresRenamesNeverLeaveAMix() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("many"));
        for (int i = 0; i < 4000; i++) {
            Files.writeString(src.resolve("f" + i + ".json"), "{\"new\": " + i + "}");
        }
        Path store = tmp.resolve("store");
        assertEquals(0, cli.run("push", store.toString(), src.toString(), "--run", "m", "--step", "1").code());
        Path target = tmp.resolve("target");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int mixed = 0;
        for (int attempt = 0; attempt < 4; attempt++) {
            dev.ckpt.store.util.LocalFiles.deleteTree(target);
            Files.createDirectories(target);
            for (int i = 0; i < 4000; i++) {
                Files.writeString(target.resolve("f" + i + ".json"), "old");
            }
            Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    CkptTool.class.getName(), "restore", store.toString(), "m@1", target.toString(), "--progress", "none")
                    .redirectErrorStream(true).start();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // the first attempts once it writes, the later ones once it renames (a replaced file's .old appears)
            String mark = attempt < 2 ? ".tmp" : ".old";
            while (p.isAlive() && System.nanoTime() < end && names(target).stream().noneMatch(n -> n.endsWith(mark))) {
                Thread.onSpinWait();
            }
            new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
            Thread.sleep(20);
            new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
            List<String> left = names(target);
            long olds = 0;
            for (String n : left) {
                if (n.startsWith("f") && Files.readString(target.resolve(n)).equals("old")) {
                    olds++;
                }
            }
            assertEquals(4000, left.size(), "no file missing, no temporary or .old left (exit " + p.exitValue() + "): "
                    + left.stream().filter(n -> n.startsWith(".")).limit(3).toList() + " " + out);
            assertTrue(p.exitValue() == 0 ? olds == 0 : olds == 4000, "exit " + p.exitValue() + " with " + olds
                    + " old files: " + out);
            mixed += olds > 0 && olds < 4000 ? 1 : 0;
        }
        assertEquals(0, mixed);
    }
}

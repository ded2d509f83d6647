package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A push SIGKILLed while it writes a chunk into a local store leaves the chunk's temporary
 * file, which no listing shows; {@code ckpt-tool gc} removes it once it is over an hour old,
 * says so, and a dry run says what it would remove. The store stays whole.
 */
class GcLeftoversCliTest {
    @TempDir
    Path tmp;
    private final Cli cli = new Cli(Map.of());

    private static List<Path> temporaries(Path store) throws Exception {
        try (Stream<Path> s = Files.walk(store)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList();
        }
    }

    /** Starts a push of {@code src} in its own JVM and SIGKILLs it as soon as a chunk's temporary file exists. */
    private static void pushKilledMidWrite(Path store, Path src, int step) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                CkptTool.class.getName(), "push", store.toString(), src.toString(), "--run", "r", "--step",
                Integer.toString(step), "--progress", "none").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (p.isAlive() && System.nanoTime() < end) {
                if (Files.isDirectory(store.resolve("chunks")) && !temporaries(store.resolve("chunks")).isEmpty()) {
                    break;
                }
                Thread.onSpinWait();
            }
        } finally {
            p.destroyForcibly(); // SIGKILL
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void gcRemovesTheTemporariesOfAPushKilledMidWriteOnceTheyAreAnHourOld() throws Exception {
        Path store = tmp.resolve("store");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Random random = new Random(12);
        for (int i = 0; i < 12; i++) { // incompressible 8 MiB chunks: each write and fsync takes a while
            byte[] b = new byte[8 << 20];
            random.nextBytes(b);
            Files.write(src.resolve("shard-" + i + ".bin"), b);
        }
        List<Path> left = List.of();
        for (int attempt = 1; attempt <= 8 && left.isEmpty(); attempt++) {
            pushKilledMidWrite(store, src, attempt);
            left = temporaries(store);
        }
        assertTrue(!left.isEmpty(), "no push was killed between writing a chunk's temporary and renaming it");
        long bytes = 0;
        for (Path p : left) {
            bytes += Files.size(p);
        }

        Cli.Result young = cli.run("gc", store.toString(), "--grace", "0s", "--json");
        assertEquals(0, young.code(), young.toString());
        assertEquals(0, young.json().get("leftoverFiles").asInt(), "under an hour old: may be a write in progress");
        assertEquals(left, temporaries(store));

        FileTime twoHoursAgo = FileTime.from(Instant.now().minusSeconds(7200));
        for (Path p : left) {
            Files.setLastModifiedTime(p, twoHoursAgo);
        }
        Cli.Result dry = cli.run("gc", store.toString(), "--dry-run");
        assertEquals(0, dry.code(), dry.toString());
        assertTrue(dry.out().contains("would remove " + (left.size() == 1 ? "1 temporary file" : left.size()
                + " temporary files") + " of interrupted writes ("), dry.toString());
        assertEquals(left, temporaries(store), "a dry run removes nothing");
        Cli.Result real = cli.run("gc", store.toString(), "--json");
        assertEquals(0, real.code(), real.toString());
        JsonNode j = real.json();
        assertEquals(left.size(), j.get("leftoverFiles").asInt(), real.toString());
        assertEquals(bytes, j.get("leftoverBytes").asLong(), real.toString());
        assertEquals(List.of(), temporaries(store));

        Cli.Result push = cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "100",
                "--progress", "none");
        assertEquals(0, push.code(), push.toString());
        Cli.Result verify = cli.run("verify", store.toString(), "--read-data");
        assertEquals(0, verify.code(), verify.toString());
        Cli.Result again = cli.run("gc", store.toString());
        assertEquals(0, again.code(), again.toString());
        assertTrue(!again.out().contains("temporary"), "nothing left to remove: " + again);
    }

    /**
     * An import SIGKILLed while it unpacks into a local store leaves its hidden staging
     * directory; gc keeps it while it is young (an import running refreshes it every minute)
     * and removes it whole once it is an hour old (a break helper's case: 878 MB left for good).
     */
    @Test
    void gcRemovesTheStagingDirectoryOfAnImportKilledMidUnpackOnceItIsAnHourOld() throws Exception {
        Path store = tmp.resolve("store");
        Path archive = exported(store, 12, 8 << 20, "shard-");

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Path> staging = List.of();
        for (int attempt = 1; attempt <= 8 && staging.isEmpty(); attempt++) {
            Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    CkptTool.class.getName(), "import", store.toString(), archive.toString(), "--run", "imported",
                    "--step", Integer.toString(attempt), "--progress", "none").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (p.isAlive() && System.nanoTime() < end && stagingFiles(store) < 2) {
                    Thread.onSpinWait();
                }
            } finally {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            staging = stagingDirectories(store);
        }
        assertEquals(1, staging.size(), "no import was killed while it unpacked: " + staging);
        Path left = staging.get(0);
        keptWhileYoung(cli, store, left);

        long files;
        long bytes = 0;
        try (Stream<Path> s = Files.walk(left)) {
            List<Path> all = s.filter(Files::isRegularFile).toList();
            files = all.size();
            for (Path f : all) {
                bytes += Files.size(f);
            }
        }
        Files.setLastModifiedTime(left, FileTime.from(Instant.now().minusSeconds(7200)));
        Cli.Result dry = cli.run("gc", store.toString(), "--dry-run");
        assertTrue(dry.out().contains("would remove " + left + ", the staging directory of an import killed or stopped"
                + " over an hour ago (" + files + " files, "), dry.toString());
        Cli.Result real = cli.run("gc", store.toString(), "--json");
        assertEquals(0, real.code(), real.toString());
        assertEquals(files, real.json().get("leftoverFiles").asLong(), real.toString());
        assertEquals(bytes, real.json().get("leftoverBytes").asLong(), real.toString());
        assertTrue(!Files.exists(left), "removed whole: " + left);
        Cli.Result verify = cli.run("verify", store.toString(), "--read-data");
        assertEquals(0, verify.code(), verify.toString());
    }

    /**
     * An import whose staging directory lost a file while it was stopped (gc takes the
     * directory of an import stopped over an hour: SIGSTOP, a suspended VM) refuses to save
     * what is left: it committed a partial checkpoint that verified (a break helper's case).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"removed", "rewritten"})
    void anImportWhoseStagedFilesChangedWhileItWasStoppedCommitsNothing(String change) throws Exception {
        Path store = tmp.resolve("store");
        Path archive = exported(store, 6, 16 << 20, "f");

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        boolean tried = false;
        for (int attempt = 1; attempt <= 5 && !tried; attempt++) {
            Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    CkptTool.class.getName(), "import", store.toString(), archive.toString(), "--run", "imported",
                    "--step", Integer.toString(attempt), "--progress", "none").redirectErrorStream(true).start();
            try {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (p.isAlive() && System.nanoTime() < end && stagingFiles(store) < 2) {
                    Thread.onSpinWait();
                }
                if (!p.isAlive()) {
                    continue;
                }
                new ProcessBuilder("kill", "-STOP", Long.toString(p.pid())).start().waitFor();
                List<Path> staged = new java.util.ArrayList<>();
                for (Path d : stagingDirectories(store)) {
                    try (Stream<Path> s = Files.walk(d)) {
                        s.filter(Files::isRegularFile).forEach(staged::add);
                    }
                }
                // the first file unpacked is whole (the second began): as gc would, remove it
                Path first = staged.stream().filter(f -> f.toString().endsWith("f0.bin")).findFirst().orElse(null);
                new ProcessBuilder("kill", "-CONT", Long.toString(p.pid())).start().waitFor();
                if (first == null) {
                    p.waitFor(60, TimeUnit.SECONDS);
                    continue;
                }
                String said;
                if (change.equals("removed")) {
                    Files.delete(first);
                    said = "changed before they were saved (file f0.bin is gone;";
                } else { // in place, its size kept (helper-94: committed, and verify passed)
                    byte[] other = new byte[(int) Files.size(first)];
                    new Random(99).nextBytes(other);
                    Files.write(first, other);
                    said = "changed before or while they were saved (file " + first + " hashed to";
                }
                tried = true;
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                assertEquals(ExitCode.ERROR, p.exitValue(), out);
                assertTrue(out.contains(said) && out.contains("nothing was imported, importing again is safe"), out);
            } finally {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        assertTrue(tried, "no import was stopped between its first and its last file");
        Cli.Result ls = cli.run("ls", store.toString(), "--run", "imported", "--json");
        assertEquals(0, ls.json().get("checkpoints").size(), "nothing committed: " + ls);
    }

    /**
     * A killed import's or export's staging directory {@code left} in {@code store}: its
     * owner's only (no other user plants a link in it, or reads the checkpoint there), and
     * kept by a gc while it is under an hour old (such a command may be running).
     */
    static void keptWhileYoung(Cli cli, Path store, Path left) throws Exception {
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(left)));
        Cli.Result young = cli.run("gc", store.toString(), "--grace", "0s", "--json");
        assertEquals(0, young.code(), young.toString());
        assertEquals(0, young.json().get("leftoverFiles").asInt(), "under an hour old: it may be running");
        assertTrue(Files.isDirectory(left));
    }

    /**
     * An archive of r@1, pushed into {@code store} from {@code files} files of {@code size}
     * random bytes each, named {@code prefix0.bin}, {@code prefix1.bin}, ...
     */
    private Path exported(Path store, int files, int size, String prefix) throws Exception {
        Path src = dev.ckpt.store.testing.TestDirs.randomFiles(tmp.resolve("src"), prefix, files, size, 13);
        Cli.Result push = cli.run("push", store.toString(), src.toString(), "--run", "r", "--step", "1", "--progress", "none");
        assertEquals(0, push.code(), push.toString());
        Path archive = tmp.resolve("r1.tar.zst");
        Cli.Result export = cli.run("export", store.toString(), "r@1", archive.toString());
        assertEquals(0, export.code(), export.toString());
        return archive;
    }

    private static List<Path> stagingDirectories(Path store) throws Exception {
        try (Stream<Path> s = Files.list(store)) {
            return s.filter(p -> p.getFileName().toString().endsWith("-import")).toList();
        }
    }

    private static long stagingFiles(Path store) {
        try {
            long n = 0;
            for (Path d : stagingDirectories(store)) {
                try (Stream<Path> s = Files.walk(d)) {
                    n += s.filter(Files::isRegularFile).count();
                }
            }
            return n;
        } catch (Exception e) {
            return 0; // removed meanwhile
        }
    }

    /** A running import refreshes its staging directory's modification time, and stops when it ends. */
    @Test
    void anImportsHeartbeatRefreshesItsStagingDirectoryUntilClosed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(".ckpt-0123456789ab-import"));
        FileTime old = FileTime.from(Instant.now().minusSeconds(7200));
        Files.setLastModifiedTime(dir, old);
        try (Staging.Heartbeat beat = new Staging.Heartbeat(dir, java.time.Duration.ofMillis(20))) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (Files.getLastModifiedTime(dir).equals(old) && System.nanoTime() < end) {
                Thread.sleep(5);
            }
            assertTrue(Files.getLastModifiedTime(dir).toInstant().isAfter(Instant.now().minusSeconds(60)),
                    "refreshed while the import runs");
        }
        Thread.sleep(50); // a beat under way when it closed
        Files.setLastModifiedTime(dir, old);
        Thread.sleep(200);
        assertEquals(old, Files.getLastModifiedTime(dir), "no longer refreshed once the import ended");
    }

    /**
     * The unpack's directories are made one at a time and each checked: a link put into the
     * staging directory (by another process, while the import unpacks) is refused, not
     * followed out of the store (helper-94).
     */
    @Test
    void anImportsUnpackRefusesALinkInItsStagingDirectory() throws Exception {
        Path staging = Files.createDirectories(tmp.resolve(".ckpt-0123456789ab-import"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Staging.createDirectories(staging, staging.resolve("model/layers"));
        assertTrue(Files.isDirectory(staging.resolve("model/layers"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        Staging.createDirectories(staging, staging.resolve("model/layers")); // again: they are there
        Files.createSymbolicLink(staging.resolve("optim"), outside);
        java.nio.file.FileSystemException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.nio.file.FileSystemException.class,
                () -> Staging.createDirectories(staging, staging.resolve("optim/state")));
        assertTrue(e.getMessage().contains(staging.resolve("optim") + ": a link where the import makes a directory"),
                e.getMessage());
        assertEquals(List.of(), Files.list(outside).toList(), "nothing made through the link");
    }
}

package dev.ckpt.store.restore;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.util.TransferListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Small restored files get no fsync each: they are flushed together, by one syncfs per
 * filesystem, before any of them is renamed into place, and the renames are flushed after
 * (docs/design.md, "Restore"). Where syncfs cannot be had each file is flushed on its own,
 * and the restore is the same.
 */
class SmallFilesFlushTest extends InMemoryFixture {
    private final List<ExecutorService> executors = new ArrayList<>();

    @AfterEach
    void stopExecutors() {
        executors.forEach(ExecutorService::shutdownNow);
    }

    /** A flush that records each call, what was in place at the time, and answers as {@code then} does. */
    private static final class Recording implements FilesystemSync {
        final FilesystemSync then;
        final List<Set<Path>> calls = new ArrayList<>();
        final List<Boolean> anyPublished = new ArrayList<>();
        final List<Path> finals;

        Recording(FilesystemSync then, List<Path> finals) {
            this.then = then;
            this.finals = finals;
        }

        @Override
        public synchronized boolean sync(Collection<Path> dirs) {
            calls.add(new TreeSet<>(dirs));
            anyPublished.add(finals.stream().anyMatch(Files::exists));
            return then.sync(dirs);
        }
    }

    /** 300 files of 1-200 random bytes in three directories, and one of 1.5 MiB, saved as one checkpoint. */
    private CheckpointEntry smallAndLarge(Path src) throws IOException {
        Random r = new Random(7);
        for (int i = 0; i < 300; i++) {
            byte[] b = new byte[1 + r.nextInt(200)];
            r.nextBytes(b);
            Path p = src.resolve("d" + (i % 3)).resolve("f" + i + ".bin");
            Files.createDirectories(p.getParent());
            Files.write(p, b);
        }
        byte[] large = new byte[(int) RestoreRun.FLUSH_EACH_MIN_BYTES + (512 << 10)];
        r.nextBytes(large);
        Files.write(src.resolve("large.bin"), large);
        WriterToken w = store.claimWriter("r");
        return store.resolve(store.save(w, SaveRequest.of(src, "r", 1)).checkpointId());
    }

    private Restorer restorer(FilesystemSync sync) {
        ExecutorService ex = Executors.newFixedThreadPool(3);
        executors.add(ex);
        return new Restorer(objects, new ManifestLoader(objects), Stores.config(clock), ex, ex,
                TargetDirectory.Mover.ATOMIC, sync);
    }

    private static List<Path> finals(Path src, Path target) throws IOException {
        try (Stream<Path> s = Files.walk(src)) {
            return s.filter(Files::isRegularFile).map(p -> target.resolve(src.relativize(p).toString())).toList();
        }
    }

    private static void assertSameFiles(Path src, Path target) throws IOException {
        for (Path f : finals(src, target)) {
            assertArrayEquals(Files.readAllBytes(src.resolve(target.relativize(f).toString())), Files.readAllBytes(f),
                    f.toString());
        }
        try (Stream<Path> s = Files.walk(target)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".ckpt-")), "no temporaries left");
        }
    }

    /**
     * Saves {@link #smallAndLarge} from {@code tmp/src}, restores it into {@code tmp/out}
     * with {@code then} behind a recording flush, checks the files, and returns the record.
     */
    private Recording restoreThrough(FilesystemSync then) throws IOException {
        Path src = tmp.resolve("src");
        CheckpointEntry e = smallAndLarge(src);
        Path target = tmp.resolve("out");
        Recording sync = new Recording(then, finals(src, target));
        restorer(sync).restore(e, target, List.of(), TransferListener.NONE, null);
        assertSameFiles(src, target);
        return sync;
    }

    @Test
    void smallFilesAreFlushedByOneSyncBeforeAnyIsPublishedAndTheRenamesAfter() throws IOException {
        Recording sync = restoreThrough(FilesystemSync.SYNCFS);
        Path target = tmp.resolve("out");
        assertEquals(2, sync.calls.size(), "one flush of the small files' data, one of the renames: " + sync.calls);
        assertEquals(Set.of(target.resolve("d0"), target.resolve("d1"), target.resolve("d2")), sync.calls.get(0),
                "the directories of the small files (the large one was flushed on its own)");
        assertFalse(sync.anyPublished.get(0), "the data is flushed before any file has its name");
        assertTrue(sync.calls.get(1).contains(target), "then the directories the names went into: " + sync.calls.get(1));
    }

    @Test
    @Timeout(60)
    void whereNoSyncfsCanBeHadEachSmallFileIsFlushedOnItsOwn() throws IOException {
        Recording sync = restoreThrough(FilesystemSync.NONE);
        assertEquals(2, sync.calls.size(), sync.calls.toString());
    }

    /** A `sync` that does not end (a hung disk, or another program of that name) is killed at the limit: then each file is flushed. */
    @Test
    @Timeout(60)
    void aSyncThatHangsIsKilledAtItsLimitAndReportedAsNotDone() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("d"));
        long t0 = System.nanoTime();
        boolean done = FilesystemSync.command(List.of("sh", "-c", "sleep 30", "sh"), java.time.Duration.ofMillis(300))
                .sync(List.of(d));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertFalse(done, "not flushed: the caller flushes each file");
        assertTrue(ms < 20_000, "waited " + ms + " ms for a 300 ms limit");
        assertFalse(FilesystemSync.command(List.of("sh", "-c", "exit 1", "sh"), java.time.Duration.ofSeconds(30))
                .sync(List.of(d)), "a failed sync");
        assertFalse(FilesystemSync.command(List.of(tmp.resolve("no-such-program").toString()),
                java.time.Duration.ofSeconds(30)).sync(List.of(d)), "no program of that name");
    }

    /**
     * Directories are told apart by the filesystem `sync -f` flushes for them, which is the
     * one a link leads to: a link on this disk to tmpfs and a directory on this disk are
     * two filesystems, both passed (by the link's own device the directory was dropped).
     */
    @Test
    void aLinkedDirectoryCountsForTheFilesystemItLeadsTo() throws Exception {
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "ckpt-sync-test");
        try {
            Path onDisk = Files.createDirectories(tmp.resolve("disk"));
            Object diskDev = Files.getAttribute(onDisk, "unix:dev");
            assertFalse(diskDev.equals(Files.getAttribute(shm, "unix:dev")), "the test needs /dev/shm on a filesystem"
                    + " of its own (tmpfs), apart from " + tmp);
            Path link = Files.createSymbolicLink(tmp.resolve("link"), shm);
            Path out = tmp.resolve("args");
            FilesystemSync recording = FilesystemSync.command(List.of("sh", "-c", "printf '%s\\n' \"$@\" > " + out, "sh"),
                    java.time.Duration.ofSeconds(30));
            assertTrue(recording.sync(List.of(link, onDisk, onDisk.resolve("."), link.resolve("."))));
            assertEquals(List.of(link.toString(), onDisk.toString()), Files.readAllLines(out),
                    "one directory per filesystem, the link's being tmpfs");
        } finally {
            Files.deleteIfExists(shm);
        }
    }

    @Test
    void namesThatACaseOrFormBlindFilesystemMatchShareAKey() {
        assertEquals(TargetDirectory.nameKey("big.bin"), TargetDirectory.nameKey("BIG.BIN"));
        assertEquals(TargetDirectory.nameKey("\u00fc.txt"), TargetDirectory.nameKey("u\u0308.txt"), "NFC and NFD");
        assertEquals(TargetDirectory.nameKey("stra\u00dfe"), TargetDirectory.nameKey("STRASSE"));
        assertFalse(TargetDirectory.nameKey("a.bin").equals(TargetDirectory.nameKey("b.bin")));
    }

    @Test
    void syncfsIsThereOnLinuxOnly() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("d"));
        Files.writeString(d.resolve("x"), "x");
        boolean linux = System.getProperty("os.name").toLowerCase().contains("linux");
        assertEquals(linux, FilesystemSync.SYNCFS.sync(List.of(d, d.resolve("x").getParent())),
                "sync -f answers on Linux (coreutils), and nowhere else");
        assertFalse(FilesystemSync.SYNCFS.sync(List.of(tmp.resolve("missing"))), "a directory that is not there");
    }
}

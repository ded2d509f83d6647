package dev.ckpt.store.restore;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A restore never writes outside its target: a symbolic link planted in the target on a
 * checkpoint file's path (the file itself, or a directory on the way at any depth) is
 * refused with a one-line error naming the link, and the place it points to is left
 * byte for byte, mode for mode, as it was — also when the link is swapped in after the
 * target was checked. The target itself may be a link: it is what the user named.
 */
class PlantedLinkRestoreTest extends InMemoryFixture {

    /** A checkpoint of a.bin, sub/w.bin and a/b/c/deep.bin; every file is mode 600. */
    private CheckpointEntry checkpoint() throws IOException {
        Path src = tmp.resolve("src");
        write(src.resolve("a.bin"), "new a");
        write(src.resolve("sub/w.bin"), "new w");
        write(src.resolve("a/b/c/deep.bin"), "new deep");
        WriterToken w = store.claimWriter("r");
        return store.resolve(store.save(w, SaveRequest.of(src, "r", 1)).checkpointId());
    }

    /** What an attacker would like overwritten: files with the checkpoint's names, and others. */
    private Path outside() throws IOException {
        Path o = tmp.resolve("outside");
        write(o.resolve("w.bin"), "precious w");
        write(o.resolve("victim.bin"), "precious victim");
        write(o.resolve("c/deep.bin"), "precious deep");
        write(o.resolve("a.bin"), "precious a");
        try (Stream<Path> s = Files.walk(o)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r--r-----"));
            }
        }
        return o;
    }

    private static void write(Path p, String s) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, s);
    }

    /** Every path below {@code dir}: its type, mode, inode and content, links not followed. */
    private static Map<String, String> snapshot(Path dir) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink()) {
                    out.put(dir.relativize(p).toString(), "link to " + Files.readSymbolicLink(p));
                    continue;
                }
                String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
                out.put(dir.relativize(p).toString(), a.isDirectory() ? "dir " + mode
                        : a.fileKey() + " " + mode + " " + a.lastModifiedTime() + " " + new String(Files.readAllBytes(p)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static void assertRefusedNaming(InvalidInputException ex, Path link) {
        String m = ex.getMessage();
        assertTrue(m.contains(link.toString()) && m.contains("symbolic link") && m.contains("remove the link"), m);
        assertEquals(1, m.lines().count(), m);
    }

    @Test
    void aLinkAtTheFilesPathIsRefusedAndWhatItPointsToIsUntouched() throws IOException {
        CheckpointEntry e = checkpoint();
        Path out = outside();
        Map<String, String> before = snapshot(out);
        Path t = tmp.resolve("target");
        Files.createDirectories(t.resolve("sub"));
        Path link = Files.createSymbolicLink(t.resolve("sub/w.bin"), out.resolve("victim.bin"));
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertRefusedNaming(ex, link);
        assertEquals(before, snapshot(out));
        assertTrue(Files.isSymbolicLink(link), "the user's link is left as it was");
        assertFalse(Files.exists(t.resolve("a.bin")), "nothing was written");
    }

    @Test
    void aLinkedSubdirectoryIsRefusedAndNothingIsWrittenThrough() throws IOException {
        CheckpointEntry e = checkpoint();
        Path out = outside();
        Map<String, String> before = snapshot(out);
        Path t = tmp.resolve("target");
        Files.createDirectories(t);
        Path link = Files.createSymbolicLink(t.resolve("sub"), out);
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertRefusedNaming(ex, link);
        assertEquals(before, snapshot(out));
    }

    @Test
    void aLinkedDirectoryDeeperDownIsRefusedToo() throws IOException {
        CheckpointEntry e = checkpoint();
        Path out = outside();
        Map<String, String> before = snapshot(out);
        Path t = tmp.resolve("target");
        Files.createDirectories(t.resolve("a"));
        Path link = Files.createSymbolicLink(t.resolve("a/b"), out);
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertRefusedNaming(ex, link);
        assertEquals(before, snapshot(out));
        assertEquals(Map.of("", "dir", "a", "dir", "a/b", "link"), kinds(t), "nothing added to the target");
    }

    @Test
    void aLinkPointingInsideTheTargetIsRefusedAsWell() throws IOException {
        CheckpointEntry e = checkpoint();
        Path t = tmp.resolve("target");
        Files.createDirectories(t.resolve("elsewhere"));
        Path link = Files.createSymbolicLink(t.resolve("sub"), t.resolve("elsewhere"));
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertRefusedNaming(ex, link);
        try (Stream<Path> s = Files.list(t.resolve("elsewhere"))) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void theTargetItselfMayBeALinkItIsWhatTheUserNamed() throws IOException {
        CheckpointEntry e = checkpoint();
        Path real = Files.createDirectories(tmp.resolve("scratch/real"));
        Path t = Files.createSymbolicLink(tmp.resolve("target"), real);
        store.restore(e, t, List.of());
        assertEquals("new w", Files.readString(real.resolve("sub/w.bin")));
        assertEquals("new deep", Files.readString(real.resolve("a/b/c/deep.bin")));
        assertTrue(Files.isSymbolicLink(t));
    }

    @Test
    void aLinkPlantedOverAnEarlierRestoreIsRefusedByRestoreLatestGood() throws IOException {
        CheckpointEntry e = checkpoint();
        Path out = outside();
        Path t = tmp.resolve("target");
        store.restore(e, t, List.of());
        // someone replaces a restored directory with a link, then the job auto-resumes into the same place
        Files.move(t.resolve("a/b"), tmp.resolve("moved-away"));
        Path link = Files.createSymbolicLink(t.resolve("a/b"), out);
        Map<String, String> before = snapshot(out);
        Map<String, String> targetBefore = snapshot(t);
        InvalidInputException ex = assertThrows(InvalidInputException.class,
                () -> store.restoreLatestGood("r", t, List.of()));
        assertRefusedNaming(ex, link);
        assertEquals(before, snapshot(out));
        assertEquals(targetBefore, snapshot(t), "the target is as it was");
    }

    @Test
    void aLinkSwappedInAfterTheCheckIsNotFollowed() throws IOException {
        CheckpointEntry e = checkpoint();
        Path out = outside();
        Map<String, String> before = snapshot(out);
        Path t = tmp.resolve("target");
        Path sub = t.resolve("sub");
        AtomicBoolean swapped = new AtomicBoolean();
        // the first download starts after the target was checked and its directories created, and before
        // sub/w.bin's temporary is created: the moment an attacker swaps sub for a link
        Runnable swap = () -> {
            if (swapped.compareAndSet(false, true)) {
                try {
                    Files.move(sub, tmp.resolve("sub-moved-away"));
                    Files.createSymbolicLink(sub, out);
                } catch (IOException x) {
                    throw new UncheckedIOException(x);
                }
            }
        };
        ExecutorService ex = new ThreadPoolExecutor(2, 2, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>()) {
            @Override
            public void execute(Runnable r) {
                swap.run();
                super.execute(r);
            }
        };
        closeAfter.add(ex);
        Restorer restorer = new Restorer(objects, new ManifestLoader(objects), Stores.config(clock), ex, ex);
        InvalidInputException thrown = assertThrows(InvalidInputException.class, () -> restorer.restore(e, t, List.of()));
        assertTrue(swapped.get());
        assertRefusedNaming(thrown, sub);
        assertEquals(before, snapshot(out));
        assertFalse(Files.exists(t.resolve("a.bin")), "nothing published");
    }

    /** Each path below {@code dir} as "dir", "file" or "link". */
    private static Map<String, String> kinds(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                out.put(dir.relativize(p).toString(), Files.isSymbolicLink(p) ? "link"
                        : Files.isDirectory(p) ? "dir" : "file");
            }
        }
        return out;
    }

    private final List<ExecutorService> closeAfter = new ArrayList<>();

    @AfterEach
    void stopExecutors() {
        closeAfter.forEach(ExecutorService::shutdownNow);
    }
}

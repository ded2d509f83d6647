package dev.ckpt.store.util;

import dev.ckpt.store.testing.AtOnce;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalFilesTest {
    @TempDir
    Path tmp;

    /**
     * EPERM ("Operation not permitted": an immutable or append-only file, chattr +i/+a) gets the
     * attribute in its advice, EACCES ("Permission denied") the mode only (helper-116: an immutable
     * staged file was told to check the directory's mode, which was fine).
     */
    @Test
    void anOperationNotPermittedPointsAtTheImmutableAttributeAndAPermissionDeniedAtTheMode() {
        String eperm = LocalFiles.hint(LocalFiles.reason(new java.nio.file.FileSystemException("/x/step-100/a.bin",
                null, "Operation not permitted")));
        assertTrue(eperm.contains("immutable or append-only") && eperm.contains("lsattr -d"), eperm);
        String eacces = LocalFiles.hint(LocalFiles.reason(new java.nio.file.AccessDeniedException("/x/step-100/a.bin")));
        assertEquals("; check the directory's owner and mode", eacces);
    }

    @Test
    void createDirectoriesOwnedReturnsWhatThisCallMadeDeepestFirst() throws Exception {
        Path d = tmp.resolve("a/b/c");
        assertEquals(List.of(d, tmp.resolve("a/b"), tmp.resolve("a")), LocalFiles.createDirectoriesOwned(d));
        assertTrue(Files.isDirectory(d));
        assertEquals(List.of(), LocalFiles.createDirectoriesOwned(d), "an existing directory is not claimed");
        assertEquals(List.of(tmp.resolve("a/x")), LocalFiles.createDirectoriesOwned(tmp.resolve("a/x")));
        Files.writeString(tmp.resolve("file"), "data");
        assertThrows(FileAlreadyExistsException.class, () -> LocalFiles.createDirectoriesOwned(tmp.resolve("file")));
        assertEquals("data", Files.readString(tmp.resolve("file")));
    }

    /** Ranks creating one new store path at once: each directory is claimed by exactly one of them. */
    @Test
    void racingCallsEachClaimADirectoryOnceAndAllSucceed() throws Exception {
        for (int round = 0; round < 200; round++) {
            Path d = tmp.resolve("r" + round).resolve("job/store");
            List<Path> claimed = new ArrayList<>();
            for (List<Path> mine : AtOnce.run(4, () -> LocalFiles.createDirectoriesOwned(d))) {
                claimed.addAll(mine);
            }
            Set<Path> unique = new HashSet<>(claimed);
            assertEquals(claimed.size(), unique.size(), "claimed twice: " + claimed);
            assertEquals(Set.of(d, d.getParent(), d.getParent().getParent()), unique);
        }
    }

    /** Each read or write moves at most one slice, and a loop of them moves every byte, at any offset and length. */
    @Test
    void slicedReadsAndWritesMoveEveryByteAtMostASliceAtATime() throws Exception {
        int slice = LocalFiles.IO_SLICE;
        for (int size : new int[] {0, 1, slice - 1, slice, slice + 1, 3 * slice + 5}) {
            byte[] data = new byte[size + 7];
            new Random(size).nextBytes(data);
            Path f = tmp.resolve("f" + size);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.READ)) {
                ByteBuffer out = ByteBuffer.wrap(data, 7, size); // from an offset in the array, as a pack's slice
                long at = 0;
                while (out.hasRemaining()) {
                    int n = LocalFiles.write(ch, out, at);
                    assertTrue(n > 0 && n <= slice, "wrote " + n);
                    at += n;
                }
                ByteBuffer in = ByteBuffer.allocate(size);
                while (in.hasRemaining()) {
                    int n = LocalFiles.read(ch, in, in.position());
                    assertTrue(n > 0 && n <= slice, "read " + n);
                }
                assertArrayEquals(java.util.Arrays.copyOfRange(data, 7, 7 + size), in.array());
                assertEquals(-1, LocalFiles.read(ch, ByteBuffer.allocate(1), size), "at the end");
            }
            assertArrayEquals(Files.readAllBytes(f), LocalFiles.readAllBytes(f), "size " + size);
        }
    }

    /**
     * A tree whose paths pass the system's 4096-byte limit is deleted (an export's staging of a
     * checkpoint with paths near the limit was left behind, "File name too long": helper-142).
     * Made by a shell that descends by relative names, as the JDK cannot.
     */
    @Test
    void aTreeWhosePathsPassTheSystemsLimitIsDeleted() throws Exception {
        Path top = Files.createDirectories(tmp.resolve("long"));
        String name = "d".repeat(200);
        Process p = new ProcessBuilder("bash", "-c", "cd \"$1\" && for i in $(seq 25); do mkdir \"$2\" && cd \"$2\" || exit 1;"
                + " echo x > f; ln -s /nonexistent link; done; pwd | wc -c", "bash", top.toString(), name)
                .redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor(), said);
        assertTrue(Long.parseLong(said) > 5000, "deeper than a path may be long: " + said);
        LocalFiles.deleteTree(top);
        assertFalse(Files.exists(top, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        LocalFiles.deleteTree(top); // absent: fine
    }
}

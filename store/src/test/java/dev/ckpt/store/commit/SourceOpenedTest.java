package dev.ckpt.store.commit;

import dev.ckpt.store.error.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SourceDir#checkOpened}: what a save opened must be able to be the file its scan
 * found, before anything is read from it. The cases are what can take a file's place between
 * the check before the open and the open: a FIFO that a writer holds open (a read would wait
 * for ever), and a different file (the path's own stamp then says nothing is wrong).
 */
class SourceOpenedTest {
    @TempDir
    Path tmp;

    private static SourceDir.SourceFile scanned(Path p) throws Exception {
        return new SourceDir.SourceFile(p, p.getFileName().toString(), Files.size(p), 0644, SourceDir.stamp(p));
    }

    @Test
    void theFileTheScanFoundPasses() throws Exception {
        Path f = Files.write(tmp.resolve("model.bin"), new byte[1000]);
        SourceDir.SourceFile scanned = scanned(f);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            assertDoesNotThrow(() -> SourceDir.checkOpened(ch, scanned));
        }
    }

    @Test
    void aFifoWithAWriterInTheFilesPlaceIsRefusedNamingItBeforeAnyRead() throws Exception {
        Path f = Files.write(tmp.resolve("model.bin"), new byte[1000]);
        SourceDir.SourceFile scanned = scanned(f);
        Files.delete(f);
        assertEquals(0, new ProcessBuilder("mkfifo", f.toString()).start().waitFor());
        // a writer holds it open and has written a little: an open for reading returns at once, and a read
        // past those bytes would wait for more, for ever
        try (RandomAccessFile writer = new RandomAccessFile(f.toFile(), "rw")) {
            writer.write(new byte[10]);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                InvalidInputException e = assertThrows(InvalidInputException.class, () -> SourceDir.checkOpened(ch, scanned));
                assertTrue(e.getMessage().contains("file " + f + " changed while it was being saved (it was replaced by"
                        + " a FIFO (named pipe)); nothing was committed"), e.getMessage());
            }
        }
    }

    @Test
    void anotherFileOpenedWhileThePathStillShowsTheScannedOneIsRefused() throws Exception {
        Path f = Files.write(tmp.resolve("model.bin"), new byte[1000]);
        SourceDir.SourceFile scanned = scanned(f);
        Path other = Files.write(tmp.resolve("other.bin"), new byte[10]);
        // as if the file was swapped out for the open and back before the check: the path's stamp is unchanged
        try (FileChannel ch = FileChannel.open(other, StandardOpenOption.READ)) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> SourceDir.checkOpened(ch, scanned));
            assertTrue(e.getMessage().contains("file " + f + " changed while it was being saved (what was opened has 10"
                    + " bytes, the file had 1000); nothing was committed"), e.getMessage());
        }
    }

    /**
     * A file in a directory without search permission (x) is denied although the file itself is
     * readable: the error names the directory and chmod u+x, where "give read access to it"
     * did not help (helper-122, as a user other than root). Judged by the mode, so this runs
     * as root too, which the kernel lets through.
     */
    @Test
    void aDirectoryWithoutSearchPermissionIsNamedForAFileInIt() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("nox"));
        Path f = Files.writeString(dir.resolve("f"), "x");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        try {
            assertTrue(SourceDir.unsearchable(dir));
            String m = SourceDir.unreadable(f, null).getMessage();
            assertTrue(m.equals("cannot read file " + f + ": permission denied, because its directory " + dir + " cannot be"
                    + " searched (no x permission for this user); nothing was committed: chmod u+x " + dir + " (or a+x), or"
                    + " run the save as the directory's owner"), m);
        } finally {
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        assertTrue(!SourceDir.unsearchable(dir));
        String m = SourceDir.unreadable(f, null).getMessage();
        assertTrue(m.contains("permission denied; nothing was committed: give the user running the save read access"), m);
    }
}

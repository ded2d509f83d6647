package dev.ckpt.store.util;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NonFilesTest {
    @TempDir
    Path tmp;

    /**
     * The race a save's check cannot close: a FIFO that takes the file's place between the
     * check and the open. FileChannel.open would wait for a writer for ever; this returns, and
     * the channel reads as empty, so the caller's checks refuse it.
     */
    @Test
    void openingAFifoForReadingOrWritingEndsInsteadOfWaitingForTheOtherSide() throws Exception {
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                try (FileChannel ch = NonFiles.open(fifo, StandardOpenOption.READ)) {
                    assertEquals(-1, ch.read(ByteBuffer.allocate(8)), "a FIFO with no writer reads as its end");
                }
                try (FileChannel ch = NonFiles.open(fifo, StandardOpenOption.WRITE)) {
                    assertEquals(0, ch.size());
                }
            }, "the open waited on the FIFO");
        } finally {
            new RandomAccessFile(fifo.toFile(), "rw").close(); // releases an open still waiting, if any
        }
    }

    /** The watch rests when no open has come for a second; an open after that wakes it again. */
    @Test
    void aFifoOpenedAfterTheWatchRestedIsStillReleased() throws Exception {
        Path file = Files.write(tmp.resolve("file"), new byte[]{1});
        try (FileChannel ch = NonFiles.open(file, StandardOpenOption.READ)) {
            assertEquals(1, ch.size());
        }
        Thread.sleep(1000 + 3 * NonFiles.WATCH_EVERY_MS); // past the idle second: the watch parks
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                long t0 = System.nanoTime();
                try (FileChannel ch = NonFiles.open(fifo, StandardOpenOption.READ)) {
                    assertEquals(-1, ch.read(ByteBuffer.allocate(8)));
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms >= NonFiles.RELEASE_AFTER_MS, "released only after the wait limit, not at once: " + ms);
            }, "the open waited on the FIFO");
        } finally {
            new RandomAccessFile(fifo.toFile(), "rw").close();
        }
    }

    @Test
    void kindAtNamesWhatStandsWhereAFileShould() throws Exception {
        Path file = Files.write(tmp.resolve("file"), new byte[]{1});
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path link = Files.createSymbolicLink(tmp.resolve("link"), fifo);
        Path socket = tmp.resolve("socket");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            assertNull(NonFiles.kindAt(file));
            assertNull(NonFiles.kindAt(tmp.resolve("absent")));
            assertEquals("a directory", NonFiles.kindAt(tmp));
            assertEquals("a FIFO (named pipe)", NonFiles.kindAt(fifo));
            assertEquals("a socket", NonFiles.kindAt(socket));
            assertEquals("a device", NonFiles.kindAt(Path.of("/dev/null")));
            assertEquals("a symbolic link to a FIFO (named pipe)", NonFiles.kindAt(link), "links followed unless told, and said");
            assertNull(NonFiles.kindAt(link, LinkOption.NOFOLLOW_LINKS));
        }
    }
}

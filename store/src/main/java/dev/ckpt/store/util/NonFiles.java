package dev.ckpt.store.util;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * What can stand where a file should — a directory, a FIFO (named pipe), a socket, a device —
 * and opening a file so that a FIFO in its place cannot make the open wait for ever.
 *
 * <p>Opening a FIFO for reading blocks until some process opens it for writing (and the other
 * way round), so a FIFO that takes a file's place between a check and the open would hang a
 * push, a restore or every command on a local store (found by a break helper: a push hung 10
 * minutes; `ls`, `gc`, `verify` on a store with a FIFO at a manifest's or ROOT's key never
 * ended). Java cannot open with {@code O_NONBLOCK}, so {@link #open} ends such a wait itself.
 */
public final class NonFiles {
    /** How long an open may take before a FIFO at its path is released (500 ms): far above any disk's open. */
    static final long RELEASE_AFTER_MS = 500;

    private static final int S_IFMT = 0170000;
    private static final int S_IFIFO = 0010000;
    private static final int S_IFSOCK = 0140000;

    /** How often the watch looks at the opens in flight while there are any (100 ms). */
    static final long WATCH_EVERY_MS = 100;

    /**
     * Opens in flight: each registers its path and start (System.nanoTime) and removes itself
     * when the open returns. One daemon thread looks at them every {@link #WATCH_EVERY_MS}
     * while opens happen, and parks when none has for a second. An open costs a map entry,
     * not a task scheduled and cancelled: that woke the watch thread twice per open (20,000
     * thread switches for a push of 10,000 small files).
     */
    private static final ConcurrentHashMap<Object, Waiting> OPENS = new ConcurrentHashMap<>();
    private static final AtomicBoolean PARKED = new AtomicBoolean(true);
    private static final Thread WATCH;

    private record Waiting(Path path, long since) {
    }

    static {
        WATCH = new Thread(NonFiles::watch, "ckpt-fifo-watch");
        WATCH.setDaemon(true);
        WATCH.start();
    }

    private NonFiles() {
    }

    /**
     * What stands at {@code p} if it is neither a regular file nor absent: "a directory",
     * "a FIFO (named pipe)", "a socket" or "a device" ("a symbolic link to a device" when a
     * link was followed to it); null for a regular file, nothing, or (with
     * {@link LinkOption#NOFOLLOW_LINKS}) a symbolic link. Links are followed unless told.
     */
    public static String kindAt(Path p, LinkOption... options) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class, options);
        } catch (IOException e) {
            return null; // absent or unreadable: the caller's own error says what
        }
        if (a.isRegularFile() || a.isSymbolicLink()) {
            return null;
        }
        String kind;
        if (a.isDirectory()) {
            kind = "a directory";
        } else {
            int type = mode(p, options) & S_IFMT;
            kind = type == S_IFIFO ? "a FIFO (named pipe)" : type == S_IFSOCK ? "a socket" : "a device";
        }
        // a link followed: say so, or a link to /dev/null reads as if the device itself stood there
        return options.length == 0 && Files.isSymbolicLink(p) ? "a symbolic link to " + kind : kind;
    }

    /**
     * {@link FileChannel#open(Path, OpenOption...)}, except that an open still waiting after
     * {@link #RELEASE_AFTER_MS} on a FIFO at {@code p} is ended: the FIFO is opened for
     * reading and writing (which never waits) and closed, so the waiting open returns, and a
     * read from it then finds the end at once (zero bytes). Callers that need a file check
     * what they opened (its size, its stamp, {@link #kindAt}) as they would for a file
     * replaced after their check.
     */
    public static FileChannel open(Path p, OpenOption... options) throws IOException {
        Object token = new Object();
        OPENS.put(token, new Waiting(p, System.nanoTime()));
        if (PARKED.get() && PARKED.compareAndSet(true, false)) {
            LockSupport.unpark(WATCH);
        }
        try {
            return FileChannel.open(p, options);
        } finally {
            OPENS.remove(token);
        }
    }

    /** The watch thread: releases a FIFO at the path of every open waiting longer than {@link #RELEASE_AFTER_MS}. */
    private static void watch() {
        long idleSince = System.nanoTime();
        while (true) {
            if (PARKED.get()) {
                LockSupport.park();
                idleSince = System.nanoTime();
                continue;
            }
            try {
                Thread.sleep(WATCH_EVERY_MS);
            } catch (InterruptedException e) {
                return; // never interrupted: a daemon of this class only
            }
            long now = System.nanoTime();
            if (OPENS.isEmpty()) {
                if (now - idleSince > TimeUnit.SECONDS.toNanos(1)) {
                    PARKED.set(true);
                    if (!OPENS.isEmpty() && PARKED.compareAndSet(true, false)) {
                        continue; // an open came in between: keep watching
                    }
                }
                continue;
            }
            idleSince = now;
            for (Waiting w : OPENS.values()) {
                if (now - w.since() > TimeUnit.MILLISECONDS.toNanos(RELEASE_AFTER_MS)) {
                    releaseFifo(w.path());
                }
            }
        }
    }

    private static void releaseFifo(Path p) {
        try {
            if ((mode(p) & S_IFMT) == S_IFIFO) {
                new RandomAccessFile(p.toFile(), "rw").close(); // O_RDWR on a FIFO does not wait
            }
        } catch (IOException | RuntimeException e) {
            // gone or not ours to open: then nothing waits on it either
        }
    }

    private static int mode(Path p, LinkOption... options) {
        try {
            return (Integer) Files.getAttribute(p, "unix:mode", options);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}

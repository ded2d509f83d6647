package dev.ckpt.store.util;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fixed pools of daemon threads that start all their threads with their first task, and
 * never queue a task while one of their threads could not start.
 *
 * <p>Why not {@link java.util.concurrent.Executors#newFixedThreadPool}: that pool starts
 * one thread per task until it has its size. Under a limit on threads ({@code ulimit -u},
 * a cgroup's {@code pids.max}) a start fails with an {@link OutOfMemoryError} ("unable to
 * create native thread"), and two tasks submitted at once can then leave one queued with
 * no thread ever to run it: the second {@code execute} finds the first's thread counted,
 * queues its task and returns normally, and only then does the first's start fail and its
 * thread leave the count. A restore waiting for that task waited for ever, and ignored
 * SIGTERM (a restore of 1 GB under {@code ulimit -u 27}: both of the CPU pool's threads
 * failed to start, and the restore hung instead of exiting with the thread-limit message).
 *
 * <p>Here the first task starts every thread, one caller at a time. Until all have
 * started, every {@code execute} tries to start the missing ones and throws what a start
 * threw, so a caller learns of it and no task is queued. Once the pool is whole, its
 * threads stay (no idle timeout); a thread ends only if a task throws, and the pool
 * replaces it. A command that runs no task starts no thread.
 */
public final class ThreadPools {
    private ThreadPools() {
    }

    /** A pool of {@code threads} daemon threads named {@code prefix1}, {@code prefix2}, ... */
    public static ExecutorService fixed(int threads, String prefix) {
        AtomicInteger n = new AtomicInteger();
        return fixed(threads, r -> daemon(r, prefix + n.incrementAndGet()));
    }

    /** A pool of one daemon thread named {@code name}: its tasks run one at a time, in order. */
    public static ExecutorService single(String name) {
        return fixed(1, r -> daemon(r, name));
    }

    /** A pool of {@code threads} threads from {@code factory}, started with the first task. */
    public static ExecutorService fixed(int threads, ThreadFactory factory) {
        return new StartedPool(threads, factory);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static final class StartedPool extends ThreadPoolExecutor {
        private volatile boolean whole;

        StartedPool(int threads, ThreadFactory factory) {
            super(threads, threads, 0L, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), factory);
        }

        @Override
        public void execute(Runnable task) {
            if (!whole) {
                startAll();
            }
            super.execute(task);
        }

        /** Starts the missing threads; throws (OutOfMemoryError) when one cannot start. */
        private synchronized void startAll() {
            if (!whole) {
                prestartAllCoreThreads();
                whole = true;
            }
        }
    }
}

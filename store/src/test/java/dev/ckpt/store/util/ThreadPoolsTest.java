package dev.ckpt.store.util;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A pool whose threads cannot start (a thread limit: {@code Thread.start} throws
 * "unable to create native thread") never takes a task it will not run.
 */
class ThreadPoolsTest {
    private static final String NO_THREAD = "unable to create native thread: possibly out of memory or process/resource"
            + " limits reached";

    /** Threads whose start fails while {@link #limited} is set, the first failure waiting for {@link #release}. */
    private static final class LimitedThreads implements ThreadFactory {
        volatile boolean limited = true;
        final CountDownLatch inStart = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger failedStarts = new AtomicInteger();
        final List<Thread> made = new ArrayList<>();

        @Override
        public synchronized Thread newThread(Runnable r) {
            Thread t = new Thread(r, "pool-test-" + made.size()) {
                @Override
                public synchronized void start() {
                    if (!limited) {
                        super.start();
                        return;
                    }
                    if (failedStarts.getAndIncrement() == 0) {
                        inStart.countDown();
                        try {
                            release.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    throw new OutOfMemoryError(NO_THREAD);
                }
            };
            t.setDaemon(true);
            made.add(t);
            return t;
        }
    }

    @Test
    void aTaskSubmittedWhileAnotherThreadFailsToStartIsRefusedNotQueuedForNoThread() throws Exception {
        LimitedThreads threads = new LimitedThreads();
        ExecutorService pool = ThreadPools.fixed(1, threads);
        AtomicReference<Throwable> first = new AtomicReference<>();
        Thread a = new Thread(() -> {
            try {
                pool.execute(() -> { });
            } catch (Throwable t) {
                first.set(t);
            }
        });
        a.start();
        assertTrue(threads.inStart.await(10, TimeUnit.SECONDS), "the first task starts the pool's thread");

        // a second task while the first's thread is counted but not yet failed
        CountDownLatch ran = new CountDownLatch(1);
        AtomicReference<Throwable> second = new AtomicReference<>();
        CountDownLatch secondReturned = new CountDownLatch(1);
        Thread b = new Thread(() -> {
            try {
                pool.execute(ran::countDown);
            } catch (Throwable t) {
                second.set(t);
            }
            secondReturned.countDown();
        });
        b.start();
        secondReturned.await(300, TimeUnit.MILLISECONDS); // a plain fixed pool queues it and returns here
        threads.release.countDown(); // the first start fails now
        a.join(10_000);
        b.join(10_000);

        assertInstanceOf(OutOfMemoryError.class, first.get(), "the first task's start failed");
        boolean queuedForNoThread = second.get() == null && !ran.await(2, TimeUnit.SECONDS);
        assertTrue(!queuedForNoThread, "the second task was taken (execute returned normally) and never ran: "
                + "no thread of the pool could start");
        assertInstanceOf(OutOfMemoryError.class, second.get(), "the second task is refused with the start's error");
        assertEquals(0, ((ThreadPoolExecutor) pool).getQueue().size(), "no task waits in the pool");
        pool.shutdownNow();
    }

    @Test
    void thePoolStartsAllItsThreadsWithItsFirstTaskOnceThreadsCanStart() throws Exception {
        LimitedThreads threads = new LimitedThreads();
        threads.release.countDown();
        ExecutorService pool = ThreadPools.fixed(3, threads);
        assertEquals(0, ((ThreadPoolExecutor) pool).getPoolSize(), "no task, no thread");

        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> pool.execute(() -> { }));
        assertEquals(NO_THREAD, e.getMessage());
        assertThrows(OutOfMemoryError.class, () -> pool.execute(() -> { }), "still none can start");

        threads.limited = false;
        CountDownLatch ran = new CountDownLatch(4);
        for (int i = 0; i < 4; i++) {
            pool.execute(ran::countDown);
        }
        assertTrue(ran.await(10, TimeUnit.SECONDS), "every task taken ran");
        assertEquals(3, ((ThreadPoolExecutor) pool).getPoolSize(), "all three threads, started with the first task");
        pool.shutdown();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }

    @Test
    void namedDaemonThreads() throws Exception {
        ExecutorService pool = ThreadPools.fixed(2, "ckpt-test-");
        List<String> names = new ArrayList<>();
        CountDownLatch both = new CountDownLatch(2);
        CountDownLatch go = new CountDownLatch(1);
        for (int i = 0; i < 2; i++) {
            pool.execute(() -> {
                synchronized (names) {
                    names.add(Thread.currentThread().getName() + (Thread.currentThread().isDaemon() ? " daemon" : ""));
                }
                both.countDown();
                try {
                    go.await(10, TimeUnit.SECONDS); // each task holds its thread, so the two run on both
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        assertTrue(both.await(10, TimeUnit.SECONDS));
        go.countDown();
        names.sort(null);
        assertEquals(List.of("ckpt-test-1 daemon", "ckpt-test-2 daemon"), names);
        pool.shutdown();

        ExecutorService single = ThreadPools.single("ckpt-one");
        AtomicReference<String> name = new AtomicReference<>();
        single.submit(() -> name.set(Thread.currentThread().getName())).get(10, TimeUnit.SECONDS);
        assertEquals("ckpt-one", name.get());
        single.shutdown();
    }
}

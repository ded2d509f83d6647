package dev.ckpt.store.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The "ranks start at the same moment" of race tests: each task on its own thread, all
 * released together by one barrier; the results in the tasks' order. A task's exception
 * comes back as the {@code ExecutionException} of {@link Future#get}; each waits at most 60 s.
 */
public final class AtOnce {
    private AtOnce() {
    }

    public static <T> List<T> run(List<? extends Callable<T>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        try {
            CyclicBarrier start = new CyclicBarrier(tasks.size());
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> task : tasks) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get(60, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code n} copies of {@code task} at once. */
    public static <T> List<T> run(int n, Callable<T> task) throws Exception {
        return run(java.util.Collections.nCopies(n, task));
    }
}

package dev.ckpt.store.objectstore.s3;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The MinIO client's threads (OkHttp's dispatcher, Okio's watchdog) under a limit on threads:
 * a thread that cannot start is reported to the caller as its OutOfMemoryError (the thread
 * limit's advice), never left as a request that does not end (docs/design.md, "Out of memory,
 * and under a thread limit").
 */
final class OkHttpThreads {
    private OkHttpThreads() {
    }

    /**
     * OkHttp's own dispatcher pool (threads as needed, idle 60 s), whose threads do not print
     * an OutOfMemoryError's stack trace, and which refuses a request it has no thread for. Under
     * a limit on threads a new thread may not start: OkHttp's dispatcher hands the pool each
     * request it promotes, in turn, and reports only a {@link RejectedExecutionException} to the
     * request's caller. The OutOfMemoryError it got instead went up through the dispatcher and
     * left every request promoted with that one never run, its caller waiting for ever (stop 54's
     * CI: {@code ls} of an S3 store under {@code ulimit -u}, no word). Refused, each such request
     * fails at once with the error as its cause (the thread limit's advice). A dispatcher thread
     * that ends on an OutOfMemoryError is not printed: it was a raw Java stack trace on a CLI's
     * stderr (helper-90). Any other uncaught error is printed as before.
     */
    static ExecutorService dispatcherThreads() {
        return dispatcherThreads(r -> new Thread(r, "OkHttp Dispatcher"));
    }

    /** As {@link #dispatcherThreads()}, its threads made by {@code threads} (tests: one that does not start). */
    static ExecutorService dispatcherThreads(ThreadFactory threads) {
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> {
                    Thread t = threads.newThread(r);
                    t.setDaemon(false); // as OkHttp's own
                    t.setUncaughtExceptionHandler((thread, e) -> {
                        if (!(e instanceof OutOfMemoryError)) {
                            thread.getThreadGroup().uncaughtException(thread, e);
                        }
                    });
                    return t;
                }) {
            @Override
            public void execute(Runnable command) {
                try {
                    super.execute(command);
                } catch (OutOfMemoryError e) { // "unable to create native thread"
                    throw new RejectedExecutionException("no thread to run the request on", e);
                }
            }
        };
    }

    /**
     * Starts Okio's watchdog thread (it enforces OkHttp's call timeout) unless it runs, here on
     * the caller's thread. OkHttp starts it at the start of a request, outside the code that
     * reports a request's failure: under a limit on threads, a watchdog that could not start left
     * the request's future never completed and the MinIO client's blocking call waiting for ever
     * (helper-90: {@code ls}, {@code forget}, {@code gc} under {@code ulimit -u 21}). Started here,
     * a failure is this call's OutOfMemoryError (the thread limit's advice); once running, the
     * watchdog stays until it has been idle for 60 s, far longer than from here to the request.
     * Costs one enqueue and dequeue of a timeout.
     */
    static void startWatchdog() {
        okio.AsyncTimeout probe = new okio.AsyncTimeout();
        probe.timeout(1, TimeUnit.HOURS);
        probe.enter();
        probe.exit();
    }

    /**
     * An Error the client wrapped in an exception (its dispatcher's thread could not start under a
     * limit on threads: "unable to create native thread"), else null. Without this it was reported
     * as "network or server unreachable", exit 7 (helper-90), where the AWS client gives the thread
     * limit's advice.
     */
    static Error errorIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Error err) {
                return err;
            }
            for (Throwable s : t.getSuppressed()) {
                if (s instanceof Error err) {
                    return err;
                }
            }
        }
        return null;
    }
}

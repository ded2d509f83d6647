package dev.ckpt.store.util;

import dev.ckpt.store.error.StoreUnavailableException;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/** Waiting on the bounded worker pipelines of save, restore and verify. */
public final class Tasks {
    private Tasks() {
    }

    /** Takes a permit; an interrupt becomes an unavailable error naming {@code what}. */
    public static void acquire(Semaphore s, String what) {
        try {
            s.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException(what + " interrupted", e);
        }
    }

    /** The task's result, rethrowing what the task threw (unchecked exceptions and errors as they are). */
    public static <T> T await(Future<T> f, String what) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException(what + " interrupted", e);
        } catch (ExecutionException e) {
            throw cause(e);
        }
    }

    /**
     * What a task threw, to rethrow: its unchecked exception as it is; an error is thrown from
     * here; a checked one (a task of ours never throws one) wrapped.
     */
    public static RuntimeException cause(ExecutionException e) {
        Throwable c = e.getCause();
        if (c instanceof RuntimeException r) {
            return r;
        }
        if (c instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(c);
    }
}

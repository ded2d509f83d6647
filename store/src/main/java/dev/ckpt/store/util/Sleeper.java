package dev.ckpt.store.util;

/** Waits between retries; tests inject one that does not sleep. */
@FunctionalInterface
public interface Sleeper {
    void sleep(long millis) throws InterruptedException;

    Sleeper REAL = Thread::sleep;
}

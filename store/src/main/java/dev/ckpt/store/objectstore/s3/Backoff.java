package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.StoreUnavailableException;

import java.util.concurrent.ThreadLocalRandom;

/** Exponential backoff with jitter between retries of an S3 request. */
final class Backoff {
    private Backoff() {
    }

    static void pause(int attempt) {
        try {
            Thread.sleep(Math.min(2000, 50L << attempt) + ThreadLocalRandom.current().nextLong(50));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted", e);
        }
    }
}

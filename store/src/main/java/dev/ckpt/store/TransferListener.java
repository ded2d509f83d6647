package dev.ckpt.store;

/**
 * Hears how far a long transfer (save, restore) has come. Called from worker threads, often:
 * implementations must be thread-safe and cheap.
 */
@FunctionalInterface
public interface TransferListener {
    TransferListener NONE = (done, total) -> { };

    /** {@code done} of {@code total} bytes (uncompressed) are processed. */
    void progress(long done, long total);
}

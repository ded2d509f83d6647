package dev.ckpt.store.util;

/**
 * Hears how far a long transfer (save, restore) has come, and why it waits when it does.
 * Called from worker threads, often: implementations must be thread-safe and cheap.
 */
@FunctionalInterface
public interface TransferListener {
    TransferListener NONE = (done, total) -> { };

    /** {@code done} of {@code total} bytes (uncompressed) are processed. */
    void progress(long done, long total);

    /**
     * A one-line message the user should see now, e.g. that the commit waits for a GC
     * (who holds the lease and until when). Called once when such a wait starts.
     */
    default void notice(String message) {
    }
}

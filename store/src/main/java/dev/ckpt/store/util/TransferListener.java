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

    /**
     * A save's commit of {@code checkpointId} sends its write of ROOT (called before each one;
     * for a rank other than 0, once its part is stored and it waits for rank 0's commit). From
     * then on a save abandoned at its deadline, or failing with
     * {@link dev.ckpt.store.error.CommitStateUnknownException}, may still be committed: ROOT
     * says whether it is. Not called when the commit never got to its write (helper-83: a
     * trainer hedged about a commit whose read of ROOT had hung). A restore calls it before it
     * renames its files into place, its own point of no return: a listener that throws there
     * (a signal's stop) fails the restore with its target as it was.
     */
    default void committing(String checkpointId) {
    }
}

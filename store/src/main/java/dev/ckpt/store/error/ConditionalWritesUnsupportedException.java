package dev.ckpt.store.error;

/**
 * The backend does not honour the conditional writes the store's safety rests on
 * (create-only {@code If-None-Match: *}, compare-and-swap {@code If-Match}). Committing
 * there could lose checkpoints, so the store refuses. Use a server that supports them
 * (AWS S3, MinIO, recent Ceph RGW) or a shared filesystem.
 */
public final class ConditionalWritesUnsupportedException extends CkptException {
    public ConditionalWritesUnsupportedException(String message) {
        super(message);
    }
}

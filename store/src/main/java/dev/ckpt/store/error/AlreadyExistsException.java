package dev.ckpt.store.error;

/** A create-only write found the object already there with different content. */
public final class AlreadyExistsException extends CkptException {
    public AlreadyExistsException(String message) {
        super(message);
    }
}

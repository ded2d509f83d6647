package dev.ckpt.store.error;

/** Input given to the store (a source directory, file, run name or selector) is unusable. */
public final class InvalidInputException extends CkptException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}

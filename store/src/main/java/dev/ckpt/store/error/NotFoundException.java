package dev.ckpt.store.error;

/** The named object, checkpoint or file does not exist. */
public final class NotFoundException extends CkptException {
    private final String key;

    public NotFoundException(String key, String message) {
        super(message);
        this.key = key;
    }

    public static NotFoundException object(String key) {
        return new NotFoundException(key, "object not found: " + key);
    }

    /** The object key, checkpoint id or file that is missing. */
    public String key() {
        return key;
    }
}

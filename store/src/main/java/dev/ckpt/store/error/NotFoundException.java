package dev.ckpt.store.error;

/** The named object, checkpoint or file does not exist. */
public final class NotFoundException extends CkptException {
    private final String key;
    private final String inItsPlace;

    public NotFoundException(String key, String message) {
        this(key, message, null);
    }

    private NotFoundException(String key, String message, String inItsPlace) {
        super(message);
        this.key = key;
        this.inItsPlace = inItsPlace;
    }

    public static NotFoundException object(String key) {
        return new NotFoundException(key, "object not found: " + key);
    }

    /**
     * No object at {@code key} because something that is none stands at its place (a local
     * store's directory or FIFO where a file should be).
     *
     * @param inItsPlace what stands there and what to do, e.g. "a directory is in its place
     *                   (PATH), which is no object of the store; move it out of the store and try again"
     */
    public static NotFoundException displaced(String key, String inItsPlace) {
        return new NotFoundException(key, "object not found: " + key + ": " + inItsPlace, inItsPlace);
    }

    /** The object key, checkpoint id or file that is missing. */
    public String key() {
        return key;
    }

    /** What stands at the object's place instead, with what to do; null when nothing does. */
    public String inItsPlace() {
        return inItsPlace;
    }
}

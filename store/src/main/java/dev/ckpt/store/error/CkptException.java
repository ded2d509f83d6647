package dev.ckpt.store.error;

/**
 * Root of every error the store raises. Unchecked, specific and prescriptive: each
 * subclass says what went wrong, names the object key or file, and its message tells
 * the operator what to do. Messages never contain credentials.
 */
public abstract class CkptException extends RuntimeException {
    protected CkptException(String message) {
        super(message);
    }

    protected CkptException(String message, Throwable cause) {
        super(message, cause);
    }

    private volatile String note;

    /** The items of a listing error ({@link #listing}), none for the usual one-line error. */
    private volatile java.util.List<String> listed = java.util.List.of();

    /**
     * Makes this a listing error: its message is the one it was made with, then ":", then each of
     * {@code items} on a line of its own, indented by two spaces (an error that names every entry
     * of a directory or an archive that cannot be saved). Kept apart from the message so that the
     * CLI can escape a line break inside an item (a file name holding one) while it keeps the
     * lines between them ({@code Printable.message}).
     *
     * @return this error
     */
    public <T extends CkptException> T listing(java.util.List<String> items) {
        listed = java.util.List.copyOf(items);
        @SuppressWarnings("unchecked") T self = (T) this;
        return self;
    }

    /** The items of a listing error ({@link #listing}); empty for any other. */
    public java.util.List<String> listed() {
        return listed;
    }

    /** The message as made, without the items of a listing or the notes callers added. */
    public String heading() {
        return super.getMessage();
    }

    /** What callers added ({@link #addNote}), or null. */
    public String note() {
        return note;
    }

    /**
     * Appends {@code text} to the message: what a caller higher up knows and the thrower
     * could not (e.g. that the other ranks were told, and what that means for a retry).
     */
    public void addNote(String text) {
        note = note == null ? text : note + text;
    }

    private volatile boolean stepClosed;

    /**
     * Marks this failure as one that closed its step for good: a rank recorded it (or another
     * rank's refusal) under the step's checkpoint id, so the same job cannot save that step
     * again, waiting or not; only a later step can be saved. Set by the saver with the note
     * that says so.
     */
    public void closeStep() {
        stepClosed = true;
    }

    /** See {@link #closeStep()}. */
    public boolean stepClosed() {
        return stepClosed;
    }

    /**
     * The message without the notes callers added ({@link #addNote}): what went wrong and
     * where, without what to do about it, for a caller that says what to do itself (a restore
     * that falls back to an older checkpoint lists each newer one's reason).
     */
    public String reason() {
        java.util.List<String> items = listed;
        return items.isEmpty() ? super.getMessage() : super.getMessage() + ":\n  " + String.join("\n  ", items);
    }

    @Override
    public String getMessage() {
        String m = reason();
        return note == null ? m : m + (listed.isEmpty() ? note : "\n" + ownLine(note));
    }

    /**
     * A note added to a listing error as the line of its own it gets after the entries: without the "; " that
     * continues a one-line message (glued to the last entry, it read as that entry's: helper-132).
     */
    public static String ownLine(String note) {
        return note.replaceFirst("^[;,:]?\\s*", "");
    }

    /** True when repeating the same operation later may succeed. */
    public boolean isRetryable() {
        return false;
    }
}

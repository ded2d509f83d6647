package dev.ckpt.store.error;

/** An object was written in a newer format than this version of ckpt understands. */
public final class UnsupportedFormatException extends CkptException {
    public UnsupportedFormatException(String key, int found, int supported) {
        super(key + " has format version " + found + " but this ckpt understands up to version " + supported
                + "; it was written by a newer ckpt: upgrade ckpt to read it (nothing was changed)");
    }
}

package dev.ckpt.store.error;

/**
 * A conditional write's condition did not hold: the object changed since its ETag was
 * read (put-if-match), or it does not exist. Nothing was written. Re-read and retry.
 */
public final class PreconditionFailedException extends CkptException {
    public PreconditionFailedException(String key, String expectedEtag, String actualEtag) {
        super("conditional write to " + key + " refused: expected ETag " + expectedEtag
                + " but the object " + (actualEtag == null ? "does not exist" : "has ETag " + actualEtag)
                + "; re-read it and retry");
    }

    @Override
    public boolean isRetryable() {
        return true;
    }
}

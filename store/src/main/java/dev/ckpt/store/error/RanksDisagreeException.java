package dev.ckpt.store.error;

/**
 * Rank 0 did not commit a checkpoint of several ranks because their parts disagree on what
 * must be the same for every rank of a job: a metadata value whose key starts with
 * {@link #SAME_ACROSS_RANKS} (the trainer records its model and optimizer options so). The
 * ranks were started with different options; saving again cannot help. Exit 1.
 */
public final class RanksDisagreeException extends CkptException {
    /**
     * The prefix of part-manifest metadata keys that every rank's part of one checkpoint must
     * hold with the same value (or none hold): {@code same-across-ranks.}.
     */
    public static final String SAME_ACROSS_RANKS = "same-across-ranks.";

    public RanksDisagreeException(String message) {
        super(message);
    }
}

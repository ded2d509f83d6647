package dev.ckpt.store.restore;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.StoredBytes;

import java.nio.file.Path;

/**
 * What a restore says when a chunk it needs is missing or corrupt: the chunk, the file (or
 * files) and checkpoint it belongs to, that the target directory is as it was (a restore
 * publishes nothing unless every file verified), and what to do.
 */
final class ChunkProblems {
    private ChunkProblems() {
    }

    /**
     * The chunk's stored bytes.
     *
     * @throws NotFoundException naming the chunk and the store when it is missing (see {@link #located})
     */
    static byte[] get(ObjectStore store, ChunkRef ref) {
        try {
            return store.get(ref.key()).data();
        } catch (NotFoundException e) {
            throw missing(store, ref, e);
        }
    }

    /**
     * {@link #get} into {@code buffer} ({@link ObjectStore#getInto}), which holds at least the
     * chunk's recorded stored length.
     *
     * @throws CorruptObjectException when the object is longer than {@code buffer}: it is not read
     *         ({@link #longer})
     */
    static StoredBytes getInto(ObjectStore store, ChunkRef ref, byte[] buffer) {
        try {
            return store.getInto(ref.key(), buffer).orElseThrow(() -> longer(ref));
        } catch (NotFoundException e) {
            throw missing(store, ref, e);
        }
    }

    /**
     * A chunk object longer than the buffer read into, which holds at least its recorded
     * length: damage, and not read (a 3 GiB object in a chunk's place ran restores and verifies
     * out of memory, with advice to raise a heap no heap could satisfy).
     */
    static CorruptObjectException longer(ChunkRef ref) {
        return new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: it is longer than the "
                + ref.storedLength() + " bytes recorded for it (not read)");
    }

    private static RuntimeException missing(ObjectStore store, ChunkRef ref, NotFoundException e) {
        if (e.inItsPlace() != null) { // not lost: a local store's directory or FIFO stands there
            return StoreUnavailableException.needingAction("cannot read chunk " + ref.key() + " in " + store.describe()
                    + ": " + e.inItsPlace(), e);
        }
        return new NotFoundException(ref.key(), "chunk " + ref.key() + " is missing from " + store.describe());
    }

    /** {@code e} said with where its chunk is and what to do, if it is a chunk's corruption or absence; else {@code e}. */
    static RuntimeException located(RuntimeException e, String where, Path root, dev.ckpt.store.objectstore.ObjectStore store) {
        dev.ckpt.store.error.CkptException located;
        if (e instanceof CorruptObjectException c && c.key() != null && c.key().startsWith("chunks/")) {
            located = new CorruptObjectException(c.key(), c.getMessage() + " (" + where + ")", c);
        } else if (e instanceof NotFoundException n && n.key() != null && n.key().startsWith("chunks/")) {
            located = new NotFoundException(n.key(), n.getMessage() + " (" + where + ")");
        } else {
            return e;
        }
        // a note: a restore falling back to an older checkpoint gives its own advice ({@link CkptException#reason})
        located.addNote(advice(root, store));
        return located;
    }

    private static String advice(Path root, dev.ckpt.store.objectstore.ObjectStore store) {
        return "; nothing was written, " + root + " is as it was. ckpt-tool verify --read-data " + dev.ckpt.store.util.ShellWords.word(store.describe()) + " lists every"
                + " checkpoint that holds this chunk; restore an earlier checkpoint, or from another copy of the store";
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.ReadOnlyStoreException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.util.LocalFiles;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * How a {@link LocalObjectStore}'s failures are said: an I/O error of a read, write, listing or
 * publish as ckpt's error for it, naming the object and the store, and needing action (exit 1)
 * where waiting does not help (a permission, a full disk, a directory in an object's place, a
 * read-only mount) rather than "retry later" (exit 7).
 */
final class LocalErrors {
    private final Path root;
    private final String store;
    /** Why the store cannot be written, or null when it can. */
    private final String readOnly;

    LocalErrors(Path root, String store, String readOnly) {
        this.root = root;
        this.store = store;
        this.readOnly = readOnly;
    }

    void checkWritable(String key, String action) {
        if (readOnly != null) {
            throw readOnlyError(key, action, null);
        }
    }

    ReadOnlyStoreException readOnlyError(String key, String action, IOException cause) {
        String why = readOnly != null ? readOnly : LocalFiles.reason(cause);
        // EPERM on a writable mount: the store's directory carries the immutable or append-only attribute, which no
        // other mount mends (helper-117: an immutable store was told to move to a writable mount)
        String eperm = why.toLowerCase(java.util.Locale.ROOT).contains("operation not permitted")
                ? " (or, for 'Operation not permitted', without the immutable or append-only attribute on its directory:"
                + " lsattr -d shows it, chattr -i or -a clears it)" : "";
        return new ReadOnlyStoreException("store " + store + " is read-only (" + why + "): cannot " + action + " "
                + key + "; commands that only read work, writes need the store on a writable mount" + eperm, cause);
    }

    /**
     * The error for a directory a listing cannot read: {@code key} is its key with a '/' after it
     * (or the prefix), which is no key; given as one, it was "invalid object key 'chunks/qq/'" (helper-71).
     */
    RuntimeException listFailure(String key, IOException e) {
        String k = key.endsWith("/") ? key.substring(0, key.length() - 1) : key;
        if (Keys.isValid(k)) {
            return translate(k, "list", e);
        }
        String message = "cannot list " + store + (k.isEmpty() ? "" : " (" + k + ")") + ": " + LocalFiles.explain(e);
        return LocalFiles.hint(LocalFiles.reason(e)).isEmpty() ? new StoreUnavailableException(message, e)
                : StoreUnavailableException.needingAction(message, e);
    }

    /** The error of a write to {@code key} whose temporary {@code tmp} could not be put in place. */
    RuntimeException publishFailure(String key, Path tmp, IOException e) {
        return LocalLeftovers.gone(tmp, e) ? LocalLeftovers.goneError(key, store, e) : translate(key, "publish", e);
    }

    /**
     * Refuses a write to {@code key} when a directory, FIFO, socket or device stands at
     * {@code target} (a damaged store: such a thing is no object, see get); returns when none does.
     * Someone must move it away first, so not "retry later"; and a create-only write does
     * not answer "already there" for it (a save reads such a chunk back to check it, and
     * would find nothing). See {@link LocalPlaces#obstruction} for what a lock file adds.
     */
    void refuseObstructed(String key, Path target, String action, boolean lockFile) {
        String why = LocalPlaces.obstruction(root, target, lockFile);
        if (why != null) {
            throw StoreUnavailableException.needingAction("cannot " + action + " " + key + " in " + store + ": "
                    + why, null);
        }
    }

    /**
     * The error of {@code action} ("read", "write", "conditionally replace", ...) on {@code key}
     * that failed with {@code e}: not found, a directory in its place, read-only, a permission,
     * else the I/O error explained (needing action where {@link LocalFiles#hint} has advice).
     */
    RuntimeException translate(String key, String action, IOException e) {
        if (e instanceof NoSuchFileException) {
            return NotFoundException.object(key);
        }
        String blocked = LocalPlaces.blockedDirectory(root, root.resolve(Keys.validate(key)));
        if (blocked != null) { // not "retry later": it stays in the way until someone moves it
            return action.equals("read") ? NotFoundException.displaced(key, blocked)
                    : StoreUnavailableException.needingAction("cannot " + action + " " + key + " in " + store
                    + ": " + blocked, e);
        }
        if ("Read-only file system".equals(LocalFiles.reason(e))) {
            return readOnlyError(key, action, e);
        }
        // a full disk or a permission is not "retry later": someone must act first (exit 1, not 7)
        if (e instanceof AccessDeniedException) {
            return StoreUnavailableException.needingAction("permission denied: cannot " + action + " " + key + " in "
                    + store + " (" + e.getMessage() + "); check the directory's owner and mode", e);
        }
        String message = "cannot " + action + " " + key + " in " + store + ": " + LocalFiles.explain(e);
        if ((key.startsWith("chunks/") || key.startsWith("manifests/"))
                && LocalFiles.reason(e).toLowerCase(java.util.Locale.ROOT).contains("no space left")) {
            // the store's own garbage may be what fills it: a trainer saved into a full store 45 times in a row,
            // each save failing, while 2.3 MiB of checkpoints its retention had dropped waited for a gc (helper-123)
            message += " (the data of checkpoints that retention or forget dropped stays until ckpt-tool gc "
                    + dev.ckpt.store.util.ShellWords.word(store) + " deletes it)";
        }
        return LocalFiles.hint(LocalFiles.reason(e)).isEmpty() ? new StoreUnavailableException(message, e)
                : StoreUnavailableException.needingAction(message, e);
    }
}

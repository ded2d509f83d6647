package dev.ckpt.store.commit;

import java.time.Duration;
import java.util.List;

/**
 * What a save did. Bytes are uncompressed unless named "stored". {@code newChunks} were
 * uploaded by this save; {@code dedupChunks} were already in the store (live in ROOT,
 * found there by a create-only PUT, or repeated within this checkpoint).
 * {@code emptyDirectories} were in the source but are not in the checkpoint, which holds
 * files only (relative paths ending in '/'; a restore does not recreate them).
 * {@code leftOut}: what an interrupted ckpt command had left in the source, not saved
 * (relative paths; {@code SourceDir#leftOut}).
 * {@code repairedChunks}: chunk objects that live checkpoints reference and that this save
 * found missing or damaged and wrote again (object keys; {@link #repairNote}).
 */
public record SaveResult(String checkpointId, String run, long step, int files, long logicalBytes,
                         int newChunks, long newBytes, long storedBytesUploaded, int dedupChunks, long dedupBytes,
                         int reuploadedChunks, List<String> droppedByRetention,
                         Duration scanTime, Duration uploadTime, Duration manifestTime, Duration commitTime,
                         List<String> emptyDirectories, List<String> leftOut, List<String> repairedChunks) {
    public SaveResult {
        repairedChunks = List.copyOf(repairedChunks);
        droppedByRetention = List.copyOf(droppedByRetention);
        emptyDirectories = List.copyOf(emptyDirectories);
        leftOut = List.copyOf(leftOut);
    }

    /**
     * The warning about {@link #repairedChunks} for a user of store {@code store} (as they name
     * it), or null when there are none: something other than ckpt's GC removes or changes
     * objects in the store, and verify says which older checkpoints are still damaged.
     */
    public String repairNote(String store) {
        if (repairedChunks.isEmpty()) {
            return null;
        }
        int n = repairedChunks.size();
        return "warning: " + n + " chunk object" + (n == 1 ? " that live checkpoints reference was" : "s that live"
                + " checkpoints reference were") + " missing or damaged in " + store + " (" + repairedChunks.get(0)
                + (n > 1 ? ", ..." : "") + "); this save wrote " + (n == 1 ? "it" : "them") + " again as the checkpoints"
                + " record " + (n == 1 ? "it" : "them") + ", so checkpoint " + checkpointId + " and the earlier ones that"
                + " reference " + (n == 1 ? "it" : "them") + " are whole again. Something other than ckpt-tool gc removes"
                + " or changes objects there (an operator, a bucket lifecycle rule?): ckpt-tool verify "
                + dev.ckpt.store.util.ShellWords.word(store) + " checks that every checkpoint's objects are there";
    }

    public Duration totalTime() {
        return scanTime.plus(uploadTime).plus(manifestTime).plus(commitTime);
    }

    /** One line for logs. */
    public String summary() {
        return summary(null);
    }

    /**
     * One line for logs, with {@code openTime} before the save (opening the store, claiming the
     * run: where a server that stalls at the start spends the time) as "open N ms"; null leaves it out.
     */
    public String summary(Duration openTime) {
        return String.format("checkpoint %s (run %s, step %d): %s, %s; new %s %s (stored %s), "
                        + "deduplicated %s %s; %sscan %d ms, upload %d ms, manifest %d ms, commit %d ms",
                checkpointId, run, step, count(files, "file"), human(logicalBytes), count(newChunks, "chunk"), human(newBytes),
                human(storedBytesUploaded), count(dedupChunks, "chunk"), human(dedupBytes),
                openTime == null ? "" : "open " + openTime.toMillis() + " ms, ", scanTime.toMillis(), uploadTime.toMillis(),
                manifestTime.toMillis(), commitTime.toMillis());
    }

    /** "1 chunk", "2 chunks", "0 chunks": {@code n} and {@code noun}, plural by an s ({@link dev.ckpt.store.util.Sizes}). */
    public static String count(long n, String noun) {
        return dev.ckpt.store.util.Sizes.count(n, noun);
    }

    /** {@code bytes} in binary units ({@link dev.ckpt.store.util.Sizes}). */
    public static String human(long bytes) {
        return dev.ckpt.store.util.Sizes.human(bytes);
    }
}

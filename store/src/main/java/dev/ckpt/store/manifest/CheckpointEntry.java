package dev.ckpt.store.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A committed checkpoint as ROOT records it: enough to list, select and retain it without
 * reading its manifest, plus the manifest's SHA-256 so a damaged manifest is detected.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CheckpointEntry(String id, String manifest, String manifestSha256, String run, long step, Long epoch,
                              Instant created, int files, long logicalBytes, long writerEpoch,
                              Map<String, String> metadata, boolean pinned, Instant verifiedAt, Integer worldSize) {
    /** A checkpoint of one writer. */
    public CheckpointEntry(String id, String manifest, String manifestSha256, String run, long step, Long epoch,
                           Instant created, int files, long logicalBytes, long writerEpoch,
                           Map<String, String> metadata, boolean pinned, Instant verifiedAt) {
        this(id, manifest, manifestSha256, run, step, epoch, created, files, logicalBytes, writerEpoch, metadata,
                pinned, verifiedAt, null);
    }

    public CheckpointEntry {
        if (worldSize != null && worldSize < 2) {
            worldSize = null; // one writer: not recorded, as before parts existed
        }
        Ids.checkCheckpointId(id);
        // an entry without its run is a damaged ROOT (ls and verify failed on it with a null's Java message: helper-140)
        Objects.requireNonNull(run, "run");
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(created, "created");
        metadata = metadata == null ? Map.of() : new TreeMap<>(metadata);
    }

    public static CheckpointEntry of(Manifest m, String manifestSha256) {
        int files = m.files().size();
        long bytes = m.logicalBytes();
        if (m.parts() != null) {
            files = m.parts().stream().mapToInt(Manifest.PartRef::files).sum();
            bytes = m.parts().stream().mapToLong(Manifest.PartRef::logicalBytes).sum();
        }
        return new CheckpointEntry(m.id(), m.key(), manifestSha256, m.run(), m.step(), m.epoch(), m.created(),
                files, bytes, m.writer() == null ? 0 : m.writer().epoch(), m.metadata(), false, null, m.worldSize());
    }

    /** How many ranks saved it (1: one writer). */
    public int ranks() {
        return worldSize == null ? 1 : worldSize;
    }

    public CheckpointEntry withPinned(boolean p) {
        return new CheckpointEntry(id, manifest, manifestSha256, run, step, epoch, created, files, logicalBytes,
                writerEpoch, metadata, p, verifiedAt, worldSize);
    }

    public CheckpointEntry withVerifiedAt(Instant at) {
        return new CheckpointEntry(id, manifest, manifestSha256, run, step, epoch, created, files, logicalBytes,
                writerEpoch, metadata, pinned, at, worldSize);
    }
}

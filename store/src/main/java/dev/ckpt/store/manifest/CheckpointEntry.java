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
                              Map<String, String> metadata, boolean pinned, Instant verifiedAt) {
    public CheckpointEntry {
        Ids.checkCheckpointId(id);
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(created, "created");
        metadata = metadata == null ? Map.of() : new TreeMap<>(metadata);
    }

    public static CheckpointEntry of(Manifest m, String manifestSha256) {
        return new CheckpointEntry(m.id(), m.key(), manifestSha256, m.run(), m.step(), m.epoch(), m.created(),
                m.files().size(), m.logicalBytes(), m.writer() == null ? 0 : m.writer().epoch(), m.metadata(), false, null);
    }

    public CheckpointEntry withPinned(boolean p) {
        return new CheckpointEntry(id, manifest, manifestSha256, run, step, epoch, created, files, logicalBytes,
                writerEpoch, metadata, p, verifiedAt);
    }

    public CheckpointEntry withVerifiedAt(Instant at) {
        return new CheckpointEntry(id, manifest, manifestSha256, run, step, epoch, created, files, logicalBytes,
                writerEpoch, metadata, pinned, at);
    }
}

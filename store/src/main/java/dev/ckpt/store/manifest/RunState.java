package dev.ckpt.store.manifest;

import java.time.Instant;

/** Per-run writer fencing: the current writer epoch and who claimed it. */
public record RunState(long writerEpoch, String writerId, Instant claimedAt) {
}

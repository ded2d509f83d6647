package dev.ckpt.store.commit;

/** A writer's claim on a run: commits are accepted only while {@code epoch} is the run's current epoch. */
public record WriterToken(String run, long epoch, String writerId) {
}

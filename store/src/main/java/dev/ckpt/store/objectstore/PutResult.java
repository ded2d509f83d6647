package dev.ckpt.store.objectstore;

/** Outcome of {@link ObjectStore#putIfAbsent}. */
public enum PutResult {
    /** This call created the object. */
    CREATED,
    /** An object was already there (possibly created by an earlier attempt of this caller). */
    ALREADY_EXISTS
}

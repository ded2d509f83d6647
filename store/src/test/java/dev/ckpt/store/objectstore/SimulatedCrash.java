package dev.ckpt.store.objectstore;

/**
 * Thrown by {@link FaultInjectingObjectStore} to simulate the process dying at a chosen
 * point. An Error, not an exception, so that no retry or cleanup logic in the store
 * catches it: after a crash the store instance is dead and every further call on it
 * throws this again, as a killed process would do nothing more.
 */
public final class SimulatedCrash extends Error {
    public SimulatedCrash(String message) {
        super(message, null, false, false);
    }
}

package dev.ckpt.store.testing;

import dev.ckpt.store.objectstore.MemoryStores;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** A fresh in-memory store behind a counting, fault-injecting wrapper, on a fake clock. */
public abstract class InMemoryFixture {
    @TempDir
    protected Path tmp;
    protected final FakeClock clock = new FakeClock();
    protected FaultInjectingObjectStore objects;
    protected CheckpointStore store;

    @BeforeEach
    void openStore() {
        objects = new FaultInjectingObjectStore(MemoryStores.inMemory(clock));
        store = Stores.open(objects, clock);
    }

    @AfterEach
    void closeStore() {
        store.close();
    }
}

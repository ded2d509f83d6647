package dev.ckpt.store.objectstore;

/** With no faults configured, the wrapper is a faithful store. */
class FaultInjectingPassThroughTest extends ObjectStoreContractTest {
    @Override
    protected ObjectStore newStore() {
        return new FaultInjectingObjectStore(MemoryStores.inMemory());
    }
}

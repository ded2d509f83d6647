package dev.ckpt.store.objectstore;

class InMemoryObjectStoreTest extends ObjectStoreContractTest {
    @Override
    protected ObjectStore newStore() {
        return MemoryStores.inMemory();
    }
}

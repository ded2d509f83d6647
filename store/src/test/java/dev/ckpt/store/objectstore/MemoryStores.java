package dev.ckpt.store.objectstore;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test fixture: in-memory stores. {@code mem://NAME} URLs (registered through
 * {@code META-INF/services}) open a store shared by name within this process.
 */
public final class MemoryStores implements ObjectStoreProvider {
    private static final Map<String, InMemoryObjectStore> NAMED = new ConcurrentHashMap<>();

    /** A fresh, private in-memory store whose modification times come from {@code clock}. */
    public static ObjectStore inMemory(Clock clock) {
        return new InMemoryObjectStore("anonymous", clock);
    }

    public static ObjectStore inMemory() {
        return inMemory(Clock.systemUTC());
    }

    @Override
    public String scheme() {
        return "mem";
    }

    @Override
    public ObjectStore open(String url) {
        String name = url.substring(url.indexOf("://") + 3);
        return NAMED.computeIfAbsent(name, n -> new InMemoryObjectStore(n, Clock.systemUTC()));
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.objectstore.StoredObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A create-only write refused (412) where the server's ETags are not MD5s (SSE-KMS) settles
 * whether the object there is ours by reading it back, and reads it only when its size is
 * ours: another object of any size may stand at the key (helper-112: a 3 GiB object in a
 * chunk's place was read whole, and the save ran out of memory). The backend's attempt is
 * simulated; the reads go to a local store through a wrapper that records them.
 */
class ConditionalReadBackTest {
    @TempDir
    Path tmp;

    @Test
    void aRefusedCreateReadsTheObjectBackOnlyWhenItsSizeIsOurs() {
        List<Integer> reads = new ArrayList<>();
        ObjectStore store = new ForwardingObjectStore(ObjectStores.local(tmp)) {
            @Override
            public StoredObject get(String key) {
                StoredObject o = super.get(key);
                reads.add(o.data().length);
                return o;
            }
        };
        byte[] ours = new byte[100];
        ours[7] = 7;
        store.put("chunks/aa/longer", new byte[4 << 20]);
        assertEquals(PutResult.ALREADY_EXISTS, Conditional.putIfAbsent(store, "chunks/aa/longer", ours, 0, ours.length,
                false, () -> false));
        assertEquals(List.of(), reads, "an object of another size is not read");

        byte[] other = ours.clone();
        other[7] = 8;
        store.put("chunks/aa/same-size", other);
        assertEquals(PutResult.ALREADY_EXISTS, Conditional.putIfAbsent(store, "chunks/aa/same-size", ours, 0, ours.length,
                false, () -> false));
        store.put("chunks/aa/ours", ours.clone());
        assertEquals(PutResult.CREATED, Conditional.putIfAbsent(store, "chunks/aa/ours", ours, 0, ours.length, false,
                () -> false), "our own bytes: a repeated request met our write");
        assertEquals(List.of(100, 100), reads, "objects of our size are read back and compared");
    }
}

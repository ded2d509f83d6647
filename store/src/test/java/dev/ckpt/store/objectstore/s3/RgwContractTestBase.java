package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStoreContractTest;
import dev.ckpt.store.testing.CephRgw;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The object-store contract against a real Ceph RGW 16.2 ({@link CephRgw}, started by the
 * test), over HTTP with SigV4. The whole contract applies: it uses only GET, HEAD, PUT
 * (plain, {@code If-None-Match: *}, {@code If-Match}), DELETE and LIST. What RGW 16.2
 * lacks is not part of it: RGW ignores conditions on DELETE and on
 * CompleteMultipartUpload, and the store never sends either (ROOT, manifests and chunks
 * are single PUTs; deletes are unconditional and only GC makes them, under its lease).
 * RGW reads {@code If-Match} only with the bare ETag: {@link #learnsTheBareIfMatchForm()}.
 */
abstract class RgwContractTestBase extends ObjectStoreContractTest {
    static CephRgw rgw;
    private String prefix;

    abstract S3Config.Client client();

    abstract S3Config.Http http();

    @BeforeAll
    static void startRgw() {
        rgw = CephRgw.shared();
        rgw.createBucket("contract");
    }

    @Override
    protected boolean readsIntoBuffer() {
        return true; // both clients read into it
    }

    @Override
    protected ObjectStore newStore() {
        prefix = "t-" + RandomIds.hex(6);
        return S3ObjectStores.open(rgw.config("contract", prefix, client(), http()).withProbe(false));
    }

    @Override
    protected String urlForOtherProcesses() {
        return "s3://contract/" + prefix;
    }

    @Override
    protected Map<String, String> envForOtherProcesses() {
        return rgw.env(client(), http());
    }

    @Test
    void learnsTheBareIfMatchForm() {
        byte[] a = "a".getBytes(StandardCharsets.UTF_8);
        String first = store.put("k", a);
        assertEquals(Optional.empty(), store.ifMatchForm(), "nothing learnt before a conditional replace");
        assertThrows(dev.ckpt.store.error.PreconditionFailedException.class,
                () -> store.putIfMatch("k", "stale".getBytes(StandardCharsets.UTF_8), "0123456789abcdef0123456789abcdef"));
        assertEquals(Optional.empty(), store.ifMatchForm(), "a stale ETag teaches nothing");
        String second = store.putIfMatch("k", "b".getBytes(StandardCharsets.UTF_8), first);
        assertEquals(Optional.of(IfMatchForm.BARE), store.ifMatchForm());
        assertThrows(dev.ckpt.store.error.PreconditionFailedException.class,
                () -> store.putIfMatch("k", "c".getBytes(StandardCharsets.UTF_8), first), "stale in the bare form");
        store.putIfMatch("k", "d".getBytes(StandardCharsets.UTF_8), second);
        assertEquals("d", new String(store.get("k").data(), StandardCharsets.UTF_8));
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.objectstore.MemoryStores;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.objectstore.ConditionalWriteProbe;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.objectstore.ObjectStore;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How an S3 backend finds the {@code If-Match} form a server reads ({@link Conditional#putIfMatch}),
 * against a model server that honours a chosen set of forms: AWS S3 and MinIO the quoted
 * one, Ceph RGW 16.2 the bare one, a broken server neither. The real RGW is in
 * {@code RgwContractTestBase}.
 */
class IfMatchFormTest {
    /** An in-memory "server" whose If-Match compares the header literally with the forms it understands. */
    static final class ModelServer extends ForwardingObjectStore {
        final Set<IfMatchForm> honours;
        final Conditional.Forms forms = new Conditional.Forms();
        final List<String> headersSent = new ArrayList<>();

        ModelServer(Set<IfMatchForm> honours) {
            super(MemoryStores.inMemory());
            this.honours = honours;
        }

        @Override
        public Optional<IfMatchForm> ifMatchForm() {
            return forms.known();
        }

        @Override
        public String putIfMatch(String key, byte[] data, String expectedEtag) {
            return Conditional.putIfMatch(this, key, data, expectedEtag, true, forms, header -> {
                headersSent.add(header);
                String current = head(key).map(i -> i.etag()).orElse(null);
                boolean matches = current != null && honours.stream().anyMatch(f -> f.header(current).equals(header));
                if (!matches) {
                    throw new PreconditionFailedException(key, expectedEtag, current);
                }
                return put(key, data);
            });
        }
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aQuotedServerIsSentTheQuotedFormOnly() {
        ModelServer s3 = new ModelServer(Set.of(IfMatchForm.QUOTED));
        String e = s3.put("k", b("a"));
        s3.putIfMatch("k", b("b"), e);
        assertEquals(List.of("\"" + e + "\""), s3.headersSent);
        assertEquals(Optional.of(IfMatchForm.QUOTED), s3.ifMatchForm());
    }

    @Test
    void aBareServerIsLearntOnTheFirstReplaceAndSentTheBareFormFromThenOn() {
        ModelServer rgw = new ModelServer(Set.of(IfMatchForm.BARE));
        String e1 = rgw.put("k", b("a"));
        String e2 = rgw.putIfMatch("k", b("b"), e1);
        assertEquals(List.of("\"" + e1 + "\"", e1), rgw.headersSent, "quoted first, then bare once");
        assertEquals(Optional.of(IfMatchForm.BARE), rgw.ifMatchForm());
        rgw.headersSent.clear();
        rgw.putIfMatch("k", b("c"), e2);
        assertEquals(List.of(e2), rgw.headersSent, "settled: one request per replace");
        rgw.headersSent.clear();
        assertThrows(PreconditionFailedException.class, () -> rgw.putIfMatch("k", b("d"), e1));
        assertEquals(List.of(e1), rgw.headersSent, "a stale ETag is refused in the settled form, nothing else is tried");
        assertEquals("c", new String(rgw.get("k").data(), StandardCharsets.UTF_8));
    }

    @Test
    void aStaleEtagTeachesNothingAndIsNotRetriedInTheOtherForm() {
        ModelServer rgw = new ModelServer(Set.of(IfMatchForm.BARE));
        String e1 = rgw.put("k", b("a"));
        rgw.put("k", b("b"));
        assertThrows(PreconditionFailedException.class, () -> rgw.putIfMatch("k", b("c"), e1));
        assertEquals(1, rgw.headersSent.size(), "the object's ETag differs: the refusal is real");
        assertEquals(Optional.empty(), rgw.ifMatchForm());
        assertEquals("b", new String(rgw.get("k").data(), StandardCharsets.UTF_8));
    }

    @Test
    void aServerHonouringNeitherFormIsRefusedByTheProbe() {
        ModelServer broken = new ModelServer(Set.of());
        ConditionalWriteProbe.Result r = ConditionalWriteProbe.run(broken);
        assertFalse(r.ok());
        assertFalse(r.currentIfMatchAccepted());
        assertEquals(null, r.ifMatchForm());
        assertTrue(r.problems().stream().anyMatch(p -> p.contains("quoted") && p.contains("bare")), r.problems().toString());
    }

    @Test
    void theProbeReportsTheFormItLearnt() {
        for (IfMatchForm f : IfMatchForm.values()) {
            ObjectStore server = new ModelServer(Set.of(f));
            ConditionalWriteProbe.Result r = ConditionalWriteProbe.run(server);
            assertTrue(r.ok(), r.problems().toString());
            assertEquals(f, r.ifMatchForm());
        }
    }
}

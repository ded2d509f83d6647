package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 409 ConditionalRequestConflict on a conditional write is tried again; a server that keeps answering it gets an error. */
class ConditionalConflictTest {
    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void conflictsAreRetriedAndPersistentOnesFail(S3Config.Client client) throws Exception {
        AtomicInteger conflictsLeft = new AtomicInteger();
        AtomicInteger conflictsSent = new AtomicInteger();
        try (S3ProxyServer server = S3ProxyServer.start(null, (op, key) -> {
            if (op.equals("PUT") && key.endsWith("/k") && conflictsLeft.getAndDecrement() > 0) {
                conflictsSent.incrementAndGet();
                // what S3 sends: 409 with the error code in an XML body
                throw software.amazon.awssdk.services.s3.model.S3Exception.builder().statusCode(409)
                        .awsErrorDetails(software.amazon.awssdk.awscore.exception.AwsErrorDetails.builder()
                                .errorCode("ConditionalRequestConflict")
                                .errorMessage("A conflicting conditional operation is currently in progress").build())
                        .build();
            }
        })) {
            server.createBucket("conflict");
            try (ObjectStore s = S3ObjectStores.open(server.config("conflict", client.name(), client, S3Config.Http.APACHE))) {
                conflictsLeft.set(2);
                assertEquals(PutResult.CREATED, s.putIfAbsent("k", "one".getBytes(StandardCharsets.UTF_8)));
                String etag = s.head("k").orElseThrow().etag();
                conflictsLeft.set(2);
                s.putIfMatch("k", "two".getBytes(StandardCharsets.UTF_8), etag);
                assertArrayEquals("two".getBytes(StandardCharsets.UTF_8), s.get("k").data());
                assertEquals(4, conflictsSent.get());

                conflictsLeft.set(Integer.MAX_VALUE);
                conflictsSent.set(0);
                CkptException e = assertThrows(CkptException.class,
                        () -> s.putIfMatch("k", "three".getBytes(StandardCharsets.UTF_8), s.head("k").orElseThrow().etag()));
                assertTrue(e.getMessage().contains("s3://conflict/" + client.name() + "/k"), e.getMessage());
                assertTrue(conflictsSent.get() >= 5, "tried again before giving up: " + conflictsSent.get());
                conflictsLeft.set(0);
                assertArrayEquals("two".getBytes(StandardCharsets.UTF_8), s.get("k").data());
            }
        }
    }
}

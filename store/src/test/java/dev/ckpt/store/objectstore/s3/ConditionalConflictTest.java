package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.commit.RootStore;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 409 ConditionalRequestConflict on a conditional write: the backend sends the write once and
 * reports it (nothing written); the one retry loop, RootStore's, tries again, and a server that
 * keeps answering it gets an error (issue 11, "One retry policy").
 */
class ConditionalConflictTest {
    private final AtomicInteger conflictsLeft = new AtomicInteger();
    private final AtomicInteger conflictsSent = new AtomicInteger();

    private S3ProxyServer server(String suffix) throws Exception {
        return S3ProxyServer.start(null, (op, key) -> {
            if (op.equals("PUT") && key.endsWith(suffix) && conflictsLeft.getAndDecrement() > 0) {
                conflictsSent.incrementAndGet();
                // what S3 sends: 409 with the error code in an XML body
                throw software.amazon.awssdk.services.s3.model.S3Exception.builder().statusCode(409)
                        .awsErrorDetails(software.amazon.awssdk.awscore.exception.AwsErrorDetails.builder()
                                .errorCode("ConditionalRequestConflict")
                                .errorMessage("A conflicting conditional operation is currently in progress").build())
                        .build();
            }
        });
    }

    private static RootState withRun(RootState s, String run) {
        return s.withRuns(Map.of(run, new RunState(1, run, Instant.parse("2026-01-01T00:00:00Z"))));
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void conflictsAreRetriedAndPersistentOnesFail(S3Config.Client client) throws Exception {
        try (S3ProxyServer server = server("/ROOT")) {
            server.createBucket("conflict");
            try (ObjectStore s = S3ObjectStores.open(server.config("conflict", client.name(), client, S3Config.Http.APACHE))) {
                RootStore root = new RootStore(s, millis -> { }, 60);
                conflictsLeft.set(2);
                root.change(r -> withRun(r, "one")); // creates ROOT: If-None-Match
                conflictsLeft.set(2);
                root.change(r -> withRun(r, "two")); // replaces ROOT: If-Match
                assertEquals(java.util.Set.of("two"), root.read().state().runs().keySet());
                assertEquals(4, conflictsSent.get());

                conflictsLeft.set(Integer.MAX_VALUE);
                conflictsSent.set(0);
                CkptException e = assertThrows(CkptException.class, () -> root.change(r -> withRun(r, "three")));
                assertTrue(e.getMessage().contains("s3://conflict/" + client.name() + "/"), e.getMessage());
                assertTrue(conflictsSent.get() >= 5, "tried again before giving up: " + conflictsSent.get());
                conflictsLeft.set(0);
                assertEquals(java.util.Set.of("two"), root.read().state().runs().keySet());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void aConflictIsOneRequestReportedAsNothingWritten(S3Config.Client client) throws Exception {
        try (S3ProxyServer server = server("/k")) {
            server.createBucket("conflict");
            try (ObjectStore s = S3ObjectStores.open(server.config("conflict", client.name(), client, S3Config.Http.APACHE))) {
                byte[] one = "one".getBytes(StandardCharsets.UTF_8);
                conflictsLeft.set(Integer.MAX_VALUE);
                StoreUnavailableException create = assertThrows(StoreUnavailableException.class,
                        () -> s.putIfAbsent("k", one, 0, one.length), "absent after a 409: not created, caller decides");
                assertTrue(create.getMessage().contains("s3://conflict/" + client.name() + "/k"), create.getMessage());
                assertEquals(1, conflictsSent.get(), "no retry in the backend");
                assertTrue(s.head("k").isEmpty());

                conflictsLeft.set(0);
                assertEquals(PutResult.CREATED, s.putIfAbsent("k", one, 0, one.length));
                String etag = s.head("k").orElseThrow().etag();
                conflictsLeft.set(Integer.MAX_VALUE);
                conflictsSent.set(0);
                PreconditionFailedException replace = assertThrows(PreconditionFailedException.class,
                        () -> s.putIfMatch("k", "two".getBytes(StandardCharsets.UTF_8), etag));
                assertTrue(replace.getMessage().contains("k"), replace.getMessage());
                assertEquals(1, conflictsSent.get(), "no retry in the backend");
                conflictsLeft.set(0);
                assertArrayEquals(one, s.get("k").data());
                conflictsLeft.set(1);
                assertEquals(PutResult.ALREADY_EXISTS, s.putIfAbsent("k", one, 1, 2), "a 409 settled by HEAD: another object");
                conflictsLeft.set(1);
                assertEquals(PutResult.CREATED, s.putIfAbsent("k", one, 0, one.length), "a 409 settled by HEAD: our bytes");
            }
        }
    }
}

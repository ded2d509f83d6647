package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A create-only PUT whose object was stored but whose response was lost (the server answers
 * 500 after storing; the client tries again and meets 412) is settled as ours when the
 * object holds our bytes — also when the bytes are a prefix of a larger, reused buffer, as a
 * save passes them — and as someone else's when it does not.
 */
class LostCreateResponseTest {
    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void aStoredCreateWhoseResponseWasLostIsOurs(S3Config.Client client) throws Exception {
        AtomicInteger lose = new AtomicInteger();
        AtomicInteger lost = new AtomicInteger();
        S3ProxyServer.FaultHook hook = new S3ProxyServer.FaultHook() {
            @Override
            public void before(String operation, String key) {
            }

            @Override
            public void afterPut(String key) {
                if (lose.getAndDecrement() > 0) {
                    lost.incrementAndGet();
                    throw S3Exception.builder().statusCode(500).message("stored, but the response is lost").build();
                }
            }
        };
        try (S3ProxyServer server = S3ProxyServer.start(null, hook)) {
            server.createBucket("lost");
            try (ObjectStore s = S3ObjectStores.open(server.config("lost", client.name(), client, S3Config.Http.APACHE))) {
                // the conditional-write probe runs on the first conditional write, here without losses
                assertEquals(PutResult.CREATED, s.putIfAbsent("warm-up", new byte[]{1}, 0, 1));

                byte[] buffer = "chunk bytes|and the rest of a reused buffer".getBytes(StandardCharsets.UTF_8);
                int length = "chunk bytes".length();
                lose.set(1);
                assertEquals(PutResult.CREATED, s.putIfAbsent("chunks/ab/mine", buffer, 0, length));
                assertEquals(1, lost.get(), "the response of the first try was lost");
                Arrays.fill(buffer, (byte) '#'); // the caller reuses its buffer once the call returns
                assertArrayEquals("chunk bytes".getBytes(StandardCharsets.UTF_8), s.get("chunks/ab/mine").data());

                byte[] other = "other bytes|tail".getBytes(StandardCharsets.UTF_8);
                assertEquals(PutResult.ALREADY_EXISTS, s.putIfAbsent("chunks/ab/mine", other, 0, 11),
                        "another writer's object of the same length is not ours");
                assertArrayEquals("chunk bytes".getBytes(StandardCharsets.UTF_8), s.get("chunks/ab/mine").data());
                assertTrue(lose.get() <= 0);
            }
        }
    }
}

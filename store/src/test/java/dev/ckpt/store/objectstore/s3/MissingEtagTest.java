package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.StoredBytes;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * helper-87: an object S3Proxy serves without an ETag (its filesystem store keeps the MD5 in an
 * extended attribute, which a copy without attributes loses). A read that needs the ETag says
 * the server sent none, as a problem to act on; it had been a null taken for a network failure
 * ("network or server unreachable", exit 7). A chunk's read needs no ETag and succeeds.
 */
class MissingEtagTest {
    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void aReadThatNeedsTheEtagSaysTheServerSentNoneAndAChunkReadNeedsNone(S3Config.Client client, S3Config.Http http,
                                                                           @TempDir Path dir) throws Exception {
        byte[] data = "chunk bytes".getBytes();
        try (S3ProxyServer server = S3ProxyServer.start(dir)) {
            server.createBucket("noetag");
            try (ObjectStore s = S3ObjectStores.open(server.config("noetag", "p", client, http))) {
                s.put("chunks/ab/x", data);
                Path file = dir.resolve("noetag/p/chunks/ab/x");
                assertTrue(Files.isRegularFile(file), "S3Proxy's file of the object: " + file);
                Path copy = dir.resolve("copy");
                Files.copy(file, copy); // without its extended attributes
                Files.move(copy, file, StandardCopyOption.REPLACE_EXISTING);

                StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> s.get("chunks/ab/x"));
                assertTrue(e.getMessage().contains("the server sent no ETag with ") && e.getMessage().contains("chunks/ab/x")
                        && e.needsAction(), e.getMessage());

                StoredBytes b = s.getInto("chunks/ab/x", new byte[64]).orElseThrow();
                assertArrayEquals(data, Arrays.copyOf(b.array(), b.length()));
            }
        }
    }
}

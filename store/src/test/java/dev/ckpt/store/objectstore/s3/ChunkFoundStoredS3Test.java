package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.ForgetRequest;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.testing.StallingLink;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A save that finds a chunk object already stored by a save that no live checkpoint records
 * (a rank's, one that did not commit, a forgotten checkpoint's before GC) and not holding its
 * bytes reads it once to learn how it is encoded, with no size lookup before the read
 * ({@code ObjectStore#getInto} into a buffer of the most any encoding takes; before, a HEAD
 * came first: one more request per such
 * chunk). An object larger than any encoding of its chunk is written over without its body
 * being read; so is one a restore finds (below). Counted on the wire, by the request lines a
 * {@link StallingLink} passes, for the three S3 clients against S3Proxy.
 */
class ChunkFoundStoredS3Test {
    static final int CHUNK = 64 * 1024;

    @TempDir
    Path tmp;
    LinkedS3Proxy s3;
    StallingLink link;

    @BeforeEach
    void start() throws Exception {
        s3 = new LinkedS3Proxy("found");
        link = s3.link;
    }

    @AfterEach
    void stop() throws Exception {
        s3.close();
    }

    ObjectStore throughLink(S3Config.Client client, S3Config.Http http) {
        return S3ObjectStores.open(s3.throughLink(client, http));
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void chunksFoundStoredAreReadOnceWithoutASizeLookupAndAnOversizedOneIsWrittenOverUnread(S3Config.Client client,
                                                                                          S3Config.Http http) throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 11, 4, 300_000);
        StoreConfig config = StoreConfig.defaults().withChunkSize(CHUNK);
        try (ObjectStore objects = throughLink(client, http);
             CheckpointStore store = CheckpointStore.open(objects, config)) {
            SaveResult first = store.save(store.claimWriter("a"), SaveRequest.of(src, "a", 1));
            assertTrue(first.newChunks() > 8, "chunks: " + first.newChunks());
            store.forget(ForgetRequest.of(first.checkpointId())); // its chunks stay until a GC: stored, not live

            // one of them is damaged: an object larger than any encoding of its chunk
            List<ObjectInfo> chunks = objects.list("chunks/").stream().toList();
            ObjectInfo damaged = chunks.get(0);
            byte[] huge = new byte[ChunkCodec.maxEncodedLength(CHUNK) + 4096];
            Arrays.fill(huge, (byte) 'x');
            objects.put(damaged.key(), huge);
            assertEquals(Optional.empty(), objects.getInto(damaged.key(), new byte[ChunkCodec.maxEncodedLength(CHUNK)]));

            int before = link.requests().size();
            SaveResult second = store.save(store.claimWriter("b"), SaveRequest.of(src, "b", 1));
            List<String> during = link.requests().subList(before, link.requests().size());
            // every chunk: a create-only PUT refused (412), then a HEAD to see whether the object is these bytes
            // (its MD5 ETag); only the damaged one is not, and is read (bounded) and written over
            List<String> forDamaged = during.stream().filter(l -> StallingLink.path(l).endsWith("/" + damaged.key()))
                    .map(l -> l.substring(0, l.indexOf(' '))).toList();
            assertEquals(List.of("PUT", "HEAD", "GET", "PUT"), forDamaged, "requests for the damaged object");
            long otherGets = during.stream().filter(l -> l.startsWith("GET ") && l.contains("/chunks/")
                    && !StallingLink.path(l).endsWith("/" + damaged.key()) && !l.contains("?")).count();
            assertEquals(0, otherGets, "the chunks found whole are not read");
            assertEquals(first.newChunks() + first.dedupChunks(), second.newChunks() + second.dedupChunks());

            byte[] rewritten = objects.get(damaged.key()).data();
            assertTrue(rewritten.length <= ChunkCodec.maxEncodedLength(CHUNK), "written over: " + rewritten.length);
            Path out = tmp.resolve("out");
            store.restore(second.checkpointId(), out);
            for (Path f : Files.walk(src).filter(Files::isRegularFile).toList()) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(out.resolve(src.relativize(f))), f.toString());
            }
        }
    }

    /**
     * A restore does not read a chunk object longer than its record (helper-112's kind): one
     * GET, its answer dropped unread, and a refusal naming the chunk; a deep verify names it too.
     */
    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void aRestoreDoesNotReadAChunkObjectLongerThanItsRecord(S3Config.Client client, S3Config.Http http) throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 12, 4, 300_000);
        try (ObjectStore objects = throughLink(client, http);
             CheckpointStore store = CheckpointStore.open(objects, StoreConfig.defaults().withChunkSize(CHUNK))) {
            SaveResult saved = store.save(store.claimWriter("a"), SaveRequest.of(src, "a", 1));
            ObjectInfo damaged = objects.list("chunks/").stream().findFirst().orElseThrow();
            byte[] huge = new byte[8 << 20];
            Arrays.fill(huge, (byte) 'x');
            objects.put(damaged.key(), huge);

            int before = link.requests().size();
            dev.ckpt.store.error.CorruptObjectException e = assertThrows(dev.ckpt.store.error.CorruptObjectException.class,
                    () -> store.restore(saved.checkpointId(), tmp.resolve("out")));
            assertTrue(e.getMessage().contains("chunk " + damaged.key() + " is corrupt: it is longer than the "), e.getMessage());
            List<String> reads = link.requests().subList(before, link.requests().size()).stream()
                    .filter(l -> StallingLink.path(l).endsWith("/" + damaged.key()))
                    .map(l -> l.substring(0, l.indexOf(' '))).toList();
            assertEquals(List.of("GET"), reads, "one GET of the damaged object");
            dev.ckpt.store.restore.VerifyReport v = store.verify(dev.ckpt.store.VerifyRequest.deep());
            assertEquals(1, v.problems().size(), v.problems().toString());
            assertEquals(damaged.key(), v.problems().get(0).key());
        }
    }
}

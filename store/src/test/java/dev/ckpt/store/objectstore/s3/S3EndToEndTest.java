package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.BigCheckpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Save, restore and deep verify of a generated 512 MiB checkpoint (128 chunks: 8 times the
 * 16 requests in flight) through each S3 backend against the in-process S3 server
 * (filesystem-backed), then a second save with 10 % of the files changed that must PUT only
 * the changed chunks. Size: -Dckpt.e2e.mb (default 512; it was 1024, 107 s of every CI run
 * for the three clients, where the pipeline's memory bound has its own test at 8 GiB).
 */
class S3EndToEndTest {
    static final int MB = Integer.getInteger("ckpt.e2e.mb", 512);
    @TempDir
    static Path tmp;
    static S3ProxyServer server;
    static Path first;
    static Path second;
    static int changedTensors;

    @BeforeAll
    static void setUp() throws Exception {
        server = S3ProxyServer.start(tmp.resolve("s3"));
        first = tmp.resolve("ckpt-1");
        second = tmp.resolve("ckpt-2");
        BigCheckpoint.write(first, MB, false);
        changedTensors = BigCheckpoint.write(second, MB, true);
        assertTrue(changedTensors > 0);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void saveRestoreVerifyAndIncrementalSave(S3Config.Client client, S3Config.Http http) throws Exception {
        String bucket = ("e2e-" + client + "-" + http).toLowerCase().replace('_', '-');
        server.createBucket(bucket);
        FaultInjectingObjectStore counting = new FaultInjectingObjectStore(
                S3ObjectStores.open(server.config(bucket, "ckpt", client, http)));
        try (CheckpointStore store = CheckpointStore.open(counting, StoreConfig.defaults())) {
            WriterToken w = store.claimWriter("e2e");
            SaveResult s1 = store.save(w, SaveRequest.of(first, "e2e", 1));
            System.out.printf("%s/%s first save: %s%n", client, http, s1.summary());
            assertEquals(BigCheckpoint.files(MB) * BigCheckpoint.TENSORS_PER_FILE + 2, s1.newChunks(),
                    "one chunk per 4 MiB tensor, plus the shard headers (identical, stored once) and state.json");

            Path out = tmp.resolve("restore-" + bucket);
            RestoreResult r1 = store.restore(s1.checkpointId(), out);
            assertEquals(tree(first), tree(out), "restored bytes equal the saved ones");
            System.out.printf("%s/%s restore: %d chunks in %d ms%n", client, http, r1.chunksDownloaded(), r1.time().toMillis());

            counting.resetCounts();
            SaveResult s2 = store.save(w, SaveRequest.of(second, "e2e", 2));
            System.out.printf("%s/%s second save: %s%n", client, http, s2.summary());
            List<String> chunkPuts = counting.writtenKeys().stream().filter(k -> k.startsWith("chunks/")).toList();
            assertEquals(changedTensors + 1, chunkPuts.size(), "PUTs of the changed tensors and the new state.json only: " + chunkPuts);
            assertEquals(changedTensors + 1, s2.newChunks());
            assertEquals(1, counting.writtenKeys().stream().filter(k -> k.startsWith("manifests/")).count());

            VerifyReport deep = store.verify(VerifyRequest.deep());
            assertTrue(deep.ok(), () -> deep.problems().toString());
            assertEquals(2, deep.checkpoints());
            store.restore(s2.checkpointId(), out);
            assertEquals(tree(second), tree(out));
        }
    }

    /**
     * A chunk object deleted and another truncated behind ckpt's back (a bucket lifecycle rule, an operator), both
     * referenced by the live checkpoint: the next save of the same data, in a new process, finds them by its listing
     * of chunks/ (12 files: more than 8 chunks to look at) and writes them again; every checkpoint restores.
     */
    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void chunksDeletedOrTruncatedBehindCkptsBackAreWrittenAgainByTheNextSave(S3Config.Client client, S3Config.Http http)
            throws Exception {
        String bucket = ("repair-" + client + "-" + http).toLowerCase().replace('_', '-');
        server.createBucket(bucket);
        Path data = dev.ckpt.store.testing.TestDirs.checkpoint(tmp.resolve("small-" + bucket), 3, 12, 200_000);
        List<String> damaged;
        try (CheckpointStore store = CheckpointStore.open(S3ObjectStores.open(server.config(bucket, "ckpt", client, http)),
                StoreConfig.defaults())) {
            store.init();
            store.save(store.claimWriter("r"), SaveRequest.of(data, "r", 1));
            damaged = store.manifest(store.resolve("r@1")).chunkRefs().values().stream()
                    .map(dev.ckpt.store.chunk.ChunkRef::key).limit(2).toList();
        }
        dev.ckpt.store.objectstore.ObjectStore objects = S3ObjectStores.open(server.config(bucket, "ckpt", client, http));
        try {
            objects.delete(damaged.get(0));
            byte[] whole = objects.get(damaged.get(1)).data();
            objects.put(damaged.get(1), java.util.Arrays.copyOf(whole, whole.length - 1));
        } finally {
            objects.close();
        }
        try (CheckpointStore store = CheckpointStore.open(S3ObjectStores.open(server.config(bucket, "ckpt", client, http)),
                StoreConfig.defaults())) {
            SaveResult again = store.save(store.claimWriter("r"), SaveRequest.of(data, "r", 2));
            assertEquals(damaged, again.repairedChunks());
            VerifyReport deep = store.verify(VerifyRequest.deep());
            assertTrue(deep.ok(), () -> deep.problems().toString());
            for (String step : List.of("r@1", "r@2")) {
                Path out = tmp.resolve("out-" + bucket + "-" + step.replace('@', '-'));
                store.restore(store.resolve(step), out, List.of());
                assertEquals(tree(data), tree(out), step);
            }
        }
    }

    /** Relative path -> SHA-256 of every file: compares trees of 1 GiB without holding them. */
    static Map<String, String> tree(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
                MessageDigest md = dev.ckpt.store.chunk.Hashes.sha256();
                try (var in = Files.newInputStream(p)) {
                    byte[] buf = new byte[1 << 20];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        md.update(buf, 0, n);
                    }
                }
                out.put(dir.relativize(p).toString(), HexFormat.of().formatHex(md.digest()));
            }
        }
        return out;
    }
}

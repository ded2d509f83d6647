package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.GcRequest;
import dev.ckpt.store.ForgetRequest;
import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.gc.GcResult;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.restore.VerifyReport;
import dev.ckpt.store.testing.BigCheckpoint;
import dev.ckpt.store.testing.CephRgw;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The store end to end against a real Ceph RGW 16.2 ({@link CephRgw}), with each S3 client:
 * save → restore → deep verify; 8 concurrent saves to different runs all commit; forget,
 * GC and a restore of the kept checkpoint. Before the bare {@code If-Match} form was
 * learnt (see {@link IfMatchForm}) every one of these failed at the first ROOT write.
 */
class RgwEndToEndTest {
    static final int MB = 64; // one shard of 16 float32 tensors of 4 MiB
    static CephRgw rgw;
    @TempDir
    static Path tmp;
    static Path v1;
    static Path v2;
    static byte[] shared;

    @BeforeAll
    static void setUp() {
        rgw = CephRgw.shared();
        rgw.createBucket("e2e");
        v1 = tmp.resolve("v1");
        v2 = tmp.resolve("v2");
        BigCheckpoint.write(v1, MB, false);
        BigCheckpoint.write(v2, MB, true);
        shared = new byte[2 << 20];
        new java.util.Random(3).nextBytes(shared);
    }

    private static CheckpointStore open(S3Config.Client client, S3Config.Http http, String prefix) {
        return CheckpointStore.open(S3ObjectStores.open(rgw.config("e2e", prefix, client, http)),
                StoreConfig.defaults().withGcGrace(Duration.ZERO));
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void saveRestoreDeepVerify(S3Config.Client client, S3Config.Http http) throws Exception {
        try (CheckpointStore store = open(client, http, "srv-" + RandomIds.hex(4))) {
            WriterToken w = store.claimWriter("run");
            SaveResult s1 = store.save(w, SaveRequest.of(v1, "run", 1));
            SaveResult s2 = store.save(w, SaveRequest.of(v2, "run", 2));
            assertTrue(s2.newChunks() < s1.newChunks(), "the second save deduplicates: " + s2.summary());
            assertEquals(Optional.of(IfMatchForm.BARE), store.objectStore().ifMatchForm());
            for (SaveResult s : List.of(s1, s2)) {
                Path out = tmp.resolve("restore-" + RandomIds.hex(4));
                store.restore(s.checkpointId(), out);
                assertEquals(S3EndToEndTest.tree(s == s1 ? v1 : v2), S3EndToEndTest.tree(out));
            }
            VerifyReport deep = store.verify(VerifyRequest.deep());
            assertTrue(deep.ok(), () -> deep.problems().toString());
            assertEquals(2, deep.checkpoints());
        }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void eightConcurrentSavesToDifferentRunsAllCommit(S3Config.Client client, S3Config.Http http) throws Exception {
        String prefix = "conc-" + RandomIds.hex(4);
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Path d = tmp.resolve(prefix + "-" + i);
            Files.createDirectories(d);
            Files.write(d.resolve("weights.bin"), RandomIds.hex(4096 + i).getBytes());
            Files.write(d.resolve("shared.bin"), shared); // the same chunks in every run: uploaded by whoever is first
            dirs.add(d);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<SaveResult>> saves = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;
                // one store per "process": its own client, its own ROOT reads, racing on one ROOT
                saves.add(pool.submit(() -> {
                    try (CheckpointStore store = open(client, http, prefix)) {
                        WriterToken w = store.claimWriter("run-" + n);
                        return store.save(w, SaveRequest.of(dirs.get(n), "run-" + n, 100 + n));
                    }
                }));
            }
            for (Future<SaveResult> f : saves) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        try (CheckpointStore store = open(client, http, prefix)) {
            var all = store.root().checkpoints();
            assertEquals(8, all.size(), "every run committed: " + all);
            for (int i = 0; i < 8; i++) {
                Path out = tmp.resolve(prefix + "-out-" + i);
                store.restore(store.list("run-" + i).get(0), out, List.of());
                assertEquals(S3EndToEndTest.tree(dirs.get(i)), S3EndToEndTest.tree(out));
            }
            assertTrue(store.verify(VerifyRequest.deep()).ok());
        }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void forgetGcAndRestoreTheKeptCheckpoint(S3Config.Client client, S3Config.Http http) throws Exception {
        try (CheckpointStore store = open(client, http, "gc-" + RandomIds.hex(4))) {
            WriterToken w = store.claimWriter("run");
            SaveResult s1 = store.save(w, SaveRequest.of(v1, "run", 1));
            SaveResult s2 = store.save(w, SaveRequest.of(v2, "run", 2));
            assertEquals(List.of(s1.checkpointId()), store.forget(ForgetRequest.of(List.of(s1.checkpointId()))));
            GcResult gc = store.gc(GcRequest.collect());
            assertFalse(gc.deletedKeys().isEmpty(), "the forgotten checkpoint's own chunks are deleted");
            assertTrue(gc.deletedKeys().stream().noneMatch(k -> k.equals("ROOT")));
            for (String k : gc.deletedKeys()) {
                assertTrue(store.objectStore().head(k).isEmpty(), k + " is gone");
            }
            Path out = tmp.resolve("kept-" + RandomIds.hex(4));
            store.restore(s2.checkpointId(), out);
            assertEquals(S3EndToEndTest.tree(v2), S3EndToEndTest.tree(out));
            VerifyReport deep = store.verify(VerifyRequest.deep());
            assertTrue(deep.ok(), () -> deep.problems().toString());
            assertEquals(1, deep.checkpoints());
        }
    }
}

package dev.ckpt.trainer;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.S3TestServer;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer against a real S3 server over HTTP with SigV4 (S3Proxy, in-process), through
 * each S3 client: async saves, a resume that downloads from S3, the frozen block PUT once,
 * and the end state byte-identical to a run on the local filesystem that never stopped.
 */
class TrainerS3Test {
    static S3ProxyServer server;
    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("train");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** The server under test: S3Proxy here, Ceph RGW in {@link TrainerRgwTest}. */
    S3TestServer server() {
        return server;
    }

    private Result run(S3Config.Client client, String prefix, TracingStore[] seen, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        S3Config cfg = server().config("train", prefix, client, S3Config.Http.APACHE);
        int code = Trainer.run(TrainOptions.parse(args, Map.of()), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                url -> CheckpointStore.open(seen[0] = new TracingStore(S3ObjectStores.open(cfg), null, 0), StoreConfig.defaults()),
                new Preemption(new PrintStream(err, true, StandardCharsets.UTF_8)));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void trainsSavesAndResumesThroughS3BitIdenticallyToALocalRun(S3Config.Client client) throws Exception {
        String prefix = "runs-" + client.name().toLowerCase();
        String[] common = {"--run", "s3", "--save-every", "10", "--frozen-mb", "3", "--keep-last", "10"};
        Result local = TrainerRuns.inProcess(concat(common, "--store", tmp.resolve("local").toString(), "--staging",
                tmp.resolve("staging-local").toString(), "--steps", "50"));
        assertEquals(0, local.code(), local.all());

        TracingStore[] first = new TracingStore[1];
        Result a = run(client, prefix, first, concat(common, "--store", "s3://train/" + prefix, "--staging",
                tmp.resolve("staging-a").toString(), "--steps", "30"));
        assertEquals(0, a.code(), a.all());
        assertTrue(a.out().contains("store s3://train/" + prefix + "/ at '" + server().endpoint() + "', path-style addressing,"
                + " region ") && a.out().contains(", client " + client.name().toLowerCase() + " (writer epoch"), a.out());
        // another machine: empty staging, so the resume downloads every chunk from S3
        TracingStore[] second = new TracingStore[1];
        Result b = run(client, prefix, second, concat(common, "--store", "s3://train/" + prefix, "--staging",
                tmp.resolve("staging-b").toString(), "--steps", "50", "--auto-resume"));
        assertEquals(0, b.code(), b.all());
        assertTrue(b.out().matches("(?s).*auto-resume: restored checkpoint s3-s30-\\S+ .*: [1-9]\\d* chunks? downloaded, 0 reused.*"), b.out());

        S3Config cfg = server().config("train", prefix, client, S3Config.Http.APACHE);
        try (CheckpointStore s = CheckpointStore.open(S3ObjectStores.open(cfg), StoreConfig.defaults())) {
            List<CheckpointEntry> cps = s.list("s3");
            assertEquals(List.of(10L, 20L, 30L, 40L, 50L), cps.stream().map(CheckpointEntry::step).toList());
            Set<String> frozen = new HashSet<>();
            for (CheckpointEntry e : cps) {
                for (FileEntry f : s.manifest(e).files()) {
                    if (f.path().equals("frozen.safetensors")) {
                        f.chunks().forEach(c -> frozen.add(ChunkRef.keyOf(c.hash())));
                    }
                }
            }
            for (String k : frozen) {
                assertEquals(1, first[0].writesOf(k) + second[0].writesOf(k), "PUTs of frozen chunk " + k);
            }
            assertTrue(s.verify(VerifyRequest.deep()).ok());
            Path dir = tmp.resolve("restored");
            s.restore(cps.get(cps.size() - 1), dir, List.of());
            TrainerRuns.assertSameFiles(TrainerRuns.latestTensors(tmp.resolve("local"), "s3", tmp), TrainerRuns.tensorFiles(dir));
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}

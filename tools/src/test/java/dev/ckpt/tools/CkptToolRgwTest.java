package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.testing.CephRgw;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every ckpt-tool command against a real Ceph RGW 16.2 ({@link CephRgw}, started by the test;
 * skipped, saying why, where Debian's Ceph packages are not installed), the inherited cases
 * alternating between the AWS SDK and the MinIO client. Before the store learnt RGW's bare
 * {@code If-Match} form, doctor, init and push exited 5 here with both clients.
 */
class CkptToolRgwTest extends CkptToolTest {
    static CephRgw rgw;
    static int n;
    S3Config.Client client;

    @BeforeAll
    static void startRgw() {
        rgw = CephRgw.shared();
        rgw.createBucket("cli");
    }

    @Override
    void setUpStore() {
        client = n % 2 == 0 ? S3Config.Client.AWS : S3Config.Client.MINIO;
        store = "s3://cli/t" + (n++) + "-" + System.nanoTime();
        cli = new Cli(rgw.env(client, S3Config.Http.APACHE), "--progress", "none");
    }

    @Override
    ObjectStore objects() {
        return S3ObjectStores.open(rgw.config("cli", store.substring("s3://cli/".length()), client, S3Config.Http.APACHE));
    }

    private Cli cli(S3Config.Client c) {
        return new Cli(rgw.env(c, S3Config.Http.APACHE), "--progress", "none");
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void doctorPassesEveryCheckAndNamesTheBareIfMatchForm(S3Config.Client c) {
        Cli.Result r = cli(c).run("doctor", store);
        assertEquals(0, r.code(), r.toString());
        assertFalse(r.out().contains("FAIL"), r.out());
        assertTrue(r.out().contains("If-Match form") && r.out().contains("bare ETag"), r.out());
        assertTrue(r.out().contains("no store here yet; one made here can hold checkpoints safely (ckpt-tool init "
                + store + " makes it)"), r.out());
        JsonNode j = cli(c).run("doctor", store, "--json").json();
        assertTrue(j.get("ok").asBoolean());
        assertFalse(j.get("holdsStore").asBoolean());
        assertEquals("bare", j.get("ifMatchForm").asText());
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void pushRestoreDeepVerifyForgetGcAndRestoreTheKept(S3Config.Client c) throws Exception {
        Cli tool = cli(c);
        Path a = src("a", 1);
        Path b = src("b", 2);
        assertEquals(0, tool.run("init", store).code());
        String first = pushWith(tool, a, "r", 1);
        String second = pushWith(tool, b, "r", 2);
        Cli.Result restored = tool.run("restore", store, first, tmp.resolve("out1").toString());
        assertEquals(0, restored.code(), restored.toString());
        TestDirs.assertSameTree(TestDirs.snapshot(a), tmp.resolve("out1"));
        Cli.Result verify = tool.run("verify", store, "--read-data");
        assertEquals(0, verify.code(), verify.toString());
        Cli.Result forget = tool.run("forget", store, first);
        assertEquals(0, forget.code(), forget.toString());
        Cli.Result gc = tool.run("gc", store, "--grace", "0s", "--json");
        assertEquals(0, gc.code(), gc.toString());
        assertTrue(gc.json().get("deletedObjects").asInt() > 0, "the forgotten checkpoint's chunks are deleted: " + gc.out());
        for (JsonNode k : gc.json().get("deleted")) {
            assertTrue(objects().head(k.asText()).isEmpty(), k + " is gone from the bucket");
        }
        Cli.Result kept = tool.run("restore", store, second, tmp.resolve("out2").toString());
        assertEquals(0, kept.code(), kept.toString());
        TestDirs.assertSameTree(TestDirs.snapshot(b), tmp.resolve("out2"));
        Cli.Result after = tool.run("verify", store, "--read-data", "--json");
        assertEquals(0, after.code(), after.toString());
        JsonNode ls = tool.run("ls", store, "--json").json();
        assertEquals(1, ls.get("checkpoints").size());
        assertEquals(second, ls.get("checkpoints").get(0).get("id").asText());
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void eightConcurrentPushesToDifferentRunsAllCommit(S3Config.Client c) throws Exception {
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            dirs.add(src("p" + i, 10 + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Cli.Result>> pushes = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                int k = i;
                pushes.add(pool.submit(() -> cli(c).run("push", store, dirs.get(k).toString(), "--run", "run-" + k,
                        "--step", "1")));
            }
            for (Future<Cli.Result> f : pushes) {
                Cli.Result r = f.get();
                assertEquals(0, r.code(), r.toString());
            }
        } finally {
            pool.shutdownNow();
        }
        JsonNode ls = cli(c).run("ls", store, "--json").json();
        assertEquals(8, ls.get("checkpoints").size(), ls.toString());
        for (int i = 0; i < 8; i++) {
            Path out = tmp.resolve("out-" + i);
            Cli.Result r = cli(c).run("restore", store, "run-" + i + ":latest", out.toString());
            assertEquals(0, r.code(), r.toString());
            TestDirs.assertSameTree(TestDirs.snapshot(dirs.get(i)), out);
        }
    }

    private String pushWith(Cli tool, Path dir, String run, long step) {
        Cli.Result r = tool.run("push", store, dir.toString(), "--run", run, "--step", Long.toString(step));
        assertEquals(0, r.code(), r.toString());
        return r.out().trim();
    }
}

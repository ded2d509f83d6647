package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import dev.ckpt.store.testing.CephRgw;
import dev.ckpt.store.testing.S3TestServer;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The writer role of docs/security.md enforced by a server: a Ceph RGW user ({@link CephRgw}; skipped,
 * saying why, where Debian's Ceph packages are missing) that reaches the bucket only through a bucket
 * policy allowing GetObject, PutObject and ListBucket and denying DeleteObject. Its pushes commit; its
 * {@code gc} fails in one line naming the permission and the object, loses nothing, and does not hold
 * the store: a GC with the GC operator's credentials finishes the sealed sweep at once (before, it was
 * refused for the rest of the 10-minute lease, exit 4). A read-only user (GetObject, ListBucket) lists,
 * shows, restores and deep-verifies; its push fails naming s3:PutObject.
 */
class CkptToolLeastPrivilegeRgwTest {
    static final String BUCKET = "least-privilege";
    static CephRgw rgw;
    static S3TestServer writer;
    static S3TestServer reader;
    static S3TestServer collector;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startRgw() {
        rgw = CephRgw.shared();
        rgw.createBucket(BUCKET);
        writer = rgw.user("ckptwriter");
        reader = rgw.user("ckptreader");
        collector = rgw.user("ckptgc");
        // docs/security.md's three roles as one bucket policy. RGW, like S3 buckets with ACLs enabled, makes
        // the uploader the owner of an object: the bucket owner reaches the writer's objects only through a
        // statement of its own, so the GC operator is a user of its own here.
        rgw.putBucketPolicy(BUCKET, """
                {"Version": "2012-10-17", "Statement": [
                  {"Sid": "CkptList", "Effect": "Allow",
                   "Principal": {"AWS": ["arn:aws:iam:::user/ckptwriter", "arn:aws:iam:::user/ckptreader", "arn:aws:iam:::user/ckptgc"]},
                   "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::%1$s"]},
                  {"Sid": "CkptRead", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/ckptreader"]},
                   "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::%1$s/*"]},
                  {"Sid": "CkptWrite", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/ckptwriter"]},
                   "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::%1$s/*"]},
                  {"Sid": "CkptWriterNeverDeletes", "Effect": "Deny", "Principal": {"AWS": ["arn:aws:iam:::user/ckptwriter"]},
                   "Action": ["s3:DeleteObject"], "Resource": ["arn:aws:s3:::%1$s/*"]},
                  {"Sid": "CkptGc", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/ckptgc"]},
                   "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::%1$s/*"]}
                ]}""".formatted(BUCKET));
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void aWriterWithoutDeleteObjectPushesButItsGcFailsClearlyAndLosesNothing(S3Config.Client client) throws Exception {
        String store = "s3://" + BUCKET + "/" + client.name().toLowerCase() + "-" + System.nanoTime();
        Cli w = new Cli(writer.env(client, S3Config.Http.APACHE), "--progress", "none");
        Cli gcOperator = new Cli(collector.env(client, S3Config.Http.APACHE), "--progress", "none");
        Path a = TestDirs.checkpoint(tmp.resolve("a"), 1, 3, 30_000);
        Path b = TestDirs.checkpoint(tmp.resolve("b"), 2, 3, 30_000);
        Path c = TestDirs.checkpoint(tmp.resolve("c"), 3, 3, 30_000);
        assertEquals(0, w.run("init", store).code());
        String first = push(w, store, a, 1);
        String second = push(w, store, b, 2);
        Cli.Result forget = w.run("forget", store, first);
        assertEquals(0, forget.code(), "forget only rewrites ROOT: " + forget);

        Cli.Result gc = w.run("gc", store, "--grace", "0s");
        assertEquals(1, gc.code(), "a denied permission is an error to act on, not 'retry later': " + gc);
        String msg = gc.err().strip();
        assertEquals(1, msg.lines().count(), msg);
        assertTrue(msg.contains("access denied") && msg.contains("s3:DeleteObject") && msg.contains(store + "/"), msg);
        assertTrue(msg.contains("grant it") && msg.contains("docs/security.md"), msg);
        assertFalse(msg.contains("Exception") || msg.contains("dev.ckpt") || msg.contains("software.amazon")
                || msg.contains("io.minio"), msg);

        // nothing committed is lost
        assertEquals(List.of(second), ids(w, store));
        assertRestoresAndVerifies(w, store, List.of(second), List.of(b));

        // the denied GC gave its lease back: one with delete permission finishes its sealed sweep at once
        try (ObjectStore objects = objects(store)) {
            GcState gcState = Json.readRoot("ROOT", objects.get("ROOT").data()).gc();
            assertEquals(GcState.Phase.SWEEP, gcState.phase(), "the sealed sweep stays in ROOT for the next GC");
            assertFalse(gcState.leaseValid(java.time.Instant.now()), "but its lease was given back: " + gcState);
        }
        Cli.Result finish = gcOperator.run("gc", store, "--grace", "0s", "--json");
        assertEquals(0, finish.code(), finish.toString());
        assertTrue(finish.json().get("resumed").asBoolean(), finish.out());
        assertTrue(finish.json().get("deletedObjects").asInt() > 0, finish.out());
        try (ObjectStore objects = objects(store)) {
            for (JsonNode k : finish.json().get("deleted")) {
                assertTrue(objects.head(k.asText()).isEmpty(), k + " is gone");
            }
            assertEquals(GcState.Phase.IDLE, Json.readRoot("ROOT", objects.get("ROOT").data()).gc().phase());
        }

        // and the writer goes on committing; everything committed restores and verifies deep
        String third = push(w, store, c, 3);
        assertEquals(List.of(second, third).stream().sorted().toList(), ids(w, store));
        assertRestoresAndVerifies(w, store, List.of(second, third), List.of(b, c));
    }

    @ParameterizedTest
    @EnumSource(S3Config.Client.class)
    void aReadOnlyOperatorReadsEverythingAndItsPushNamesPutObject(S3Config.Client client) throws Exception {
        String store = "s3://" + BUCKET + "/ro-" + client.name().toLowerCase() + "-" + System.nanoTime();
        Cli w = new Cli(writer.env(client, S3Config.Http.APACHE), "--progress", "none");
        Cli r = new Cli(reader.env(client, S3Config.Http.APACHE), "--progress", "none");
        Path a = TestDirs.checkpoint(tmp.resolve("a"), 1, 3, 30_000);
        String id = push(w, store, a, 1);
        Cli.Result ls = r.run("ls", store);
        assertEquals(0, ls.code(), ls.toString());
        Cli.Result show = r.run("show", store, id);
        assertEquals(0, show.code(), show.toString());
        assertRestoresAndVerifies(r, store, List.of(id), List.of(a));
        Cli.Result denied = r.run("push", store, a.toString(), "--run", "other", "--step", "1");
        assertEquals(1, denied.code(), denied.toString());
        String msg = denied.err().strip();
        assertEquals(1, msg.lines().count(), msg);
        assertTrue(msg.contains("access denied") && msg.contains("s3:PutObject") && msg.contains(store + "/"), msg);
        assertFalse(msg.contains("Exception") || msg.contains("dev.ckpt"), msg);
        assertEquals(List.of(id), ids(w, store), "nothing changed");
        Cli.Result doctor = r.run("doctor", store);
        assertEquals(0, doctor.code(), "reading works, writing is not this role's: " + doctor);
        assertTrue(doctor.out().contains("s3:PutObject") && doctor.out().contains("store is read-only"), doctor.out());
        assertFalse(doctor.out().contains("NOT honoured") || doctor.out().contains("lacks conditional writes"), doctor.out());
    }

    private static List<String> ids(Cli cli, String store) {
        Cli.Result ls = cli.run("ls", store, "--json");
        assertEquals(0, ls.code(), ls.toString());
        List<String> ids = new ArrayList<>();
        ls.json().get("checkpoints").forEach(j -> ids.add(j.get("id").asText()));
        return ids.stream().sorted().toList();
    }

    private void assertRestoresAndVerifies(Cli cli, String store, List<String> ids, List<Path> sources) throws Exception {
        Cli.Result verify = cli.run("verify", store, "--read-data");
        assertEquals(0, verify.code(), verify.toString());
        for (int i = 0; i < ids.size(); i++) {
            Path out = tmp.resolve("out-" + System.nanoTime());
            Cli.Result r = cli.run("restore", store, ids.get(i), out.toString());
            assertEquals(0, r.code(), r.toString());
            TestDirs.assertSameTree(TestDirs.snapshot(sources.get(i)), out);
        }
    }

    private static ObjectStore objects(String store) {
        return S3ObjectStores.open(collector.config(BUCKET, store.substring(("s3://" + BUCKET + "/").length()),
                S3Config.Client.AWS, S3Config.Http.APACHE));
    }

    private static String push(Cli cli, String store, Path dir, long step) {
        Cli.Result r = cli.run("push", store, dir.toString(), "--run", "r", "--step", Long.toString(step));
        assertEquals(0, r.code(), r.toString());
        return r.out().trim();
    }
}

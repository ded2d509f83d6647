package dev.ckpt.tools;

import dev.ckpt.store.objectstore.ProbeCache;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ckpt-tool runs against the in-process S3 server with the probe verdict cache in a temporary directory
 * ({@code $XDG_CACHE_HOME} of the runs): only the first run spends requests on the probe; doctor always probes.
 */
class ProbeCacheCliTest {
    static final AtomicInteger probeRequests = new AtomicInteger();
    static S3ProxyServer server;

    @TempDir
    Path tmp;
    Map<String, String> env;
    String before;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null, S3ProxyServer.counting("probe/", probeRequests));
        server.createBucket("cli");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void setUp() {
        env = new HashMap<>(server.env(S3Config.Client.AWS, S3Config.Http.APACHE));
        env.put("XDG_CACHE_HOME", tmp.resolve("xdg").toString());
        // the build turns the cache off for every test (a system property above $XDG_CACHE_HOME); this one uses it
        before = System.clearProperty(ProbeCache.DIR_PROPERTY);
    }

    @AfterEach
    void restore() {
        if (before != null) {
            System.setProperty(ProbeCache.DIR_PROPERTY, before);
        }
    }

    private int probesOf(Cli cli, String... args) {
        int n = probeRequests.get();
        Cli.Result r = cli.run(args);
        assertEquals(0, r.code(), r.toString());
        return probeRequests.get() - n;
    }

    private Path src(String name, long seed) {
        return TestDirs.checkpoint(tmp.resolve(name), seed, 3, 30_000);
    }

    @Test
    void aSecondPushMakesNoProbeRequests() throws Exception {
        Cli cli = new Cli(env, "--progress", "none");
        assertTrue(probesOf(cli, "push", "s3://cli/a", src("a", 1).toString(), "--run", "r", "--step", "1") >= 8);
        try (var files = Files.list(tmp.resolve("xdg/ckpt/probe"))) {
            assertEquals(1, files.count(), "one entry in $XDG_CACHE_HOME/ckpt/probe");
        }
        assertEquals(0, probesOf(cli, "push", "s3://cli/a", src("b", 2).toString(), "--run", "r", "--step", "2"));
        assertEquals(0, probesOf(cli, "push", "s3://cli/other-prefix", src("c", 3).toString(), "--run", "r", "--step", "1"));
        Cli.Result ls = cli.run("ls", "s3://cli/a", "--json");
        assertEquals(2, ls.json().get("checkpoints").size(), ls.toString());
    }

    @Test
    void withCkptProbeCacheZeroEveryPushProbes() {
        env.put("CKPT_PROBE_CACHE", "0");
        Cli cli = new Cli(env, "--progress", "none");
        assertTrue(probesOf(cli, "push", "s3://cli/z", src("a", 1).toString(), "--run", "r", "--step", "1") >= 8);
        assertTrue(probesOf(cli, "push", "s3://cli/z", src("b", 2).toString(), "--run", "r", "--step", "2") >= 8);
        assertTrue(Files.notExists(tmp.resolve("xdg")), "nothing cached");
    }

    @Test
    void doctorAlwaysProbesAndSaysWhatWasCached() {
        Cli cli = new Cli(env, "--progress", "none");
        Cli.Result first = cli.run("doctor", "s3://cli/d");
        assertEquals(0, first.code(), first.toString());
        assertTrue(first.out().contains("conditional writes probed now") && first.out().contains("no verdict was cached"),
                first.out());
        // which server: the endpoint in use, its addressing, region and client (helper-76), in text and JSON
        String shown = "'" + server.endpoint() + "', path-style addressing, region ";
        assertTrue(first.out().matches("(?s)store s3://cli/d/\n  ok   server +" + java.util.regex.Pattern.quote(shown)
                + "[a-z0-9-]+, client aws\n.*"), first.out());
        Cli.Result minio = new Cli(env, "--progress", "none").run("doctor", "s3://cli/d", "--client", "minio", "--json");
        assertTrue(minio.json().get("checks").get(0).get("detail").asText().startsWith(shown)
                && minio.json().get("checks").get(0).get("detail").asText().endsWith(", client minio"), minio.out());
        int n = probeRequests.get();
        Cli.Result second = cli.run("doctor", "s3://cli/d");
        assertEquals(0, second.code(), second.toString());
        assertTrue(probeRequests.get() - n >= 8, "doctor probes although a fresh verdict is cached");
        assertTrue(second.out().matches("(?s).*a passing verdict from \\d+ s ago was cached; entry refreshed.*"), second.out());
        // and the entry doctor wrote spares the next push its probe
        assertEquals(0, probesOf(cli, "push", "s3://cli/d", src("a", 1).toString(), "--run", "r", "--step", "1"));
    }

    /**
     * Credentials the server rejects, or a bucket that does not exist, say nothing about the
     * server's conditional writes: doctor reports it did not probe (exit 1, not 5 "NOT
     * honoured"), and the passing verdict cached before stays (it was dropped).
     */
    @Test
    void aStoreDoctorCannotReachGetsNoVerdictAndTheCachedOneStays() {
        Cli cli = new Cli(env, "--progress", "none");
        assertEquals(0, cli.run("doctor", "s3://cli/v").code());
        Map<String, String> wrongKey = new HashMap<>(env);
        wrongKey.put("AWS_SECRET_ACCESS_KEY", "not-the-secret-key");
        for (Cli.Result r : List.of(new Cli(wrongKey, "--progress", "none").run("doctor", "s3://cli/v"),
                cli.run("doctor", "s3://nobucket/v"))) {
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.out().contains("not probed: "), r.out());
            assertFalse(r.out().contains("NOT honoured") || r.out().contains("lacks conditional writes"), r.out());
            assertFalse(r.out().contains("entry dropped"), r.out());
        }
        assertTrue(cli.run("doctor", "s3://nobucket/v").out().contains("bucket 'nobucket' does not exist"));
        assertEquals(0, probesOf(cli, "push", "s3://cli/v", src("a", 1).toString(), "--run", "r", "--step", "1"),
                "the passing verdict cached before is still there");
    }

    @Test
    void doctorDoesNotClaimItRefreshedAnEntryItCouldNotWrite() throws Exception {
        Files.writeString(tmp.resolve("xdg"), "a file where the cache directory should be");
        Cli cli = new Cli(env, "--progress", "none");
        Cli.Result r = cli.run("doctor", "s3://cli/w");
        assertEquals(0, r.code(), r.toString());
        assertFalse(r.out().contains("entry refreshed"), r.out());
        assertTrue(r.out().contains("could not write the cache entry in " + tmp.resolve("xdg/ckpt/probe")), r.out());
    }
}

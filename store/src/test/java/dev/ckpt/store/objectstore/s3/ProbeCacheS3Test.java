package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.ConditionalWritesUnsupportedException;
import dev.ckpt.store.objectstore.ConditionalWriteProbe;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ProbeCache;
import dev.ckpt.store.objectstore.ProbingObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.testing.FakeClock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe verdict cache against the in-process S3 server over HTTP with SigV4: probe requests are
 * counted on the server (every blob operation on a key under {@code probe/}).
 */
class ProbeCacheS3Test {
    static final AtomicInteger probeRequests = new AtomicInteger();
    static S3ProxyServer server;

    @TempDir
    Path dir;
    FakeClock clock;
    ProbeCache cache;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null, S3ProxyServer.counting("probe/", probeRequests));
        server.createBucket("cache");
        server.createBucket("other");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void setUp() {
        clock = new FakeClock(java.time.Instant.parse("2026-12-01T10:00:00Z"));
        cache = new ProbeCache(dir.resolve("probe"), ProbeCache.DEFAULT_TTL, clock);
    }

    private S3Config config(String bucket, String prefix) {
        return server.config(bucket, prefix, S3Config.Client.AWS, S3Config.Http.APACHE);
    }

    /** Opens the store, makes one create-only write (which needs a verdict), and returns the probe requests it made. */
    private int probesOfOneConditionalWrite(S3Config cfg, ProbeCache c) {
        int before = probeRequests.get();
        try (ObjectStore s = S3ObjectStores.open(cfg, c)) {
            assertEquals(PutResult.CREATED, s.putIfAbsent("k-" + dev.ckpt.store.util.RandomIds.hex(4), new byte[]{1}, 0, 1));
        }
        return probeRequests.get() - before;
    }

    private Path entryFile(S3Config cfg) {
        return cache.file(S3ObjectStores.identity(cfg)).orElseThrow();
    }

    @Test
    void aSecondOpenOfTheSameBucketMakesNoProbeRequests() {
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) >= 8, "the first open probes");
        assertTrue(Files.isRegularFile(entryFile(config("cache", "a"))));
        assertEquals(0, probesOfOneConditionalWrite(config("cache", "a"), cache), "the second trusts the cached verdict");
        assertEquals(0, probesOfOneConditionalWrite(config("cache", "b"), cache), "the verdict is per bucket, not per prefix");
        // a whole commit through a cached verdict works (ROOT is written with If-Match)
        int before = probeRequests.get();
        try (CheckpointStore s = CheckpointStore.open(S3ObjectStores.open(config("cache", "commit"), cache), StoreConfig.defaults())) {
            s.init();
            dev.ckpt.store.commit.WriterToken w = s.claimWriter("r");
            s.save(w, SaveRequest.of(dev.ckpt.store.testing.TestDirs.checkpoint(dir.resolve("src"), 1, 2, 5_000), "r", 1));
            s.save(w, SaveRequest.of(dev.ckpt.store.testing.TestDirs.checkpoint(dir.resolve("src2"), 2, 2, 5_000), "r", 2));
            assertEquals(2, s.root().checkpoints().size());
        }
        assertEquals(before, probeRequests.get());
        assertTrue(Files.isRegularFile(entryFile(config("cache", "a"))), "the quoted form the server honours agrees with the entry");
    }

    @Test
    void anExpiredVerdictIsProbedAgainAndRefreshed() throws Exception {
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) > 0);
        clock.advance(ProbeCache.DEFAULT_TTL.minusMinutes(1));
        assertEquals(0, probesOfOneConditionalWrite(config("cache", "a"), cache), "still fresh");
        clock.advance(Duration.ofMinutes(1));
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) > 0, "24 h old: probed again");
        String json = Files.readString(entryFile(config("cache", "a")));
        assertTrue(json.contains("2026-12-02T10:00:00Z"), json);
        assertEquals(0, probesOfOneConditionalWrite(config("cache", "a"), cache), "the refreshed entry is trusted");
    }

    @Test
    void aCorruptEntryIsProbedAgainWithoutErrorAndRewritten() throws Exception {
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) > 0);
        Path f = entryFile(config("cache", "a"));
        Files.writeString(f, "{\"format\": 1, \"identity\": {\"kind\": \"s3\"");
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) > 0);
        assertTrue(cache.read(S3ObjectStores.identity(config("cache", "a"))).isPresent(), Files.readString(f));
        Files.write(f, new byte[]{(byte) 0xff, 0, 1});
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) > 0);
        assertEquals(0, probesOfOneConditionalWrite(config("cache", "a"), cache));
    }

    @Test
    void aCacheThatCannotBeWrittenNeverFailsAWrite() throws Exception {
        Path notADir = Files.writeString(dir.resolve("file"), "x");
        ProbeCache broken = new ProbeCache(notADir.resolve("probe"), ProbeCache.DEFAULT_TTL, clock);
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), broken) > 0);
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), broken) > 0, "nothing cached: probed again");
        assertFalse(ProbeCache.fromEnvironment(Map.of("XDG_CACHE_HOME", "/tmp", "CKPT_PROBE_CACHE", "off")).enabled());
    }

    @Test
    void anotherBucketOrEndpointIsProbed() throws Exception {
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) > 0);
        assertTrue(probesOfOneConditionalWrite(config("other", "a"), cache) > 0, "another bucket");
        // a passing verdict for another endpoint (same bucket name) does not stand for this one
        S3Config here = config("cache", "x");
        S3Config elsewhere = here.toBuilder().endpoint(URI.create("http://127.0.0.2:1")).build();
        Files.delete(entryFile(here));
        ConditionalWriteProbe.Result ok = new ConditionalWriteProbe.Result("s3://cache/", true, true, true,
                IfMatchForm.QUOTED, List.of());
        assertTrue(cache.record(S3ObjectStores.identity(elsewhere), ok));
        assertTrue(probesOfOneConditionalWrite(here, cache) > 0, "another endpoint's verdict");
        // nor does a file holding another identity under this identity's name
        Files.copy(entryFile(elsewhere), entryFile(here), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertTrue(probesOfOneConditionalWrite(here, cache) > 0, "another identity in the file");
        assertEquals(0, probesOfOneConditionalWrite(here, cache), "rewritten by that probe");
    }

    @Test
    void aHomeThatIsNoAbsolutePathIsNeverACacheDirectoryUnderTheWorkingDirectory() {
        // a UID without a passwd entry (a container run with --user 1234): Java's user.home is "?"; the
        // cache went to ./?/.cache/ckpt/probe in whatever directory the push or the trainer ran in
        String prop = System.clearProperty(ProbeCache.DIR_PROPERTY);
        String home = System.getProperty("user.home");
        System.setProperty("user.home", "?");
        try {
            ProbeCache c = ProbeCache.fromEnvironment(Map.of());
            assertTrue(c.directory().map(Path::isAbsolute).orElse(true), c.directory().toString());
            ProbeCache rel = ProbeCache.fromEnvironment(Map.of("XDG_CACHE_HOME", "rel", "HOME", "also-rel"));
            assertTrue(rel.directory().map(Path::isAbsolute).orElse(true), rel.directory().toString());
            // $HOME, as the XDG base directory spec has it, where Java's user.home knows no better
            assertEquals(Optional.of(dir.resolve("home/.cache/ckpt/probe")),
                    ProbeCache.fromEnvironment(Map.of("HOME", dir.resolve("home").toString())).directory());
        } finally {
            System.setProperty("user.home", home);
            System.setProperty(ProbeCache.DIR_PROPERTY, prop == null ? "off" : prop);
        }
    }

    @Test
    void ckptProbeCacheZeroProbesEveryTimeAndWritesNothing() {
        String before = System.getProperty(ProbeCache.DIR_PROPERTY);
        System.setProperty(ProbeCache.DIR_PROPERTY, dir.resolve("env").toString());
        try {
            assertTrue(ProbeCache.fromEnvironment(Map.of()).enabled());
            ProbeCache off = ProbeCache.fromEnvironment(Map.of("CKPT_PROBE_CACHE", "0"));
            assertFalse(off.enabled());
            assertTrue(probesOfOneConditionalWrite(config("cache", "a"), off) > 0);
            assertTrue(probesOfOneConditionalWrite(config("cache", "a"), off) > 0);
            // the same through the URL and environment
            Map<String, String> env = new java.util.HashMap<>(server.env(S3Config.Client.AWS, S3Config.Http.APACHE));
            env.put("CKPT_PROBE_CACHE", "0");
            for (int i = 0; i < 2; i++) {
                int n = probeRequests.get();
                try (ObjectStore s = S3ObjectStores.open("s3://cache/env", env)) {
                    s.putIfAbsent("k" + i, new byte[]{1}, 0, 1);
                }
                assertTrue(probeRequests.get() > n);
            }
            assertFalse(Files.exists(dir.resolve("env")));
        } finally {
            System.setProperty(ProbeCache.DIR_PROPERTY, before == null ? "off" : before);
        }
    }

    @Test
    void theEntryHoldsNoSecretAndOnlyItsOwnerMayReadIt() throws Exception {
        assertTrue(probesOfOneConditionalWrite(config("cache", "a"), cache) > 0);
        Path f = entryFile(config("cache", "a"));
        String json = Files.readString(f, StandardCharsets.UTF_8);
        assertFalse(json.contains(S3ProxyServer.SECRET_KEY), json);
        assertFalse(json.contains(S3ProxyServer.ACCESS_KEY), json);
        assertTrue(json.contains("\"verdict\" : \"ok\"") && json.contains("\"bucket\" : \"cache\"")
                && json.contains("\"ifMatchForm\" : \"QUOTED\"") && json.contains(server.endpoint().toString()), json);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertEquals(f.getFileName().toString(), f.getFileName().toString().toLowerCase());
        assertTrue(f.getFileName().toString().matches("[0-9a-f]{64}\\.json"));
        try (var files = Files.list(f.getParent())) {
            assertEquals(List.of(f), files.toList(), "no temporary file left behind");
        }
    }

    /** Accepts conditional headers and ignores them. */
    static final class IgnoresIfNoneMatch extends ForwardingObjectStore {
        IgnoresIfNoneMatch(ObjectStore d) {
            super(d);
        }

        @Override
        public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
            put(key, java.util.Arrays.copyOfRange(data, offset, offset + length));
            return PutResult.CREATED;
        }
    }

    @Test
    void aFailingVerdictIsNeverCachedAndDropsAnEarlierOne() {
        S3Config cfg = config("cache", "naive");
        ProbeCache.Identity id = S3ObjectStores.identity(cfg);
        try (ObjectStore raw = S3ObjectStores.open(cfg.withProbe(false))) {
            ProbingObjectStore probing = new ProbingObjectStore(new IgnoresIfNoneMatch(raw), cache, id);
            assertThrows(ConditionalWritesUnsupportedException.class, () -> probing.putIfAbsent("k", new byte[]{1}, 0, 1));
            assertFalse(Files.exists(entryFile(cfg)), "a failed verdict is not cached");
            assertFalse(probing.probe().ok());
            // an earlier passing verdict, probed again (as doctor does) and failing, is dropped
            assertTrue(cache.record(id, new ConditionalWriteProbe.Result("x", true, true, true, null, List.of())));
            ProbingObjectStore again = new ProbingObjectStore(new IgnoresIfNoneMatch(raw), cache, id);
            assertTrue(again.cachedVerdict().isPresent());
            assertFalse(again.probeAgain().ok());
            assertFalse(Files.exists(entryFile(cfg)));
        }
    }

    @Test
    void aConditionalWriteContradictingTheCachedVerdictDropsIt() {
        S3Config cfg = config("cache", "contra");
        ProbeCache.Identity id = S3ObjectStores.identity(cfg);
        // the backend says what the probe would have refused
        assertTrue(cache.record(id, new ConditionalWriteProbe.Result("x", true, true, true, null, List.of())));
        try (ObjectStore raw = S3ObjectStores.open(cfg.withProbe(false))) {
            ProbingObjectStore probing = new ProbingObjectStore(new ForwardingObjectStore(raw) {
                @Override
                public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                    throw new ConditionalWritesUnsupportedException("the server refused If-None-Match");
                }
            }, cache, id);
            assertTrue(probing.cachedVerdict().isPresent());
            assertThrows(ConditionalWritesUnsupportedException.class, () -> probing.putIfAbsent("k", new byte[]{1}, 0, 1));
            assertFalse(Files.exists(entryFile(cfg)), "contradicted: dropped");
        }
        // a cached If-Match form the server does not honour: the backend starts with it, falls back to the
        // form the server reads (the write succeeds), and the entry is dropped
        ConditionalWriteProbe.Result bare = new ConditionalWriteProbe.Result("x", true, true, true, IfMatchForm.BARE, List.of());
        assertTrue(cache.record(id, bare));
        IfMatchFormTest.ModelServer quotedOnly = new IfMatchFormTest.ModelServer(java.util.Set.of(IfMatchForm.QUOTED));
        quotedOnly.forms.hint(IfMatchForm.BARE); // as S3ObjectStores seeds a backend from the cached verdict
        ProbingObjectStore probing = new ProbingObjectStore(quotedOnly, cache, id);
        String etag = probing.put("obj", new byte[]{1});
        probing.putIfMatch("obj", new byte[]{2}, etag);
        assertEquals(List.of(etag, "\"" + etag + "\""), quotedOnly.headersSent, "the cached form first, then the other once");
        assertEquals(2, probing.get("obj").data()[0]);
        assertFalse(Files.exists(entryFile(cfg)), "the form contradicted the entry: dropped");
    }

    @Test
    void theCachedIfMatchFormIsTheOneTheBackendStartsWith() {
        // S3Proxy reads both forms: the backend keeps whichever it sends first, which without a cached verdict is QUOTED
        S3Config cfg = config("cache", "form");
        assertTrue(cache.record(S3ObjectStores.identity(cfg),
                new ConditionalWriteProbe.Result("x", true, true, true, IfMatchForm.BARE, List.of())));
        int before = probeRequests.get();
        try (ObjectStore s = S3ObjectStores.open(cfg, cache)) {
            String etag = s.put("obj", new byte[]{1});
            s.putIfMatch("obj", new byte[]{2}, etag);
            assertEquals(IfMatchForm.BARE, s.ifMatchForm().orElseThrow());
        }
        assertEquals(before, probeRequests.get(), "no probe: the cached verdict stood in");
        assertTrue(Files.exists(entryFile(cfg)), "the server honoured the cached form: the entry stands");
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.objectstore.ConditionalWriteProbe;
import dev.ckpt.store.objectstore.ProbeCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An endpoint with user info ({@code http://user:password@host}) is refused without showing the
 * password (helper-74: both clients ignored it silently, and the probe cache wrote it, password
 * included, to {@code ~/.cache/ckpt/probe/}); entries an earlier ckpt wrote that way are deleted.
 */
class EndpointUserInfoTest {
    private static final String PASSWORD = "PASSW0RDxyz";

    /** Each form of user info; some are no URL a parser can read (a '/', '?' or '#' in the password). */
    @Test
    void everyFormOfUserInfoIsRefusedWithoutThePasswordNamingTheEndpointToGive() {
        String[][] cases = {
                {"http://admin:" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"https://admin:" + PASSWORD + "@[::1]:9000/storage/v1/s3", "'https://[::1]:9000/storage/v1/s3'"},
                {"http://:" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"http://" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"http://admin:pa/" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"http://admin:pa#" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"http://admin:pa?" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"http://admin:pa%40" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"http://admin:pa@" + PASSWORD + "@minio:9000", "'http://minio:9000'"},
                {"HTTP://admin:" + PASSWORD + "@minio", "'HTTP://minio'"},
                {"http://admin:" + PASSWORD + "@/x", "the server's address alone (e.g. http://minio:9000)"},
                {"ftp://admin:" + PASSWORD + "@minio:21", "the server's address alone (e.g. http://minio:9000)"},
                {"admin:" + PASSWORD + "@minio:9000", "the server's address alone (e.g. http://minio:9000)"},
                {"http:/admin:" + PASSWORD + "@minio:9000", "the server's address alone (e.g. http://minio:9000)"},
                // the '@' before the first "://" (helper-79: shown whole, as "not a URL")
                {"admin:" + PASSWORD + "@http://minio:9000", "'http://minio:9000'"},
                {"admin:" + PASSWORD + "@https://minio:9000/", "'https://minio:9000/'"},
                {"admin:" + PASSWORD + "@minio:9000/a://b", "the server's address alone (e.g. http://minio:9000)"},
                {"admin:P://" + PASSWORD + "@minio:9000", "the server's address alone (e.g. http://minio:9000)"},
                {"http://admin:" + PASSWORD + "@http://minio:9000", "the server's address alone (e.g. http://minio:9000)"},
        };
        for (String var : new String[] {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}) {
            for (String[] c : cases) {
                String m = assertThrows(BadConfigurationException.class,
                        () -> S3Config.fromUrl("s3://b-1/x", Map.of(var, c[0])), c[0]).getMessage();
                assertFalse(m.contains(PASSWORD), m);
                assertTrue(m.contains("***@") && m.contains("(" + var + " or ckpt-tool's --endpoint) has a user name or password"
                        + " before its host"), m);
                assertTrue(m.contains("Give " + (c[1].startsWith("'") ? "the endpoint as " : "") + c[1]), m);
            }
        }
    }

    /**
     * An '@' in an endpoint's path or query reads as the end of user info too (masked, refused): the
     * endpoint suggested then holds only if it was a password, and the message says so; it had
     * suggested 'http://b' for {@code http://[::1]:9000/p?x=PW@b} as if that were the server (helper-78).
     */
    @Test
    void anAtSignAfterAPathOrQueryIsRefusedSayingTheSuggestionHoldsOnlyForAPassword() {
        for (String raw : new String[] {"http://[::1]:9000/p?x=" + PASSWORD + "@b", "http://minio:9000/" + PASSWORD + "@b",
                "http://minio:9000#" + PASSWORD + "@b", "http://admin:pa/" + PASSWORD + "@minio:9000"}) {
            String m = assertThrows(BadConfigurationException.class,
                    () -> S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", raw)), raw).getMessage();
            assertFalse(m.contains(PASSWORD), m);
            assertTrue(m.contains("if the '@' is in the endpoint's path or query instead, give the endpoint without it"), m);
        }
        String m = assertThrows(BadConfigurationException.class,
                () -> S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", "http://admin:" + PASSWORD + "@minio:9000")))
                .getMessage();
        assertFalse(m.contains("path or query"), "plain user info is no riddle: " + m);
    }

    /**
     * A password holding '/' after digits reads as a port and a path to a URI parser
     * ({@code http://admin:2024/pw@host}: host "admin", port 2024), which then showed it
     * (helper-76): every '@' ends user info, from every source, in code too.
     */
    @Test
    void aPasswordThatParsesAsPortAndPathIsRefusedToo() {
        String raw = "http://admin:2024/" + PASSWORD + "@minio:9000";
        String m = assertThrows(BadConfigurationException.class,
                () -> S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", raw))).getMessage();
        assertFalse(m.contains(PASSWORD), m);
        assertTrue(m.contains("'http://***@minio:9000'") && m.contains("Give the endpoint as 'http://minio:9000'"), m);
        m = assertThrows(BadConfigurationException.class,
                () -> S3Config.builder("b-1").endpoint(URI.create(raw)).build()).getMessage();
        assertFalse(m.contains(PASSWORD), m);
        assertTrue(m.contains("'http://***@minio:9000' (the S3 endpoint)"), m);
    }

    /** A password whose '@' was written %40 leaves no '@' and no parseable host: the authority is masked (helper-78). */
    @Test
    void anUnparseableAuthorityIsMasked() {
        for (String raw : new String[] {"http://user:" + PASSWORD + "%40host:9000", "http://user:" + PASSWORD + "x:9000/p"}) {
            String m = assertThrows(BadConfigurationException.class,
                    () -> S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", raw))).getMessage();
            assertFalse(m.contains(PASSWORD), m);
            assertTrue(m.contains("'http://***") && m.contains("is not a URL like http://host:9000"), m);
        }
        // a plain value that does not parse is shown as it is
        String m = assertThrows(BadConfigurationException.class,
                () -> S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", "not a url"))).getMessage();
        assertTrue(m.contains("'not a url'"), m);
    }

    /** An endpoint set in code is held to the same rule (the record's constructor checks it). */
    @Test
    void anEndpointSetInCodeWithUserInfoIsRefused() {
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.builder("b-1")
                .endpoint(URI.create("http://admin:" + PASSWORD + "@minio:9000")).build()).getMessage();
        assertFalse(m.contains(PASSWORD), m);
        assertTrue(m.contains("'http://***@minio:9000' (the S3 endpoint)") && m.contains("'http://minio:9000'"), m);
    }

    /**
     * An entry that an earlier ckpt wrote with the password in its endpoint is deleted when that
     * endpoint is refused, and the message says so; other entries stay.
     */
    @Test
    void cacheEntriesHoldingAPasswordAreDeletedWhenTheEndpointIsRefused(@TempDir Path dir) throws Exception {
        Path cacheDir = dir.resolve("probe");
        ProbeCache cache = new ProbeCache(cacheDir, ProbeCache.DEFAULT_TTL, Clock.systemUTC());
        ConditionalWriteProbe.Result ok = new ConditionalWriteProbe.Result("x", true, true, true, null, List.of());
        ProbeCache.Identity leaked = new ProbeCache.Identity("s3", "http://admin:" + PASSWORD + "@minio:9000",
                "b-1", "us-east-1", "aws", true, "none");
        ProbeCache.Identity other = new ProbeCache.Identity("s3", "http://minio:9000", "b-1", "us-east-1", "aws",
                true, "none");
        assertTrue(cache.record(other, ok));
        // as ckpt before 2026-12-04 wrote it (this one scrubs such entries as it records, below)
        Files.writeString(cache.file(leaked).orElseThrow(), Files.readString(cache.file(other).orElseThrow())
                .replace("http://minio:9000", "http://admin:" + PASSWORD + "@minio:9000"));
        assertTrue(cache.read(leaked).isPresent(), "an entry as an earlier ckpt wrote it");
        Files.writeString(cacheDir.resolve("not-json.json"), "{");
        String before = System.getProperty(ProbeCache.DIR_PROPERTY);
        System.setProperty(ProbeCache.DIR_PROPERTY, cacheDir.toString());
        try {
            String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                    Map.of("AWS_ENDPOINT_URL", "http://admin:" + PASSWORD + "@minio:9000"))).getMessage();
            assertFalse(m.contains(PASSWORD), m);
            assertTrue(m.contains("the entry holding one in " + cacheDir + " is now deleted"), m);
            assertFalse(Files.exists(cache.file(leaked).orElseThrow()));
            assertTrue(cache.read(other).isPresent());
            assertTrue(Files.exists(cacheDir.resolve("not-json.json")));
            try (var files = Files.list(cacheDir)) {
                for (Path f : files.toList()) {
                    assertFalse(Files.readString(f).contains(PASSWORD), f.toString());
                }
            }
            // nothing left to delete: the message says nothing of the cache
            m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                    Map.of("AWS_ENDPOINT_URL", "http://admin:" + PASSWORD + "@minio:9000"))).getMessage();
            assertFalse(m.contains("probe cache"), m);

            // the next probe of any store scrubs them too (helper-75: only a refusal did), past a FIFO named *.json
            Files.writeString(cache.file(leaked).orElseThrow(), Files.readString(cache.file(other).orElseThrow())
                    .replace("http://minio:9000", "http://admin:" + PASSWORD + "@minio:9000"));
            assertEquals(0, new ProcessBuilder("mkfifo", cacheDir.resolve("fifo.json").toString()).start().waitFor());
            assertTrue(org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60),
                    () -> cache.record(other, ok)), "a FIFO does not block the scrub");
            assertFalse(Files.exists(cache.file(leaked).orElseThrow()));
            assertTrue(cache.read(other).isPresent());
        } finally {
            System.setProperty(ProbeCache.DIR_PROPERTY, before == null ? "off" : before);
        }
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ObjectStore;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class S3ConfigTest {
    @Test
    void urlAndEnvironmentAreReadTheWayAwsToolsReadThem() {
        S3Config c = S3Config.fromUrl("s3://my-bucket/runs/a", Map.of("AWS_ENDPOINT_URL", "http://minio:9000",
                "AWS_REGION", "eu-west-1", "CKPT_S3_CLIENT", "minio", "CKPT_S3_SSE", "kms", "CKPT_S3_KMS_KEY_ID", "k1"));
        assertEquals("my-bucket", c.bucket());
        assertEquals("runs/a/", c.prefix());
        assertEquals("http://minio:9000", c.endpoint().toString());
        assertEquals("eu-west-1", c.region());
        assertTrue(c.usePathStyle(), "custom endpoints use path-style addressing");
        assertEquals(S3Config.Client.MINIO, c.client());
        assertEquals(S3Config.Sse.KMS, c.sse());
        assertNull(c.accessKey(), "the default credential chain");
        S3Config aws = S3Config.fromUrl("s3://my-bucket", Map.of());
        assertEquals("", aws.prefix());
        assertNull(aws.endpoint());
        assertFalse(aws.usePathStyle());
        assertEquals("us-east-1", aws.region());
        assertFalse(S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", "http://h:1", "CKPT_S3_PATH_STYLE", "false"))
                .usePathStyle());
    }

    @Test
    void badSettingsNameWhatIsWrong() {
        assertTrue(assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3:///x", Map.of()))
                .getMessage().contains("names no bucket"));
        assertTrue(assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://Bad_Bucket/x", Map.of()))
                .getMessage().contains("Bad_Bucket"));
        // no server takes an empty DNS label or one ending in '-' (helper-121: b..c passed the check)
        for (String bad : List.of("b..c", "ab.-c", "ab-.c", "10.0.0.1", "ab", "-ab", "ab-")) {
            assertTrue(S3Config.urlProblem("s3://" + bad + "/x").orElseThrow().startsWith("invalid S3 bucket name '" + bad
                    + "'"), bad);
        }
        for (String fine : List.of("abc", "a.b.c", "a-b-c", "my.bucket-01", "xn--ok", "b-s3alias")) {
            assertTrue(S3Config.urlProblem("s3://" + fine + "/x").isEmpty(), fine);
        }
        assertTrue(assertThrows(BadConfigurationException.class,
                () -> S3Config.fromUrl("s3://b-1/x", Map.of("CKPT_S3_CLIENT", "boto"))).getMessage().contains("CKPT_S3_CLIENT='boto'"));
        assertTrue(assertThrows(BadConfigurationException.class,
                () -> S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", "not a url"))).getMessage().contains("not a url"));
    }

    /**
     * An endpoint's query or fragment, which both clients dropped without a word, is refused
     * (not shown: a query may hold a secret); a path, which the MinIO client refused without
     * naming the variable, is refused for it naming the variable and the way out (the AWS
     * client sends requests below it, as reverse proxies want).
     */
    /**
     * helper-102: the AWS client took AWS_REGION="bad region!", and the MinIO client said "invalid region" naming
     * neither the value's source nor a way out. A region both clients would send is taken as written.
     */
    @Test
    void aRegionThatIsNoRegionNameIsRefusedNamingItsVariable() {
        for (String client : new String[] {"aws", "minio"}) {
            String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                    Map.of("AWS_REGION", "bad region!", "CKPT_S3_CLIENT", client)), client).getMessage();
            assertEquals("the region 'bad region!' (AWS_REGION or ckpt-tool's --region) is not a region name: a region"
                    + " is letters, digits, '-', '_' and '.' (e.g. us-east-1, or the zone group your server names);"
                    + " correct it, or unset it for us-east-1", m);
            String d = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                    Map.of("AWS_DEFAULT_REGION", "eu/west", "CKPT_S3_CLIENT", client)), client).getMessage();
            assertTrue(d.startsWith("the region eu/west (AWS_DEFAULT_REGION) is not a region name"), d);
            assertEquals("zg_1", S3Config.fromUrl("s3://b-1/x", Map.of("AWS_REGION", " zg_1 ", "CKPT_S3_CLIENT",
                    client)).region());
        }
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                Map.of("AWS_REGION", "EU-West-1", "CKPT_S3_CLIENT", "minio"))).getMessage();
        assertEquals("the region EU-West-1 (AWS_REGION or ckpt-tool's --region) is not a region the MinIO client takes:"
                + " lower-case letters, digits, '-' and '_', neither first nor last; write it so, or use --client aws", m);
        assertEquals("EU-West-1", S3Config.fromUrl("s3://b-1/x", Map.of("AWS_REGION", "EU-West-1")).region());
    }

    @Test
    void anEndpointsQueryOrFragmentAndAPathForTheMinioClientAreRefused() {
        for (String ep : new String[] {"http://h:9000/?x=secret1", "http://h:9000#frag", "http://h:9000/s3?x=1"}) {
            String m = assertThrows(BadConfigurationException.class,
                    () -> S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", ep)), ep).getMessage();
            assertTrue(m.matches("the endpoint '?http://h:9000(/|/s3)?'? \\(AWS_ENDPOINT_URL or ckpt-tool's --endpoint\\) has a"
                    + " (query|fragment) .*, which no S3 client sends: remove it"), m);
            assertFalse(m.contains("secret1"), m);
        }
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                Map.of("AWS_ENDPOINT_URL", "http://h:9000/sub", "CKPT_S3_CLIENT", "minio"))).getMessage();
        assertTrue(m.startsWith("the endpoint 'http://h:9000/sub' (AWS_ENDPOINT_URL or ckpt-tool's --endpoint) has a path"
                + " (/sub), which the MinIO client does not take"), m);
        assertTrue(m.contains("CKPT_S3_CLIENT=aws"), m);
        assertEquals("/sub", S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", "http://h:9000/sub")).endpoint()
                .getPath());
        for (String ok : new String[] {"http://h:9000", "http://h:9000/"}) {
            S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", ok, "CKPT_S3_CLIENT", "minio"));
        }
    }

    /**
     * A prefix with an empty, '.' or '..' segment is refused, naming the store meant; each S3
     * client (and server) read it another way (helper-102). A trailing '/' and odd but plain
     * characters pass.
     */
    @Test
    void aPrefixWithEmptyDotOrDotDotSegmentsIsRefused() {
        Map<String, String> cases = Map.of("s3://ckpt/a//b", "an empty segment ('//') in its prefix", "s3://ckpt/./x",
                "a '.' segment", "s3://ckpt/../x", "a '..' segment", "s3://ckpt/x/..", "a '..' segment", "s3://ckpt//x",
                "an empty segment", "s3://ckpt/x//", "an empty segment");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl(c.getKey(), Map.of()),
                    c.getKey()).getMessage();
            assertTrue(m.contains("S3 URL '" + c.getKey() + "' has " + c.getValue()), m);
        }
        assertTrue(assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://ckpt/a//b", Map.of()))
                .getMessage().contains("(s3://ckpt/a/b, if that is the store you mean)"));
        assertTrue(assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://ckpt/./", Map.of()))
                .getMessage().contains("write the prefix without it (s3://ckpt)"));
        for (String ok : new String[] {"s3://ckpt", "s3://ckpt/", "s3://ckpt/a/b/", "s3://ckpt/a.b/..c/x y/%41+"}) {
            S3Config.fromUrl(ok, Map.of());
        }
        assertEquals("a/b/", S3Config.fromUrl("s3://ckpt/a/b/", Map.of()).prefix());
    }

    /**
     * Environment the AWS SDK reads on its own, which it fails on without naming the variable
     * ("The URI scheme of endpointOverride must not be null", "For input string"): refused
     * here, naming it and what to do. An empty endpoint variable is refused whichever client
     * (the MinIO client would go to AWS); AWS_MAX_ATTEMPTS and AWS_DEFAULTS_MODE only for the
     * AWS client, which reads them. Values the SDK takes pass.
     */
    @Test
    void settingsTheAwsSdkReadsItselfAreRefusedNamingTheVariable() {
        for (String var : new String[] {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}) {
            for (String client : new String[] {"aws", "minio"}) {
                for (String blank : new String[] {"", " "}) {
                    String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                            Map.of(var, blank, "CKPT_S3_CLIENT", client))).getMessage();
                    assertTrue(m.startsWith(var + " is set but empty") && m.contains("unset " + var), m);
                }
            }
        }
        // an empty one beside a real endpoint is not used: the real one is passed to the SDK explicitly
        assertEquals("http://h:1", S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL_S3", "",
                "AWS_ENDPOINT_URL", "http://h:1")).endpoint().toString());
        for (String bad : new String[] {"", "abc", "0", "-1", "3.5", "99999999999"}) {
            String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                    Map.of("AWS_MAX_ATTEMPTS", bad))).getMessage();
            assertTrue(m.startsWith("AWS_MAX_ATTEMPTS='" + bad + "' is not a number of attempts"), m);
        }
        for (String bad : new String[] {"", "fast", "in_region"}) {
            String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                    Map.of("AWS_DEFAULTS_MODE", bad))).getMessage();
            assertTrue(m.startsWith("AWS_DEFAULTS_MODE='" + bad + "' is not one of [auto, cross-region"), m);
        }
        for (String good : new String[] {"3", " 3", "10"}) {
            S3Config.fromUrl("s3://b-1/x", Map.of("AWS_MAX_ATTEMPTS", good));
        }
        for (String good : new String[] {"standard", "Standard", "in-region", "auto", "legacy"}) {
            S3Config.fromUrl("s3://b-1/x", Map.of("AWS_DEFAULTS_MODE", good));
        }
        S3Config.fromUrl("s3://b-1/x", Map.of("AWS_MAX_ATTEMPTS", "x", "AWS_DEFAULTS_MODE", "x", "CKPT_S3_CLIENT", "minio"));
        for (String var : new String[] {"AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION"}) {
            for (String bad : new String[] {"", "bogus"}) {
                String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                        Map.of(var, bad))).getMessage();
                assertTrue(m.startsWith(var + "='" + bad + "' is not when_supported or when_required"), m);
                // another endpoint: ckpt sets both itself, the SDK does not read them
                S3Config.fromUrl("s3://b-1/x", Map.of(var, bad, "AWS_ENDPOINT_URL", "http://h:1"));
            }
            for (String good : new String[] {"when_supported", "WHEN_REQUIRED", " when_supported"}) {
                S3Config.fromUrl("s3://b-1/x", Map.of(var, good));
            }
        }
    }

    /**
     * A value that is no endpoint is named with the variable it came from, its user info
     * masked and its line breaks escaped, and a secret key put there by mistake is redacted
     * (helper-70: a password in the URL and the secret key were printed as given).
     */
    @Test
    void aBadEndpointIsShownWithoutSecretsNamingItsVariable() {
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                Map.of("AWS_ENDPOINT_URL", "http://admin:PASSW0RDsecret@/x"))).getMessage();
        assertFalse(m.contains("PASSW0RD"), m);
        assertTrue(m.contains("'http://***@/x' (AWS_ENDPOINT_URL or ckpt-tool's --endpoint) has a user name or password"), m);
        m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                Map.of("AWS_ENDPOINT_URL_S3", "garbage\nmore"))).getMessage();
        assertTrue(m.contains("'garbage\\u000Amore' (AWS_ENDPOINT_URL_S3 or ckpt-tool's --endpoint)") && !m.contains("\n"), m);
        String secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzEXAMPLEKEY";
        BadConfigurationException e = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                Map.of("AWS_ENDPOINT_URL", secret, "AWS_ACCESS_KEY_ID", "AKIAX", "AWS_SECRET_ACCESS_KEY", secret)));
        assertFalse(dev.ckpt.store.error.Redaction.redact(e.getMessage()).contains(secret), e.getMessage());
    }

    /**
     * Settings that failed inside a client with its own words, or as "retrying later is safe":
     * an endpoint that is no HTTP URL ("Unable to marshall request to JSON", exit 7), a missing
     * AWS_PARTITIONS_FILE ("I/O error: /x: does not exist"), and config or credentials files
     * the SDK cannot parse ("Expected a profile definition on line 1", no file named).
     */
    @Test
    void endpointsThatAreNoHttpAndFilesTheSdkCannotReadAreRefusedNamingThem(@org.junit.jupiter.api.io.TempDir
                                                                               java.nio.file.Path tmp) throws Exception {
        for (String ep : new String[] {"ftp://127.0.0.1:21", "file://host/x", "s3://bucket"}) {
            String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                    Map.of("AWS_ENDPOINT_URL", ep))).getMessage();
            assertTrue(m.contains("'" + ep + "' (AWS_ENDPOINT_URL or ckpt-tool's --endpoint) is not an http:// or https:// URL"), m);
        }
        assertEquals("HTTPS", S3Config.fromUrl("s3://b-1/x", Map.of("AWS_ENDPOINT_URL", "HTTPS://h:1")).endpoint().getScheme());
        String m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                Map.of("AWS_PARTITIONS_FILE", tmp.resolve("none.json").toString()))).getMessage();
        assertTrue(m.startsWith("AWS_PARTITIONS_FILE=" + tmp.resolve("none.json") + " is not a file"), m);

        java.nio.file.Path garbage = java.nio.file.Files.writeString(tmp.resolve("garbage"), "garbage\nnot a profile\n");
        java.nio.file.Path good = java.nio.file.Files.writeString(tmp.resolve("good"), "[default]\nregion = us-east-1\n");
        // the SDK reads these system properties before the variables: the test cannot set the process's environment
        for (String property : new String[] {"aws.configFile", "aws.sharedCredentialsFile"}) {
            String before = System.getProperty(property);
            try {
                System.setProperty(property, garbage.toString());
                for (S3Config.Client client : S3Config.Client.values()) {
                    m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x",
                            Map.of("CKPT_S3_CLIENT", client.name().toLowerCase()))).getMessage();
                    assertTrue(m.contains(garbage + " cannot be read as one: Expected a profile definition on line 1"), m);
                }
                // the MinIO client with keys reads neither file: nothing to refuse
                S3Config.fromUrl("s3://b-1/x", Map.of("CKPT_S3_CLIENT", "minio", "AWS_ACCESS_KEY_ID", "AKIAX",
                        "AWS_SECRET_ACCESS_KEY", "s"));
                System.setProperty(property, tmp.toString());
                m = assertThrows(BadConfigurationException.class, () -> S3Config.fromUrl("s3://b-1/x", Map.of())).getMessage();
                assertTrue(m.contains(tmp + " is not a readable file"), m);
                System.setProperty(property, good.toString());
                S3Config.fromUrl("s3://b-1/x", Map.of());
                System.setProperty(property, tmp.resolve("absent").toString());
                S3Config.fromUrl("s3://b-1/x", Map.of()); // none is fine
                System.setProperty(property, "");
                S3Config.fromUrl("s3://b-1/x", Map.of()); // set but empty: no file, as for the SDK (helper-78)
            } finally {
                if (before == null) {
                    System.clearProperty(property);
                } else {
                    System.setProperty(property, before);
                }
            }
        }
    }

    /** A copied key with a stray space or line break: both clients sign with the key itself (the MinIO client got 403). */
    @Test
    void keysAreUsedWithoutLeadingOrTrailingWhiteSpace() {
        S3Config c = S3Config.fromUrl("s3://b-1/x", Map.of("CKPT_S3_CLIENT", "minio", "AWS_ACCESS_KEY_ID", " AKIAX\t",
                "AWS_SECRET_ACCESS_KEY", "secret\n"));
        assertEquals("AKIAX", c.accessKey());
        assertEquals("secret", c.secretKey());
        assertEquals("AKIAX", c.withCredentials("AKIAX ", " s").accessKey());
    }

    @Test
    void theBuilderHoldsTheDefaultsFromUrlUsesAndChecksEveryValue() {
        S3Config b = S3Config.builder("my-bucket").prefix("runs/a").build();
        assertEquals(S3Config.fromUrl("s3://my-bucket/runs/a", Map.of()), b);
        assertEquals("runs/a/", b.prefix());
        assertEquals(S3Config.Client.AWS, b.client());
        assertEquals(S3Config.Http.APACHE, b.http());
        assertEquals(64, b.maxConnections());
        assertEquals(java.time.Duration.ofSeconds(10), b.connectTimeout());
        assertEquals(java.time.Duration.ofMinutes(2), b.requestTimeout());
        assertEquals(5, b.maxAttempts());
        assertTrue(b.probe());
        S3Config minio = b.toBuilder().endpoint(java.net.URI.create("http://minio:9000"))
                .client(S3Config.Client.MINIO, S3Config.Http.APACHE).credentials("ak", "sk").build();
        assertEquals("runs/a/", minio.prefix(), "toBuilder keeps what it is not told to change");
        assertTrue(minio.usePathStyle());
        assertEquals(minio, b.withClient(S3Config.Client.MINIO, S3Config.Http.APACHE).withCredentials("ak", "sk")
                .toBuilder().endpoint(java.net.URI.create("http://minio:9000")).build(), "with... and the builder agree");
        assertTrue(assertThrows(BadConfigurationException.class, () -> S3Config.builder("b-1").credentials("ak", null).build())
                .getMessage().contains("both the S3 access key and the secret key"));
        assertTrue(assertThrows(BadConfigurationException.class, () -> S3Config.builder("b-1").maxConnections(0).build())
                .getMessage().contains("connection limit must be at least 1, got 0"));
        assertTrue(assertThrows(BadConfigurationException.class,
                () -> S3Config.builder("b-1").timeouts(java.time.Duration.ZERO, java.time.Duration.ofMinutes(2), 5).build())
                .getMessage().contains("connect timeout must be positive"));
        assertTrue(assertThrows(BadConfigurationException.class,
                () -> S3Config.builder("b-1").timeouts(java.time.Duration.ofSeconds(1), java.time.Duration.ofMinutes(2), 0).build())
                .getMessage().contains("at least 1 attempt"));
    }

    @Test
    void secretsNeverAppearInDescriptionsOrErrors() throws Exception {
        String secret = "wrong-secret-Zx81Kq0001";
        S3Config c = S3Config.fromUrl("s3://b-1/x", Map.of()).withCredentials("AKIAEXAMPLEKEY", secret);
        assertFalse(c.toString().contains(secret));
        assertFalse(c.toString().contains("AKIAEXAMPLEKEY"));
        try (S3ProxyServer server = S3ProxyServer.start(null)) {
            server.createBucket("secrets");
            for (S3Config.Client client : S3Config.Client.values()) {
                S3Config wrong = server.config("secrets", "p", client, S3Config.Http.APACHE).withCredentials(S3ProxyServer.ACCESS_KEY, secret);
                try (ObjectStore store = S3ObjectStores.open(wrong)) {
                    CkptException e = assertThrows(CkptException.class, () -> store.put("k", new byte[]{1}));
                    assertTrue(e instanceof BadConfigurationException, client + ": " + e);
                    assertTrue(e.getMessage().contains("access denied") && e.getMessage().contains("s3://secrets/p/k"), e.getMessage());
                    for (Throwable t = e; t != null; t = t.getCause()) {
                        assertFalse(String.valueOf(t.getMessage()).contains(secret), client + " leaks the secret: " + t.getMessage());
                    }
                    assertFalse(store.describe().contains(secret));
                }
            }
        }
    }

    /** The two durations read from the environment: each bad value is refused naming its variable. */
    @Test
    void durationsFromTheEnvironmentAreCheckedNamingTheirVariable() {
        for (String var : new String[] {"CKPT_S3_STALL_TIMEOUT", "CKPT_S3_CREDENTIALS_TIMEOUT"}) {
            for (String bad : new String[] {"abc", "0", "0s", "-5s", "1w", "99999999999999999999s", "999999999999999999m",
                    "36501d"}) {
                String m = assertThrows(BadConfigurationException.class,
                        () -> S3Config.fromUrl("s3://b-1/x", Map.of(var, bad)), var + "=" + bad).getMessage();
                assertTrue(m.startsWith(var + "='" + bad + "' is not a duration")
                        || m.startsWith(var + "='" + bad + "' is longer than ckpt takes (at most 36500d"), m);
                // a number past a long is too long, not "not over zero" (helper-78)
                assertFalse(bad.startsWith("9") && m.contains("over zero"), m);
            }
            // hours and days, as the command line takes them (helper-78: refused)
            assertEquals(java.time.Duration.ofHours(1), var.equals("CKPT_S3_STALL_TIMEOUT")
                    ? S3Config.fromUrl("s3://b-1/x", Map.of(var, "1h")).stallTimeout()
                    : S3Config.fromUrl("s3://b-1/x", Map.of(var, "1h")).credentialsTimeout());
        }
        S3Config c = S3Config.fromUrl("s3://b-1/x", Map.of("CKPT_S3_CREDENTIALS_TIMEOUT", "2m",
                "CKPT_S3_STALL_TIMEOUT", "1500ms"));
        assertEquals(java.time.Duration.ofMinutes(2), c.credentialsTimeout());
        assertEquals(java.time.Duration.ofMillis(1500), c.stallTimeout());
        assertEquals(java.time.Duration.ofSeconds(60), S3Config.fromUrl("s3://b-1/x", Map.of()).credentialsTimeout());
    }
    /**
     * Durations up to 100 years are taken; OkHttp refuses timeouts past 2^31 ms (24.8 days) with
     * "timeout too large", which the MinIO client failed with (helper-79: --stall-timeout 30d, exit 1).
     */
    @Test
    void stallAndRequestTimeoutsPastOkHttpsLimitStillBuildTheMinioClient() {
        S3Config c = S3Config.fromUrl("s3://b-1/x", Map.of("CKPT_S3_CLIENT", "minio", "AWS_ENDPOINT_URL", "http://127.0.0.1:1",
                "AWS_ACCESS_KEY_ID", "a", "AWS_SECRET_ACCESS_KEY", "b", "CKPT_S3_STALL_TIMEOUT", "36500d"));
        assertEquals(java.time.Duration.ofDays(36500), c.stallTimeout());
        try (MinioObjectStore s = new MinioObjectStore(c.withTimeouts(java.time.Duration.ofDays(30),
                java.time.Duration.ofDays(36500), 1))) {
            assertTrue(s.server().isPresent());
        }
        assertEquals(Integer.MAX_VALUE, MinioClients.okHttpMillis(java.time.Duration.ofDays(25)));
        assertEquals(1500, MinioClients.okHttpMillis(java.time.Duration.ofMillis(1500)));
    }
}

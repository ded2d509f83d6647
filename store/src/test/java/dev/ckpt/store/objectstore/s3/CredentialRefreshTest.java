package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.ExitCode;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ProbeCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A profile's credential_process whose keys expire during a run, and which fails when the SDK
 * runs it again for fresh ones (a sign-in that expired): the AWS client printed the SDK's raw
 * "Failed to refresh process-based credentials" (exit 1, an IllegalStateException escaping its
 * error mapping), the MinIO client "network or server unreachable" (exit 7) (helper-75). Both now
 * name the profile and the command's own error, exit 1. Against S3Proxy over HTTP; the profile is
 * given through the SDK's system properties, as a test cannot set the process's environment.
 */
class CredentialRefreshTest {
    static S3ProxyServer server;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("refresh");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aRefreshThatFailsMidRunNamesTheProfileAndTheCommandsErrorBothClients() throws Exception {
        Path count = tmp.resolve("count");
        Path script = tmp.resolve("creds.sh");
        // the first run gives keys that expire in 2 s; every later run fails, as an expired sign-in does
        Files.writeString(script, "#!/bin/sh\nn=$(cat " + count + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + count
                + "\nif [ $n -le 1 ]; then\n  printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\","
                + " \"Expiration\": \"%s\"}' " + server.accessKey() + " " + server.secretKey()
                + " $(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)\nelse\n  echo 'token expired: sign in again' >&2; exit 3\nfi\n");
        script.toFile().setExecutable(true);
        Path config = tmp.resolve("config");
        Files.writeString(config, "[profile refresh]\ncredential_process = " + script + "\n");
        Map<String, String> props = Map.of("aws.configFile", config.toString(), "aws.sharedCredentialsFile",
                tmp.resolve("none").toString(), "aws.profile", "refresh");
        Map<String, String> before = new java.util.HashMap<>();
        props.forEach((k, v) -> {
            before.put(k, System.getProperty(k));
            System.setProperty(k, v);
        });
        try {
            for (S3Config.Client client : S3Config.Client.values()) {
                Files.deleteIfExists(count);
                S3Config cfg = S3Config.fromUrl("s3://refresh/" + client, Map.of("AWS_ENDPOINT_URL",
                        server.endpoint().toString(), "CKPT_S3_CLIENT", client.name().toLowerCase(),
                        "AWS_EC2_METADATA_DISABLED", "true"));
                try (ObjectStore s = S3ObjectStores.open(cfg, ProbeCache.off())) {
                    s.put("a", new byte[]{1});
                    long end = System.nanoTime() + 60_000_000_000L;
                    CkptException e = null;
                    while (e == null && System.nanoTime() < end) { // until the first keys have expired
                        try {
                            s.put("b", new byte[]{2});
                            Thread.sleep(200);
                        } catch (CkptException failed) {
                            e = failed;
                        }
                    }
                    CkptException seen = e;
                    assertTrue(seen != null, client + ": every write succeeded for 60 s after the keys expired");
                    assertTrue(seen instanceof BadConfigurationException, client + ": " + seen);
                    assertEquals(ExitCode.ERROR, ExitCode.of(seen), client + ": not 7, retrying alone fails again");
                    String m = seen.getMessage();
                    assertTrue(m.startsWith("no S3 credentials to "), client + ": " + m);
                    assertTrue(m.contains("profile 'refresh' gets its keys from its credential_process command (in "),
                            client + ": " + m);
                    assertTrue(m.contains("which failed when asked for fresh keys during the run"), client + ": " + m);
                    assertTrue(m.contains("token expired: sign in again"), client + ": the command's own error: " + m);
                    assertFalse(m.contains("Exception"), client + ": " + m);
                }
            }
        } finally {
            before.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }
}

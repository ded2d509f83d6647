package dev.ckpt.store.testing;

import dev.ckpt.store.objectstore.s3.S3Config;

import java.net.URI;
import java.util.HashMap;
import java.util.Map;

/** An S3 server the tests start (S3Proxy in-process, Ceph RGW), reached with fixed test credentials. */
public interface S3TestServer {
    URI endpoint();

    String accessKey();

    String secretKey();

    /** Settings for a store on this server with the given client. */
    default S3Config config(String bucket, String prefix, S3Config.Client client, S3Config.Http http) {
        return S3Config.fromUrl("s3://" + bucket + "/" + prefix, Map.of("AWS_ENDPOINT_URL", endpoint().toString()))
                .withCredentials(accessKey(), secretKey()).withClient(client, http);
    }

    /** The environment another process (or ckpt-tool) needs to open {@code s3://...} on this server. */
    default Map<String, String> env(S3Config.Client client, S3Config.Http http) {
        Map<String, String> env = new HashMap<>();
        env.put("AWS_ENDPOINT_URL", endpoint().toString());
        env.put("AWS_ACCESS_KEY_ID", accessKey());
        env.put("AWS_SECRET_ACCESS_KEY", secretKey());
        env.put("AWS_REGION", "us-east-1");
        env.put("CKPT_S3_CLIENT", client.name().toLowerCase());
        env.put("CKPT_S3_HTTP_CLIENT", http.name().toLowerCase().replace('_', '-'));
        return env;
    }
}

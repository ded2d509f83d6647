package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.testing.StallingLink;

import java.util.Map;

/**
 * The in-process S3 server with one bucket, reached through a {@link StallingLink} that
 * records every request line and can stall or cut transfers: for tests that count or break
 * what goes over the wire.
 */
final class LinkedS3Proxy implements AutoCloseable {
    final S3ProxyServer server;
    final StallingLink link;
    private final String bucket;

    LinkedS3Proxy(String bucket) throws Exception {
        this.bucket = bucket;
        this.server = S3ProxyServer.start(null);
        server.createBucket(bucket);
        this.link = new StallingLink(server.endpoint().getPort());
    }

    /** The store at prefix {@code ckpt} of the bucket, through the link, with {@code client} and {@code http}. */
    S3Config throughLink(S3Config.Client client, S3Config.Http http) {
        return S3Config.fromUrl("s3://" + bucket + "/ckpt", Map.of("AWS_ENDPOINT_URL", link.endpoint().toString()))
                .withCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY).withClient(client, http);
    }

    @Override
    public void close() throws java.io.IOException {
        link.close();
        server.close();
    }
}

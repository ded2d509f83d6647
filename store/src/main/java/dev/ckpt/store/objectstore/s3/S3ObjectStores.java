package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ProbingObjectStore;

import java.util.Map;

/** Builds S3 object stores. */
public final class S3ObjectStores {
    private S3ObjectStores() {
    }

    /** A store for {@code config}; unless {@code config.probe()} is false, conditional writes are probed before use. */
    public static ObjectStore open(S3Config config) {
        if (config.accessKey() != null) { // whatever prints anything redacts these (the chain's are registered as resolved)
            dev.ckpt.store.error.Redaction.registerSecret(config.accessKey());
            dev.ckpt.store.error.Redaction.registerSecret(config.secretKey());
        }
        ObjectStore raw = config.client() == S3Config.Client.MINIO ? new MinioObjectStore(config) : new AwsS3ObjectStore(config);
        return config.probe() ? new ProbingObjectStore(raw) : raw;
    }

    /** Opens {@code s3://bucket/prefix} configured from the environment (see {@link S3Config#fromUrl}). */
    public static ObjectStore open(String url, Map<String, String> env) {
        return open(S3Config.fromUrl(url, env));
    }
}

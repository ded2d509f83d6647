package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ProbeCache;
import dev.ckpt.store.objectstore.ProbingObjectStore;

import java.util.Locale;
import java.util.Map;

/** Builds S3 object stores. */
public final class S3ObjectStores {
    private S3ObjectStores() {
    }

    /**
     * A store for {@code config}; unless {@code config.probe()} is false, conditional writes are probed before use,
     * with the probe verdict cache configured by the process's environment ({@link ProbeCache#fromEnvironment}).
     */
    public static ObjectStore open(S3Config config) {
        return open(config, ProbeCache.fromEnvironment(System.getenv()));
    }

    /**
     * A store for {@code config}; unless {@code config.probe()} is false, conditional writes are probed before use,
     * or a fresh passing verdict in {@code cache} for the same server and bucket stands in for the probe (and its
     * If-Match form is the one the backend tries first).
     */
    public static ObjectStore open(S3Config config, ProbeCache cache) {
        if (config.accessKey() != null) { // whatever prints anything redacts these (the chain's are registered as resolved)
            dev.ckpt.store.error.Redaction.registerSecret(config.accessKey());
            dev.ckpt.store.error.Redaction.registerSecret(config.secretKey());
        }
        ObjectStore raw = config.client() == S3Config.Client.MINIO ? new MinioObjectStore(config) : new AwsS3ObjectStore(config);
        if (!config.probe()) {
            return raw;
        }
        ProbingObjectStore probing = new ProbingObjectStore(raw, cache, identity(config));
        probing.cachedVerdict().map(ProbeCache.Entry::ifMatchForm).ifPresent(form -> hint(raw, form));
        return probing;
    }

    /** Opens {@code s3://bucket/prefix} configured from the environment (see {@link S3Config#fromUrl}). */
    public static ObjectStore open(String url, Map<String, String> env) {
        return open(S3Config.fromUrl(url, env), ProbeCache.fromEnvironment(env));
    }

    /** What a probe verdict for {@code config} applies to: server, bucket, and what shapes the requests; no credentials. */
    public static ProbeCache.Identity identity(S3Config config) {
        return new ProbeCache.Identity("s3", config.endpoint() == null ? null : config.endpoint().toString(),
                config.bucket(), config.region(), (config.client() + "/" + config.http()).toLowerCase(Locale.ROOT),
                config.usePathStyle(), config.sse().name().toLowerCase(Locale.ROOT));
    }

    private static void hint(ObjectStore raw, IfMatchForm form) {
        if (raw instanceof AwsS3ObjectStore a) {
            a.hintIfMatchForm(form);
        } else if (raw instanceof MinioObjectStore m) {
            m.hintIfMatchForm(form);
        }
    }
}

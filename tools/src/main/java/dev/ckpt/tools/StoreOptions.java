package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ObjectStores;
import picocli.CommandLine.Option;

import java.util.HashMap;
import java.util.Map;

/** How to reach a store: S3 settings that override the environment. */
public final class StoreOptions {
    @Option(names = "--client", paramLabel = "aws|minio", converter = ClientName.class,
            description = "S3 client library (default: $CKPT_S3_CLIENT, else aws)")
    String client;

    /** aws or minio, checked here: another value was passed on and refused as CKPT_S3_CLIENT's, exit 1 (helper-79). */
    static final class ClientName implements picocli.CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String v = value.strip().toLowerCase(java.util.Locale.ROOT);
            if (!v.equals("aws") && !v.equals("minio")) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not an S3 client: aws or minio");
            }
            return v;
        }
    }

    @Option(names = "--endpoint", paramLabel = "URL",
            description = "S3 endpoint, e.g. http://minio:9000 (default: $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL)")
    String endpoint;

    @Option(names = "--region", paramLabel = "REGION", description = "S3 region (default: $AWS_REGION, else us-east-1)")
    String region;

    @Option(names = "--stall-timeout", paramLabel = "DURATION", converter = Durations.Positive.class,
            description = "S3: abort and retry a transfer attempt that receives nothing for DURATION"
                    + " (default: $CKPT_S3_STALL_TIMEOUT, else 30s)")
    java.time.Duration stallTimeout;

    /**
     * Opens the object store behind {@code url}: {@code s3://bucket/prefix}, {@code file:///path} or a path.
     * A local directory that does not exist is created only when {@code create} (init, push, import).
     */
    ObjectStore objectStore(String url, Map<String, String> env, boolean create) {
        if (url.startsWith("s3://")) {
            Map<String, String> e = new HashMap<>(env);
            if (client != null) {
                e.put("CKPT_S3_CLIENT", client);
            }
            if (endpoint != null) {
                e.remove("AWS_ENDPOINT_URL_S3"); // which the environment's S3 endpoint would be read from first
                e.remove("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"); // an endpoint given here is explicit, not configured
                e.put("AWS_ENDPOINT_URL", endpoint);
            }
            if (region != null) {
                e.put("AWS_REGION", region);
            }
            if (stallTimeout != null) {
                e.put("CKPT_S3_STALL_TIMEOUT", stallTimeout.toMillis() + "ms");
            }
            return S3ObjectStores.open(S3Config.fromUrl(url, e), dev.ckpt.store.objectstore.ProbeCache.fromEnvironment(e));
        }
        return ObjectStores.open(url, create);
    }

    CheckpointStore open(String url, Map<String, String> env, StoreConfig config, boolean create) {
        ObjectStore o = objectStore(url, env, create);
        return create ? CheckpointStore.open(o, config) : CheckpointStore.openExisting(o, config);
    }
}

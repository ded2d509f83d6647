package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of an S3 store, the way AWS users expect them: {@code s3://bucket/prefix},
 * the default credential chain (environment, profiles, instance roles) unless keys are
 * given, {@code AWS_ENDPOINT_URL} / {@code AWS_REGION}, path-style addressing automatic
 * for custom endpoints. {@link #toString()} never shows the secret key. Built by
 * {@link #fromUrl(String, Map)} from a URL and the environment, or by {@link #builder(String)};
 * every value is checked in one place, the record's constructor.
 *
 * @param client      which S3 client library talks to the server
 * @param http        the HTTP client under the AWS SDK (ignored by the MinIO client)
 * @param pathStyle   null = automatic (path style for custom endpoints)
 * @param accessKey   null = the default credential chain
 * @param sse         server-side encryption of written objects
 * @param kmsKeyId    the KMS key for {@link Sse#KMS}; null = the bucket's default key
 * @param probe       check that the server honours conditional writes before the first one
 * @param maxConnections  HTTP connections to the server at most (default 64)
 * @param connectTimeout  how long to wait for a connection (default 10 s)
 * @param requestTimeout  how long one attempt of a request may take in all (default 2 min)
 * @param maxAttempts     attempts the S3 client makes per request, its own retries included (default 5)
 * @param caBundle    PEM file of the certificates to trust for TLS ({@code AWS_CA_BUNDLE}, e.g. an
 *                    on-prem MinIO's private CA); null = the JVM's default trust store
 * @param stallTimeout    how long an attempt may go without receiving a byte (or, with the MinIO client,
 *                        sending one) before it is aborted and retried by the client (default 30 s;
 *                        {@code CKPT_S3_STALL_TIMEOUT}): a stalled transfer is noticed after this, a slow
 *                        one that keeps moving is not cut off
 * @param credentialsTimeout  how long the AWS default credential chain may take to give credentials
 *                        (default 60 s; {@code CKPT_S3_CREDENTIALS_TIMEOUT}): a profile's credential_process
 *                        that has not ended by then is ended, and the request fails saying so
 */
public record S3Config(String bucket, String prefix, URI endpoint, String region, Boolean pathStyle, Client client,
                       Http http, String accessKey, String secretKey, Sse sse, String kmsKeyId, int maxConnections,
                       Duration connectTimeout, Duration requestTimeout, int maxAttempts, boolean probe,
                       java.nio.file.Path caBundle, Duration stallTimeout, Duration credentialsTimeout) {

    public enum Client { AWS, MINIO }

    public enum Http { APACHE, URL_CONNECTION }

    public enum Sse { NONE, S3, KMS }

    public S3Config {
        String bucketProblem = bucketProblem(bucket);
        if (bucketProblem != null) {
            throw new BadConfigurationException(bucketProblem);
        }
        prefix = normalizePrefix(prefix);
        Endpoint.refuseUserInfo(endpoint);
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(http, "http");
        sse = sse == null ? Sse.NONE : sse;
        region = region == null || region.isBlank() ? "us-east-1" : region;
        if ((accessKey == null) != (secretKey == null)) {
            throw new BadConfigurationException("give both the S3 access key and the secret key, or neither");
        }
        if (maxConnections < 1) {
            throw new BadConfigurationException("the S3 connection limit must be at least 1, got " + maxConnections);
        }
        if (maxAttempts < 1) {
            throw new BadConfigurationException("S3 requests need at least 1 attempt, got " + maxAttempts);
        }
        positive("connect timeout", connectTimeout);
        positive("request timeout", requestTimeout);
        positive("stall timeout", stallTimeout);
        positive("credentials timeout", credentialsTimeout);
    }

    private static void positive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new BadConfigurationException("the S3 " + name + " must be positive, got " + d);
        }
    }

    /** A builder for this bucket holding the defaults: AWS client over Apache HTTP, the default credential chain. */
    public static Builder builder(String bucket) {
        return new Builder(bucket);
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        Builder b = new Builder(bucket);
        b.prefix = prefix;
        b.endpoint = endpoint;
        b.region = region;
        b.pathStyle = pathStyle;
        b.client = client;
        b.http = http;
        b.accessKey = accessKey;
        b.secretKey = secretKey;
        b.sse = sse;
        b.kmsKeyId = kmsKeyId;
        b.maxConnections = maxConnections;
        b.connectTimeout = connectTimeout;
        b.requestTimeout = requestTimeout;
        b.maxAttempts = maxAttempts;
        b.probe = probe;
        b.caBundle = caBundle;
        b.stallTimeout = stallTimeout;
        b.credentialsTimeout = credentialsTimeout;
        return b;
    }

    private static String normalizePrefix(String p) {
        if (p == null || p.isEmpty() || p.equals("/")) {
            return "";
        }
        String s = p.startsWith("/") ? p.substring(1) : p;
        return s.endsWith("/") ? s : s + "/";
    }

    /** Whether the server's ETag of a single-part object is the MD5 of its bytes (not so under SSE-KMS). */
    public boolean etagIsMd5() {
        return sse != Sse.KMS;
    }

    /** Path-style addressing in effect: explicit, else on for custom endpoints. */
    public boolean usePathStyle() {
        return pathStyle != null ? pathStyle : endpoint != null;
    }

    /**
     * Parses {@code s3://bucket/prefix} and reads the environment: {@code AWS_ENDPOINT_URL}
     * (or {@code AWS_ENDPOINT_URL_S3}), {@code AWS_REGION} (or {@code AWS_DEFAULT_REGION}),
     * {@code CKPT_S3_CLIENT} ({@code aws} or {@code minio}), {@code CKPT_S3_HTTP_CLIENT}
     * ({@code apache} or {@code url-connection}), {@code CKPT_S3_PATH_STYLE} ({@code true}/
     * {@code false}), {@code CKPT_S3_SSE} ({@code none}, {@code s3}, {@code kms}) and
     * {@code CKPT_S3_KMS_KEY_ID}, {@code AWS_CA_BUNDLE} (PEM certificates to trust), {@code CKPT_S3_STALL_TIMEOUT}
     * and {@code CKPT_S3_CREDENTIALS_TIMEOUT} ({@code 30s}, {@code 1500ms}, {@code 2m}; a bare number is seconds). {@code AWS_ACCESS_KEY_ID} and {@code AWS_SECRET_ACCESS_KEY}
     * in {@code env} are used as given (the first link of the AWS chain, read from the map
     * the caller passes); with a session token, or without keys, the default chain decides.
     */
    /**
     * Why {@code bucket} is no S3 bucket name (S3's general-purpose bucket naming rules: 3 to 63
     * characters of lower-case letters, digits, '.' and '-', a letter or digit at each end and
     * beside each '.', not an IPv4 address), or null. The rules every server keeps (AWS, MinIO's
     * strict check, RGW): not AWS's newer reserved prefixes and suffixes ({@code xn--},
     * {@code -s3alias}), which an on-prem server may allow.
     */
    public static String bucketProblem(String bucket) {
        if (bucket == null || !bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
                || bucket.contains("..") || bucket.contains(".-") || bucket.contains("-.") // helper-121: b..c passed
                || bucket.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            return "invalid S3 bucket name '" + bucket + "': a bucket name is 3 to 63"
                    + " characters of lower-case letters, digits, '.' and '-', starts and ends with a letter or digit,"
                    + " has one on each side of every '.', and is not an IP address";
        }
        return null;
    }

    /**
     * What is wrong with the shape of {@code url} as an {@code s3://bucket/prefix} URL, or empty;
     * {@link #fromUrl} refuses the same with a {@code BadConfigurationException}.
     */
    public static java.util.Optional<String> urlProblem(String url) {
        return java.util.Optional.ofNullable(S3UrlConfig.shapeProblem(url));
    }

    public static S3Config fromUrl(String url, Map<String, String> env) {
        return S3UrlConfig.fromUrl(url, env);
    }

    public S3Config withCredentials(String access, String secret) {
        return toBuilder().credentials(access, secret).build();
    }

    public S3Config withClient(Client c, Http h) {
        return toBuilder().client(c, h).build();
    }

    public S3Config withPrefix(String p) {
        return toBuilder().prefix(p).build();
    }

    public S3Config withTimeouts(Duration connect, Duration request, int attempts) {
        return toBuilder().timeouts(connect, request, attempts).build();
    }

    /** A transfer attempt that receives nothing for {@code d} is aborted and retried. */
    public S3Config withStallTimeout(Duration d) {
        return toBuilder().stallTimeout(d).build();
    }

    public S3Config withProbe(boolean p) {
        return toBuilder().probe(p).build();
    }

    public S3Config withCaBundle(java.nio.file.Path pem) {
        return toBuilder().caBundle(pem).build();
    }

    /** Mutable, not thread-safe; see the record's components for what each setting means. */
    public static final class Builder {
        private final String bucket;
        private String prefix = "";
        private URI endpoint;
        private String region;
        private Boolean pathStyle;
        private Client client = Client.AWS;
        private Http http = Http.APACHE;
        private String accessKey;
        private String secretKey;
        private Sse sse = Sse.NONE;
        private String kmsKeyId;
        private int maxConnections = 64;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofMinutes(2);
        private int maxAttempts = 5;
        private boolean probe = true;
        private java.nio.file.Path caBundle;
        static final Duration DEFAULT_STALL = Duration.ofSeconds(30);
        private Duration stallTimeout = DEFAULT_STALL;
        static final Duration DEFAULT_CREDENTIALS_WAIT = Duration.ofSeconds(60);
        private Duration credentialsTimeout = DEFAULT_CREDENTIALS_WAIT;

        private Builder(String bucket) {
            this.bucket = bucket;
        }

        /** Key prefix inside the bucket; a trailing '/' is added. */
        public Builder prefix(String p) {
            this.prefix = p;
            return this;
        }

        /** A custom endpoint (MinIO, Ceph RGW, ...); null = AWS. */
        public Builder endpoint(URI uri) {
            this.endpoint = uri;
            return this;
        }

        /** null or blank = us-east-1. */
        public Builder region(String r) {
            this.region = r;
            return this;
        }

        /** null = automatic: path style for custom endpoints. */
        public Builder pathStyle(Boolean on) {
            this.pathStyle = on;
            return this;
        }

        public Builder client(Client c, Http h) {
            this.client = c;
            this.http = h;
            return this;
        }

        /** Static keys, both or neither; null, null = the default credential chain. */
        /**
         * Static keys; null for the AWS default chain. Leading and trailing white space is dropped, as the AWS
         * SDK drops it ({@code AwsBasicCredentials}): the MinIO client signed with it, and the server answered
         * 403 with no hint of a stray space from a copied key.
         */
        public Builder credentials(String access, String secret) {
            this.accessKey = access == null ? null : access.strip();
            this.secretKey = secret == null ? null : secret.strip();
            return this;
        }

        /** Server-side encryption; {@code kmsKey} only for {@link Sse#KMS} (null = the bucket's default key). */
        public Builder sse(Sse mode, String kmsKey) {
            this.sse = mode;
            this.kmsKeyId = kmsKey;
            return this;
        }

        public Builder maxConnections(int n) {
            this.maxConnections = n;
            return this;
        }

        public Builder timeouts(Duration connect, Duration request, int attempts) {
            this.connectTimeout = connect;
            this.requestTimeout = request;
            this.maxAttempts = attempts;
            return this;
        }

        public Builder probe(boolean p) {
            this.probe = p;
            return this;
        }

        public Builder caBundle(java.nio.file.Path pem) {
            this.caBundle = pem;
            return this;
        }

        /** How long an attempt may receive nothing before the client aborts and retries it (default 30 s). */
        public Builder stallTimeout(Duration d) {
            this.stallTimeout = d;
            return this;
        }

        /** How long the AWS default credential chain may take to give credentials (default 60 s). */
        public Builder credentialsTimeout(Duration d) {
            this.credentialsTimeout = d;
            return this;
        }

        /** @throws BadConfigurationException naming the first setting that is wrong */
        public S3Config build() {
            return new S3Config(bucket, prefix, endpoint, region, pathStyle, client, http, accessKey, secretKey, sse,
                    kmsKeyId, maxConnections, connectTimeout, requestTimeout, maxAttempts, probe, caBundle, stallTimeout,
                    credentialsTimeout);
        }
    }

    /**
     * The CA bundle to load, or null: none is given, or the endpoint is plain {@code http://}, where
     * no certificate is ever checked (parsing a system-wide bundle of some 140 certificates cost
     * about 0.3 s of CPU in every process for nothing).
     */
    public java.nio.file.Path tlsCaBundle() {
        return plainHttp() ? null : caBundle;
    }

    /** Whether the endpoint is plain {@code http://}: every request goes there, and no TLS is set up. */
    public boolean plainHttp() {
        return endpoint != null && "http".equalsIgnoreCase(endpoint.getScheme());
    }

    /** The server as {@link dev.ckpt.store.objectstore.ObjectStore#server()} shows it. */
    public String server() {
        return (endpoint == null ? "AWS S3" : Endpoint.shown(endpoint.toString())) + ", "
                + (usePathStyle() ? "path-style" : "virtual-host") + " addressing, region " + region + ", client "
                + client.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** {@code s3://bucket/prefix}: what messages show. */
    public String url() {
        return "s3://" + bucket + "/" + prefix;
    }

    @Override
    public String toString() {
        return "S3Config[" + url() + ", endpoint=" + endpoint + ", region=" + region + ", pathStyle=" + usePathStyle()
                + ", client=" + client + ", http=" + http + ", credentials=" + (accessKey == null ? "default chain"
                : "access key " + accessKey.substring(0, Math.min(4, accessKey.length())) + "…") + ", sse=" + sse + (caBundle == null ? "" : ", caBundle=" + caBundle) + "]";
    }
}

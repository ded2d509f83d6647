package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import dev.ckpt.store.objectstore.IfMatchForm;
import dev.ckpt.store.objectstore.Keys;
import dev.ckpt.store.objectstore.Leftovers;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectListing;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.objectstore.StoredBytes;
import dev.ckpt.store.objectstore.StoredObject;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.ServerSideEncryption;
import io.minio.ServerSideEncryptionKms;
import io.minio.ServerSideEncryptionS3;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;
import okhttp3.OkHttpClient;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An S3 bucket through the MinIO Java client. Objects are always written in a single
 * part: the MinIO client sends conditional headers only with the first request of a
 * multipart upload, so a multipart write would lose its condition. Credentials come from
 * the AWS default chain unless given, so both backends are configured the same way.
 */
final class MinioObjectStore implements ObjectStore {
    private static final long MIN_PART = 5L << 20;

    private final S3Config config;
    private final Conditional.Forms ifMatchForms = new Conditional.Forms();
    private final MinioClient client;
    private final OkHttpClient http;
    private final software.amazon.awssdk.http.apache.ProxyConfiguration proxy;
    private final MinioRequests requests;

    MinioObjectStore(S3Config config) {
        this(config, software.amazon.awssdk.http.apache.ProxyConfiguration.builder().build());
    }

    /** With the HTTP proxy {@code proxy} describes ({@link HttpProxy}: by default the AWS client's). */
    MinioObjectStore(S3Config config, software.amazon.awssdk.http.apache.ProxyConfiguration proxy) {
        this.config = config;
        this.proxy = proxy;
        this.requests = new MinioRequests(config, proxy);
        if (config.sse() == S3Config.Sse.KMS && config.endpoint() != null && "http".equalsIgnoreCase(config.endpoint().getScheme())) {
            throw new dev.ckpt.store.error.BadConfigurationException("CKPT_S3_SSE=kms needs an https:// endpoint with the MinIO "
                    + "client (it sends SSE-KMS only over TLS); the endpoint is " + config.endpoint());
        }
        this.http = MinioClients.http(config, proxy);
        this.client = MinioClients.build(config, http);
    }

    private String key(String k) {
        return config.prefix() + Keys.validate(k);
    }

    @Override
    public StoredObject get(String k) {
        return requests.call(k, "read", () -> {
            try (GetObjectResponse r = getObject(k)) {
                byte[] data = r.readAllBytes();
                return new StoredObject(k, data, S3Errors.readEtag(r.headers().get("ETag"), requests.url(k)));
            }
        });
    }

    /**
     * Into {@code buffer} when the announced length fits (see {@link ObjectStore#getInto}); no
     * ETag is read. A body that ends short is an I/O error, which {@link #retrying} sends again
     * (into the same buffer, from its start).
     */
    @Override
    public Optional<StoredBytes> getInto(String k, byte[] buffer) {
        return requests.call(k, "read", () -> {
            try (GetObjectResponse r = getObject(k)) {
                long n = contentLength(r.headers().get("Content-Length"));
                if (n > buffer.length) {
                    return Optional.<StoredBytes>empty(); // closed unread
                }
                if (n < 0) {
                    byte[] data = r.readNBytes(buffer.length + 1);
                    return data.length > buffer.length ? Optional.<StoredBytes>empty()
                            : Optional.of(new StoredBytes(data, data.length));
                }
                int got = r.readNBytes(buffer, 0, (int) n);
                if (got < n) {
                    throw new java.io.EOFException("the body of " + requests.url(k) + " ended after " + got + " of " + n + " bytes");
                }
                return Optional.of(new StoredBytes(buffer, (int) n));
            }
        });
    }

    private GetObjectResponse getObject(String k) throws Exception {
        return client.getObject(GetObjectArgs.builder().bucket(config.bucket()).object(key(k)).build());
    }

    /** The announced length, or -1 when there is none that reads as one (then the body is read whole). */
    private static long contentLength(String header) {
        try {
            return header == null ? -1 : Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public Optional<ObjectInfo> head(String k) {
        try {
            StatObjectResponse r = requests.call(k, "stat", () -> client.statObject(
                    StatObjectArgs.builder().bucket(config.bucket()).object(key(k)).build()));
            return Optional.of(new ObjectInfo(k, r.size(), r.lastModified().toInstant(), S3Errors.etag(r.etag())));
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    private PutObjectArgs args(String k, byte[] data, Map<String, String> headers) throws IOException {
        return args(k, data, 0, data.length, headers);
    }

    private PutObjectArgs args(String k, byte[] data, int offset, int length, Map<String, String> headers) throws IOException {
        PutObjectArgs.Builder b = PutObjectArgs.builder().bucket(config.bucket()).object(key(k))
                // one part whatever the size: conditions travel only with a single-part upload
                .stream(new ByteArrayInputStream(data, offset, length), length, Math.max(MIN_PART, length))
                .headers(headers);
        ServerSideEncryption sse = switch (config.sse()) {
            case NONE -> null;
            case S3 -> new ServerSideEncryptionS3();
            case KMS -> new ServerSideEncryptionKms(config.kmsKeyId() == null ? "" : config.kmsKeyId(), null);
        };
        if (sse != null) {
            b.sse(sse);
        }
        return b.build();
    }

    @Override
    public String put(String k, byte[] data) {
        return requests.call(k, "write", () -> S3Errors.etag(client.putObject(args(k, data, Map.of())).etag()));
    }

    @Override
    public PutResult putIfAbsent(String k, byte[] data, int offset, int length) {
        Keys.validate(k);
        return Conditional.putIfAbsent(this, k, data, offset, length, config.etagIsMd5(), () -> {
            try {
                requests.retrying(() -> client.putObject(args(k, data, offset, length, Map.of("If-None-Match", "*"))));
                return true;
            } catch (ErrorResponseException e) {
                String code = e.errorResponse() == null ? null : e.errorResponse().code();
                if (MinioRequests.status(e) == 412 || "PreconditionFailed".equals(code)) {
                    return false;
                }
                if (MinioRequests.status(e) == 409) {
                    throw new Conditional.Conflict(requests.map(k, "create", e));
                }
                throw requests.map(k, "create", e);
            } catch (Exception e) {
                throw requests.failure(k, "create", e);
            }
        });
    }

    @Override
    public Optional<IfMatchForm> ifMatchForm() {
        return ifMatchForms.known();
    }

    /** Sends {@code form} first on the first conditional replace (a cached probe verdict's form); see {@link Conditional.Forms}. */
    void hintIfMatchForm(IfMatchForm form) {
        ifMatchForms.hint(form);
    }

    @Override
    public String putIfMatch(String k, byte[] data, String expectedEtag) {
        Keys.validate(k);
        return Conditional.putIfMatch(this, k, data, expectedEtag, config.etagIsMd5(), ifMatchForms, ifMatch -> {
            try {
                return S3Errors.etag(requests.retrying(() -> client.putObject(args(k, data, Map.of("If-Match", ifMatch)))).etag());
            } catch (ErrorResponseException e) {
                String code = e.errorResponse() == null ? null : e.errorResponse().code();
                if ((MinioRequests.status(e) == 412 || MinioRequests.status(e) == 404 || "PreconditionFailed".equals(code) || "NoSuchKey".equals(code))
                        && !"NoSuchBucket".equals(code)) {
                    throw new PreconditionFailedException(requests.url(k), expectedEtag, MinioRequests.status(e) == 404 ? null : "(another)");
                }
                if (MinioRequests.status(e) == 409) {
                    throw new Conditional.Conflict(requests.map(k, "conditionally replace", e));
                }
                throw requests.map(k, "conditionally replace", e);
            } catch (Exception e) {
                throw requests.failure(k, "conditionally replace", e);
            }
        });
    }

    @Override
    public void delete(String k) {
        requests.call(k, "delete", () -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(config.bucket()).object(key(k)).build());
            return null;
        });
    }

    /**
     * Pages of up to 1000 keys, each one ListObjectsV2 request (retried as a whole) that starts
     * after the last key of the page before, requested when the previous page is used up.
     */
    @Override
    public ObjectListing list(String prefix) {
        return () -> new Pages(startAfter -> requests.call(prefix, "list", () -> {
            ListObjectsArgs.Builder args = ListObjectsArgs.builder().bucket(config.bucket())
                    .prefix(config.prefix() + prefix).recursive(true).maxKeys(Pages.PAGE_SIZE);
            if (startAfter != null) {
                args.startAfter(startAfter);
            }
            Iterator<Result<Item>> it = client.listObjects(args.build()).iterator();
            List<ObjectInfo> objects = new ArrayList<>();
            int listed = 0;
            String last = null;
            while (listed < Pages.PAGE_SIZE && it.hasNext()) { // no hasNext() after a full page: it would fetch the next
                Item item = it.next().get();
                listed++;
                last = item.objectName();
                String k = last.substring(config.prefix().length());
                if (!item.isDir() && Keys.isValid(k)) {
                    objects.add(new ObjectInfo(k, item.size(), item.lastModified().toInstant(), S3Errors.etag(item.etag())));
                }
            }
            return new Pages.Page(objects, listed == Pages.PAGE_SIZE ? last : null);
        }));
    }

    /** Nothing: a PUT that did not complete stores nothing, and no multipart upload is ever started. */
    @Override
    public Leftovers removeLeftovers(java.time.Instant writtenBefore, boolean dryRun) {
        return Leftovers.NONE;
    }

    @Override
    public String describe() {
        return config.url();
    }

    @Override
    public java.util.Optional<String> server() {
        return java.util.Optional.of(config.server() + HttpProxy.describe(proxy, config.endpoint()));
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }
}

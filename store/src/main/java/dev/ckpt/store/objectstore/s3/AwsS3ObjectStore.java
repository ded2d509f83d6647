package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.objectstore.s3.AwsBodies.Body;
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
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * An S3 bucket (AWS S3, MinIO, Ceph RGW, ...) through the AWS SDK for Java v2, with a
 * synchronous client and an explicitly chosen HTTP client. Conditional writes map to
 * {@code If-None-Match: *} and {@code If-Match}, each sent once and settled by
 * {@link Conditional} (a 409 ConditionalRequestConflict is not retried here); ETags are
 * compared without quotes. No Content-MD5: over HTTP the SigV4 payload
 * hash already lets the server refuse a damaged body, over HTTPS TLS does, and every read
 * is checked against the chunk's SHA-256 end to end; the MD5 cost 1.7 s of CPU per GiB
 * (measured, docs/benchmarks.md). The SDK's own retries (standard strategy,
 * backoff with jitter, throttling aware) stay on; its newer default request checksums and
 * its aws-chunked body signing are off for custom endpoints, which older S3-compatible
 * servers reject (Ceph RGW 16.2 refuses an empty aws-chunked body and CRC32 trailers).
 */
final class AwsS3ObjectStore implements ObjectStore {
    private final S3Config config;
    private final Conditional.Forms ifMatchForms = new Conditional.Forms();
    private final S3Client s3;
    /** The HTTP proxy settings the SDK's client reads from the environment, read once for messages. */
    private final software.amazon.awssdk.http.apache.ProxyConfiguration proxy;

    AwsS3ObjectStore(S3Config config) {
        this.config = config;
        this.proxy = software.amazon.awssdk.http.apache.ProxyConfiguration.builder().build();
        this.s3 = AwsS3Clients.build(config);
    }

    private String key(String k) {
        return config.prefix() + Keys.validate(k);
    }

    private String url(String k) {
        return config.url() + k;
    }

    private <T> T call(String k, String action, Supplier<T> op) {
        try {
            return op.get();
        } catch (S3Exception e) {
            throw map(k, action, e);
        } catch (SdkClientException | ChainCredentials.CredentialsTimeout e) {
            throw S3Errors.io(url(k), action, e, HttpProxy.route(proxy, config.endpoint()));
        }
    }

    private dev.ckpt.store.error.CkptException map(String k, String action, S3Exception e) {
        String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
        String msg = e.awsErrorDetails() == null ? e.getMessage() : e.awsErrorDetails().errorMessage();
        software.amazon.awssdk.http.SdkHttpResponse r = e.awsErrorDetails() == null ? null
                : e.awsErrorDetails().sdkHttpResponse();
        dev.ckpt.store.error.CkptException x = S3Errors.map(url(k), action, e.statusCode(), code, msg,
                r == null ? null : r.firstMatchingHeader("Location").orElse(null),
                r == null ? null : r.firstMatchingHeader("x-amz-bucket-region").map(String::trim)
                        .filter(region -> !region.equals(config.region())).orElse(null), e);
        String path = config.endpoint() == null ? null : config.endpoint().getRawPath();
        if (S3Errors.noSuchBucket(e.statusCode(), code) && path != null && !path.isEmpty() && !path.equals("/")) {
            // the server read the path as the bucket (helper-102: S3Proxy said the store's bucket did not exist)
            x.addNote("; the endpoint " + Endpoint.shown(config.endpoint().toString()) + " has a path (" + path + "), which this"
                    + " client puts before the bucket in every request: unless a reverse proxy serves S3 at that path,"
                    + " drop it from the endpoint (AWS_ENDPOINT_URL or --endpoint)");
        }
        return x;
    }

    /** Reads the body into one array of its announced length (see {@link AwsBodies#reader}). */
    @Override
    public StoredObject get(String k) {
        Body b = read(k, null);
        return new StoredObject(k, b.array(), S3Errors.readEtag(b.etag(), url(k)));
    }

    @Override
    public Optional<StoredBytes> getInto(String k, byte[] buffer) {
        Body b = read(k, buffer);
        return b == AwsBodies.LONGER ? Optional.empty() : Optional.of(new StoredBytes(b.array(), b.length()));
    }

    /** A GET of {@code k}'s body (see {@link AwsBodies#reader}). */
    private Body read(String k, byte[] buffer) {
        return call(k, "read", () -> s3.getObject(GetObjectRequest.builder().bucket(config.bucket()).key(key(k)).build(),
                AwsBodies.reader(url(k), buffer)));
    }

    @Override
    public Optional<ObjectInfo> head(String k) {
        try {
            HeadObjectResponse r = call(k, "stat", () -> s3.headObject(b -> b.bucket(config.bucket()).key(key(k))));
            return Optional.of(new ObjectInfo(k, r.contentLength(), r.lastModified(), S3Errors.etag(r.eTag())));
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    private PutObjectRequest.Builder putRequest(String k, int length) {
        PutObjectRequest.Builder b = PutObjectRequest.builder().bucket(config.bucket()).key(key(k))
                .contentLength((long) length);
        if (config.sse() == S3Config.Sse.S3) {
            b.serverSideEncryption(ServerSideEncryption.AES256);
        } else if (config.sse() == S3Config.Sse.KMS) {
            b.serverSideEncryption(ServerSideEncryption.AWS_KMS);
            if (config.kmsKeyId() != null) {
                b.ssekmsKeyId(config.kmsKeyId());
            }
        }
        return b;
    }

    /**
     * The request body over the {@code length} bytes of {@code data} from {@code offset} without
     * the copy {@link RequestBody#fromBytes} makes (the SDK opens a new stream per try): callers
     * do not change an array until the write returns.
     */
    private static RequestBody body(byte[] data, int offset, int length) {
        ContentStreamProvider bytes = () -> new java.io.ByteArrayInputStream(data, offset, length);
        return RequestBody.fromContentProvider(bytes, length, "application/octet-stream");
    }

    @Override
    public String put(String k, byte[] data) {
        return S3Errors.etag(call(k, "write", () -> s3.putObject(putRequest(k, data.length).build(), body(data, 0, data.length))).eTag());
    }

    @Override
    public PutResult putIfAbsent(String k, byte[] data, int offset, int length) {
        key(k);
        return Conditional.putIfAbsent(this, k, data, offset, length, config.etagIsMd5(), () -> {
            try {
                s3.putObject(putRequest(k, length).ifNoneMatch("*").build(), body(data, offset, length));
                return true;
            } catch (S3Exception e) {
                if (e.statusCode() == 412) {
                    return false;
                }
                if (e.statusCode() == 409) {
                    throw new Conditional.Conflict(map(k, "create", e));
                }
                throw map(k, "create", e);
            } catch (SdkClientException | ChainCredentials.CredentialsTimeout e) {
                throw S3Errors.io(url(k), "create", e, HttpProxy.route(proxy, config.endpoint()));
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
        return Conditional.putIfMatch(this, k, data, expectedEtag, config.etagIsMd5(), ifMatchForms, ifMatch -> {
            try {
                return S3Errors.etag(s3.putObject(putRequest(k, data.length).ifMatch(ifMatch).build(),
                        body(data, 0, data.length)).eTag());
            } catch (S3Exception e) {
                if (e.statusCode() == 412 || e.statusCode() == 404 && !S3Errors.noSuchBucket(404,
                        e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode())) {
                    throw new PreconditionFailedException(url(k), expectedEtag, e.statusCode() == 404 ? null : "(another)");
                }
                if (e.statusCode() == 409) {
                    throw new Conditional.Conflict(map(k, "conditionally replace", e));
                }
                throw map(k, "conditionally replace", e);
            } catch (SdkClientException | ChainCredentials.CredentialsTimeout e) {
                throw S3Errors.io(url(k), "conditionally replace", e, HttpProxy.route(proxy, config.endpoint()));
            }
        });
    }


    @Override
    public void delete(String k) {
        call(k, "delete", () -> s3.deleteObject(b -> b.bucket(config.bucket()).key(key(k))));
    }

    /** ListObjectsV2 pages of up to 1000 keys, each requested when the previous one is used up. */
    @Override
    public ObjectListing list(String prefix) {
        return () -> new Pages(token -> call(prefix, "list", () -> {
            ListObjectsV2Response r = s3.listObjectsV2(ListObjectsV2Request.builder().bucket(config.bucket())
                    .prefix(config.prefix() + prefix).maxKeys(Pages.PAGE_SIZE).continuationToken(token).build());
            List<ObjectInfo> objects = new ArrayList<>(r.contents().size());
            for (S3Object o : r.contents()) {
                String k = o.key().substring(config.prefix().length());
                if (Keys.isValid(k)) {
                    objects.add(new ObjectInfo(k, o.size(), o.lastModified(), S3Errors.etag(o.eTag())));
                }
            }
            return new Pages.Page(objects, Boolean.TRUE.equals(r.isTruncated()) ? r.nextContinuationToken() : null);
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
        // the SDK's HTTP clients take the proxy from the environment themselves: the same reading, for the line
        return java.util.Optional.of(config.server() + HttpProxy.describe(proxy, config.endpoint()));
    }

    @Override
    public void close() {
        s3.close();
    }

}

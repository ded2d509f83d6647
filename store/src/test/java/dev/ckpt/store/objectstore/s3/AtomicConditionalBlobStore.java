package dev.ckpt.store.objectstore.s3;

import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.blobstore.ForwardingBlobStore;
import org.gaul.s3proxy.blobstore.S3Exceptions;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.InputStream;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Makes S3Proxy's conditional PUTs atomic, as real S3 and MinIO are.
 *
 * <p>S3Proxy evaluates {@code If-None-Match} and {@code If-Match} by reading the current
 * object and then writing, without holding anything in between: two concurrent
 * conditional writes of one key can both pass the check, and one silently replaces the
 * other. That would make the race tests of the contract fail for the test server's sake,
 * not ours. This wrapper serialises PUTs per key and re-checks the condition against the
 * current ETag while holding the key's lock. It is test harness only: the store never
 * relies on it, and the probe refuses servers that ignore conditions.
 *
 * <p>It also reads the request body before answering 412. S3Proxy otherwise answers
 * before reading it and Jetty then drops the connection, so the client fails writing
 * the body ("broken pipe") and never sees the 412, on every retry.
 */
final class AtomicConditionalBlobStore extends ForwardingBlobStore {
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final S3ProxyServer.FaultHook faults;

    AtomicConditionalBlobStore(BlobStore delegate, S3ProxyServer.FaultHook faults) {
        super(delegate);
        this.faults = faults;
    }

    @Override
    public software.amazon.awssdk.core.ResponseInputStream<software.amazon.awssdk.services.s3.model.GetObjectResponse> getBlob(
            software.amazon.awssdk.services.s3.model.GetObjectRequest request) {
        faults.before("GET", request.key());
        return super.getBlob(request);
    }

    @Override
    public software.amazon.awssdk.services.s3.model.ListObjectsV2Response list(
            software.amazon.awssdk.services.s3.model.ListObjectsV2Request request) {
        faults.before("LIST", request.prefix());
        return super.list(request);
    }

    @Override
    public HeadObjectResponse blobMetadata(HeadObjectRequest request) {
        faults.before("HEAD", request.key());
        return super.blobMetadata(request);
    }

    @Override
    public software.amazon.awssdk.services.s3.model.DeleteObjectResponse removeBlob(
            software.amazon.awssdk.services.s3.model.DeleteObjectRequest request) {
        faults.before("DELETE", request.key());
        return super.removeBlob(request);
    }

    @Override
    public PutObjectResponse putBlob(PutObjectRequest request, InputStream content) {
        try {
            faults.before("PUT", request.key());
        } catch (S3Exception e) {
            drain(content);
            throw e;
        }
        ReentrantLock lock = locks.computeIfAbsent(request.bucket() + "/" + request.key(), k -> new ReentrantLock());
        lock.lock();
        try {
            if ("*".equals(request.ifNoneMatch()) && delegate().blobExists(request.bucket(), request.key())) {
                throw preconditionFailed(content);
            }
            if (request.ifMatch() != null) {
                HeadObjectResponse current = currentMetadata(request);
                if (current == null || !S3Errors.etag(current.eTag()).equals(S3Errors.etag(request.ifMatch()))) {
                    throw preconditionFailed(content);
                }
            }
            PutObjectResponse stored = delegate().putBlob(request, content);
            faults.afterPut(request.key());
            return stored;
        } finally {
            lock.unlock();
        }
    }

    private static S3Exception preconditionFailed(InputStream content) {
        drain(content);
        return S3Exceptions.preconditionFailed(null);
    }

    private static void drain(InputStream content) {
        try {
            content.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (java.io.IOException ignored) {
            // the client went away: nothing to answer
        }
    }

    private HeadObjectResponse currentMetadata(PutObjectRequest request) {
        try {
            return super.blobMetadata(HeadObjectRequest.builder().bucket(request.bucket()).key(request.key()).build());
        } catch (NoSuchKeyException e) {
            return null;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return null;
            }
            throw e;
        }
    }
}

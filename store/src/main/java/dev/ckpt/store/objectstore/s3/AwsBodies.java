package dev.ckpt.store.objectstore.s3;

import software.amazon.awssdk.core.exception.RetryableException;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import java.io.EOFException;
import java.io.IOException;

/**
 * How {@link AwsS3ObjectStore}'s GETs read an object's body: into the caller's buffer when it
 * is given and the body fits, not at all when it is given and the body is longer, and into a
 * new array of the body's length when none is given.
 */
final class AwsBodies {
    private AwsBodies() {
    }

    /** A body: the first {@code length} bytes of {@code array}, and its ETag. */
    record Body(byte[] array, int length, String etag) {
    }

    /** What a read answers for a body longer than its bound, which it did not read. */
    static final Body LONGER = new Body(new byte[0], 0, null);

    /**
     * The transformer of a GET of {@code url}. A body that ends short (a server or link that
     * closed the connection mid-body) is retried by the SDK: the URL-connection client hands
     * such a body over as if it were whole, and it would otherwise be taken for a corrupt chunk
     * (found with {@code StallingLink#cut}). A retry reads into the same buffer from its start.
     * A body longer than {@code buffer} is not read: {@link #LONGER}, and the connection is
     * aborted rather than drained.
     *
     * @param buffer where to read the body, or null for a new array of its length (any length)
     */
    static ResponseTransformer<GetObjectResponse, Body> reader(String url, byte[] buffer) {
        long maxLength = buffer == null ? Long.MAX_VALUE : buffer.length;
        return (GetObjectResponse r, AbortableInputStream in) -> {
            Long length = r.contentLength();
            try {
                if (length != null && length > maxLength) {
                    in.abort();
                    return LONGER;
                }
                if (length == null) {
                    byte[] data = buffer == null ? in.readAllBytes() : in.readNBytes(buffer.length + 1);
                    if (data.length > maxLength) {
                        in.abort();
                        return LONGER;
                    }
                    return new Body(data, data.length, S3Errors.etag(r.eTag()));
                }
                int n = Math.toIntExact(length);
                byte[] data = buffer != null ? buffer : new byte[n];
                int got = in.readNBytes(data, 0, n);
                if (got < n) {
                    throw new EOFException("the body of " + url + " ended after " + got + " of " + length + " bytes");
                }
                return new Body(data, n, S3Errors.etag(r.eTag()));
            } catch (IOException e) {
                // a stalled read (the stall timeout) or a cut connection: the SDK retries only this type from a
                // transformer of ours, as it does for its own
                throw RetryableException.builder().message(e.getMessage()).cause(e).build();
            }
        };
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.Keys;
import io.minio.errors.ErrorResponseException;

import java.io.IOException;

/**
 * The requests of {@link MinioObjectStore}: each sent through this backend's retries, and a
 * failure mapped to the store's errors as the AWS client's are ({@link S3Errors}).
 */
final class MinioRequests {
    private final S3Config config;
    private final software.amazon.awssdk.http.apache.ProxyConfiguration proxy;

    MinioRequests(S3Config config, software.amazon.awssdk.http.apache.ProxyConfiguration proxy) {
        this.config = config;
        this.proxy = proxy;
    }

    interface Call<T> {
        T run() throws Exception;
    }

    String url(String k) {
        return config.url() + k;
    }

    <T> T call(String k, String action, Call<T> op) {
        if (!action.equals("list")) {
            Keys.validate(k);
        }
        OkHttpThreads.startWatchdog();
        try {
            return retrying(op);
        } catch (ErrorResponseException e) {
            throw map(k, action, e);
        } catch (CkptException e) {
            throw e;
        } catch (Exception e) {
            Error inside = OkHttpThreads.errorIn(e);
            if (inside != null) {
                throw inside; // the client's own thread ran out (no thread could start): not the network's fault
            }
            throw failure(k, action, e);
        }
    }

    /**
     * This backend's transport retries, the equivalent of the AWS SDK's standard strategy (the
     * MinIO client itself repeats only a failed connection): a request answered with a 5xx,
     * throttling (503 SlowDown) or an I/O error is sent again, up to {@link S3Config#maxAttempts()}
     * tries in all (5 by default, as for the AWS client), with exponential backoff and jitter.
     * As with the AWS SDK this includes a conditional write's request (a repeat that meets the
     * first try's write gets 412, which {@link Conditional} settles); a 412 or a 409 conflict is
     * never repeated here: only RootStore retries a conflict.
     */
    <T> T retrying(Call<T> op) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return op.run();
            } catch (Exception e) {
                if (attempt >= config.maxAttempts() || !transient_(e) || OkHttpThreads.errorIn(e) != null) {
                    throw e;
                }
                pause(attempt);
            }
        }
    }

    private static void pause(int attempt) {
        try {
            Thread.sleep(Math.min(2000, 50L << attempt) + java.util.concurrent.ThreadLocalRandom.current().nextLong(50));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.ckpt.store.error.StoreUnavailableException("interrupted", e);
        }
    }

    /**
     * A failure without an S3 error answer: a redirect (which the MinIO client reports as a
     * "Non-XML response" naming its code) is the server's answer, mapped as the AWS client's is;
     * anything else is the network's.
     */
    CkptException failure(String k, String action, Exception e) {
        if (e instanceof io.minio.errors.InvalidResponseException) {
            java.util.regex.Matcher m = REDIRECT.matcher(String.valueOf(e.getMessage()));
            if (m.find()) {
                String trace = ((io.minio.errors.MinioException) e).httpTrace();
                return S3Errors.map(url(k), action, Integer.parseInt(m.group(1)), null, null,
                        MinioTrace.header(trace, "Location"), otherRegion(MinioTrace.header(trace, "x-amz-bucket-region")), e);
            }
        }
        return S3Errors.io(url(k), action, e, HttpProxy.route(proxy, config.endpoint()));
    }

    private static final java.util.regex.Pattern REDIRECT = java.util.regex.Pattern.compile("Response code: (3\\d\\d)\\b");

    /** The first value of a header of {@code r} (as the AWS client reads it), or null. */
    private static String first(okhttp3.Response r, String name) {
        java.util.List<String> values = r == null ? java.util.List.of() : r.headers().values(name);
        return values.isEmpty() ? null : values.get(0);
    }

    /** {@code region}, unless it is the region already set (then the endpoint is what to change) or null. */
    private String otherRegion(String region) {
        return region == null || region.trim().equals(config.region()) ? null : region.trim();
    }

    private static boolean transient_(Exception e) {
        if (e instanceof ErrorResponseException er) {
            int st = status(er);
            String code = er.errorResponse() == null ? "" : er.errorResponse().code();
            return st >= 500 || "SlowDown".equals(code) || "InternalError".equals(code) || "RequestTimeout".equals(code);
        }
        if (e instanceof io.minio.errors.InvalidResponseException || e instanceof io.minio.errors.ServerException) {
            return String.valueOf(e.getMessage()).matches("(?s).*(Response code: 5|code: 5|status code 5).*");
        }
        if (e instanceof io.minio.errors.XmlParserException) {
            // an answer that broke off mid-body (a reset): the MinIO client keeps only the I/O error's text, so any
            // answer that does not parse is repeated (found by the S3 fault run, docs/reliability.md); a server that
            // always garbles costs maxAttempts requests, then fails as before
            return true;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    CkptException map(String k, String action, ErrorResponseException e) {
        int status = e.response() == null ? 0 : e.response().code();
        String code = e.errorResponse() == null ? null : e.errorResponse().code();
        if ("NoSuchKey".equals(code)) {
            status = 404;
        }
        okhttp3.Response r = e.response();
        return S3Errors.map(url(k), action, status, code, e.errorResponse() == null ? null : e.errorResponse().message(),
                first(r, "Location"), otherRegion(first(r, "x-amz-bucket-region")), e);
    }

    static int status(ErrorResponseException e) {
        return e.response() == null ? 0 : e.response().code();
    }
}

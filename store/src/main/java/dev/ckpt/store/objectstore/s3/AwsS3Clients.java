package dev.ckpt.store.objectstore.s3;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;

/**
 * The AWS SDK's S3 client as {@link AwsS3ObjectStore} uses it: the chosen HTTP client with
 * the stall timeout as its socket timeout, the SDK's standard retries (any I/O error in the
 * chain transient), no {@code Expect: 100-continue}, and for custom endpoints no aws-chunked
 * signing and request checksums only where required.
 */
final class AwsS3Clients {
    private AwsS3Clients() {
    }

    static S3Client build(S3Config config) {
        S3ClientBuilder b = S3Client.builder()
                .region(Region.of(config.region()))
                .credentialsProvider(credentials(config))
                .httpClient(httpClient(config))
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(config.usePathStyle())
                        // over plain HTTP the SDK signs bodies as aws-chunked streams; Ceph RGW 16.2 refuses
                        // an empty one (400 XAmzContentSHA256Mismatch). One payload hash per request instead:
                        // measured within the noise of a save (docs/benchmarks.md, runs 6-7)
                        .chunkedEncodingEnabled(config.endpoint() == null).build())
                .overrideConfiguration(o -> o
                        .addExecutionInterceptor(new NoExpectContinue())
                        .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                                .maxAttempts(config.maxAttempts())
                                // an answer whose body breaks off (a reset mid-body) fails while the SDK parses it, and
                                // reaches the strategy as a parse error around the I/O error, which it does not retry
                                // (found by the S3 fault run, docs/reliability.md): any I/O error in the chain is transient
                                .retryOnException(AwsS3Clients::causedByIo).build())
                        .apiCallAttemptTimeout(config.requestTimeout()));
        if (config.endpoint() != null) {
            b.endpointOverride(config.endpoint())
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        }
        return b.build();
    }

    /**
     * Sends request bodies right away instead of waiting for "100 Continue". Servers that
     * answer a failed condition before reading the body and then close the connection (S3Proxy
     * does, some S3-compatible servers do) otherwise leave a half-closed connection in the
     * pool, and the next request on it fails. Without the handshake, a small body (ROOT, a
     * manifest) has arrived with the headers and the server can keep the connection.
     */
    private static final class NoExpectContinue implements software.amazon.awssdk.core.interceptor.ExecutionInterceptor {
        @Override
        public software.amazon.awssdk.http.SdkHttpRequest modifyHttpRequest(
                software.amazon.awssdk.core.interceptor.Context.ModifyHttpRequest context,
                software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
            return context.httpRequest().toBuilder().removeHeader("Expect").build();
        }
    }

    private static boolean causedByIo(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException) {
                return true;
            }
        }
        return false;
    }

    /** The configured keys or the default chain, bounded in time; whatever it resolves is registered for redaction. */
    private static AwsCredentialsProvider credentials(S3Config c) {
        if (c.accessKey() != null) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKey(), c.secretKey()));
        }
        ChainCredentials chain = new ChainCredentials(c.credentialsTimeout());
        return chain::resolve;
    }

    private static SdkHttpClient httpClient(S3Config c) {
        software.amazon.awssdk.http.TlsTrustManagersProvider trust = null;
        if (c.tlsCaBundle() != null) {
            javax.net.ssl.TrustManager[] tms = {Tls.trustManager(c.tlsCaBundle())};
            trust = () -> tms;
        }
        if (c.http() == S3Config.Http.URL_CONNECTION) {
            return UrlConnectionHttpClient.builder()
                    .connectionTimeout(c.connectTimeout())
                    .socketTimeout(c.stallTimeout()) // a read that gets no byte for this long: a stall
                    .tlsTrustManagersProvider(trust)
                    .build();
        }
        ApacheHttpClient.Builder b = ApacheHttpClient.builder()
                .expectContinueEnabled(false)
                .maxConnections(c.maxConnections())
                .connectionTimeout(c.connectTimeout())
                .socketTimeout(c.stallTimeout()) // a read that gets no byte for this long: a stall
                .tlsTrustManagersProvider(trust);
        if (c.plainHttp()) {
            b.socketFactory(new Tls.LazyApacheTls());
        }
        return b.build();
    }
}

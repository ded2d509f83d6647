package dev.ckpt.store.objectstore.s3;

import io.minio.MinioClient;
import io.minio.credentials.Credentials;
import io.minio.credentials.Provider;
import okhttp3.OkHttpClient;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.http.apache.ProxyConfiguration;

import java.util.concurrent.TimeUnit;

/**
 * The MinIO client as {@link MinioObjectStore} uses it: OkHttp with the stall timeout per read
 * and per write, the request timeout per call, no TLS set-up over plain HTTP, no redirects
 * followed, the HTTP proxy; credentials given, or the AWS default chain bounded in time.
 */
final class MinioClients {
    private MinioClients() {
    }

    /** The HTTP client, through the proxy {@code proxy} describes ({@link HttpProxy}). */
    static OkHttpClient http(S3Config config, ProxyConfiguration proxy) {
        OkHttpClient.Builder hb = new OkHttpClient.Builder()
                .connectTimeout(okHttpMillis(config.connectTimeout()), TimeUnit.MILLISECONDS)
                // per read and per write: a transfer that moves no byte for this long is a stall
                .readTimeout(okHttpMillis(config.stallTimeout()), TimeUnit.MILLISECONDS)
                .writeTimeout(okHttpMillis(config.stallTimeout()), TimeUnit.MILLISECONDS)
                .callTimeout(okHttpMillis(config.requestTimeout()), TimeUnit.MILLISECONDS)
                .retryOnConnectionFailure(true);
        if (config.plainHttp()) {
            // no TLS set-up (OkHttp loads the JDK's trust store when the client is built, whether or not
            // a connection uses it: 60-100 ms of every CLI run)
            hb.connectionSpecs(java.util.List.of(okhttp3.ConnectionSpec.CLEARTEXT));
        } else if (config.tlsCaBundle() != null) {
            javax.net.ssl.X509TrustManager tm = Tls.trustManager(config.tlsCaBundle());
            hb.sslSocketFactory(Tls.context(tm).getSocketFactory(), tm);
        }
        // no redirect is followed, as by the AWS client: it is reported as the server's answer (S3Errors). Followed,
        // one to https:// failed inside OkHttp's threads on a cleartext client, one to another host lost the
        // signature (403), and a PUT answered 301-303 was sent again as a GET without its body
        hb.followRedirects(false).followSslRedirects(false);
        HttpProxy.apply(hb, proxy);
        hb.dispatcher(new okhttp3.Dispatcher(OkHttpThreads.dispatcherThreads()));
        OkHttpClient http = hb.build();
        http.dispatcher().setMaxRequestsPerHost(config.maxConnections());
        return http;
    }

    /** The MinIO client over {@code http}. */
    static MinioClient build(S3Config config, OkHttpClient http) {
        MinioClient.Builder b = MinioClient.builder()
                .endpoint(config.endpoint() == null ? "https://s3." + config.region() + ".amazonaws.com" : config.endpoint().toString())
                .region(config.region())
                .httpClient(http);
        if (config.accessKey() != null) {
            b.credentials(config.accessKey(), config.secretKey());
        } else {
            b.credentialsProvider(new AwsChainProvider(new ChainCredentials(config.credentialsTimeout())));
        }
        return b.build();
    }

    /**
     * A timeout as OkHttp takes it: at most {@link Integer#MAX_VALUE} ms (24.8 days), its limit.
     * ckpt takes up to 100 years ({@code --stall-timeout 30d}), which OkHttp refused as "timeout too
     * large" (helper-79); past 24.8 days the two are the same wait in practice.
     */
    static long okHttpMillis(java.time.Duration d) {
        return Math.min(d.toMillis(), Integer.MAX_VALUE);
    }

    /** The AWS default credential chain, bounded in time, as a MinIO credentials provider. */
    private record AwsChainProvider(ChainCredentials chain) implements Provider {
        @Override
        public Credentials fetch() {
            AwsCredentials c = chain.resolve();
            String token = c instanceof AwsSessionCredentials s ? s.sessionToken() : null;
            return new Credentials(c.accessKeyId(), c.secretAccessKey(), token, null);
        }
    }
}

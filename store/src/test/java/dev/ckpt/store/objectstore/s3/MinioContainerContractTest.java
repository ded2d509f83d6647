package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStoreContractTest;
import org.junit.jupiter.api.BeforeAll;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

import java.net.URI;
import java.util.HashMap;
import java.util.Map;

/**
 * The object-store contract against a real MinIO server in a container (both clients).
 * Runs where a Docker engine is present; reported as skipped where it is not.
 */
@Testcontainers(disabledWithoutDocker = true)
class MinioContainerContractTest extends ObjectStoreContractTest {
    @Container
    static final MinIOContainer MINIO = new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z");
    private String prefix;
    private static int n;

    @BeforeAll
    static void bucket() {
        try (S3Client s3 = S3Client.builder().endpointOverride(URI.create(MINIO.getS3URL())).region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(MINIO.getUserName(), MINIO.getPassword())))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
                .build()) {
            s3.createBucket(b -> b.bucket("contract"));
        }
    }

    private S3Config.Client client() {
        return n++ % 2 == 0 ? S3Config.Client.AWS : S3Config.Client.MINIO;
    }

    @Override
    protected boolean readsIntoBuffer() {
        return true;
    }

    @Override
    protected ObjectStore newStore() {
        prefix = "t-" + RandomIds.hex(6);
        S3Config c = S3Config.fromUrl("s3://contract/" + prefix, Map.of("AWS_ENDPOINT_URL", MINIO.getS3URL()))
                .withCredentials(MINIO.getUserName(), MINIO.getPassword()).withClient(client(), S3Config.Http.APACHE);
        return S3ObjectStores.open(c);
    }

    @Override
    protected String urlForOtherProcesses() {
        return "s3://contract/" + prefix;
    }

    @Override
    protected Map<String, String> envForOtherProcesses() {
        Map<String, String> env = new HashMap<>();
        env.put("AWS_ENDPOINT_URL", MINIO.getS3URL());
        env.put("AWS_ACCESS_KEY_ID", MINIO.getUserName());
        env.put("AWS_SECRET_ACCESS_KEY", MINIO.getPassword());
        env.put("AWS_REGION", "us-east-1");
        return env;
    }
}

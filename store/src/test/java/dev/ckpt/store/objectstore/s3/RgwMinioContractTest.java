package dev.ckpt.store.objectstore.s3;

class RgwMinioContractTest extends RgwContractTestBase {
    @Override
    S3Config.Client client() {
        return S3Config.Client.MINIO;
    }

    @Override
    S3Config.Http http() {
        return S3Config.Http.APACHE;
    }
}

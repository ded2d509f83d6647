package dev.ckpt.store.objectstore.s3;

class RgwAwsApacheContractTest extends RgwContractTestBase {
    @Override
    S3Config.Client client() {
        return S3Config.Client.AWS;
    }

    @Override
    S3Config.Http http() {
        return S3Config.Http.APACHE;
    }
}

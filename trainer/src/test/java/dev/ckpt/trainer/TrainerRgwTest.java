package dev.ckpt.trainer;

import dev.ckpt.store.testing.CephRgw;
import dev.ckpt.store.testing.S3TestServer;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link TrainerS3Test} against a real Ceph RGW 16.2 ({@link CephRgw}, started by the test;
 * skipped, saying why, where Debian's Ceph packages are not installed): async saves,
 * a resume that downloads from RGW, the frozen block PUT once, and the end state
 * byte-identical to a local run, through each S3 client.
 */
class TrainerRgwTest extends TrainerS3Test {
    static CephRgw rgw;

    @BeforeAll
    static void startRgw() {
        rgw = CephRgw.shared();
        rgw.createBucket("train");
    }

    @Override
    S3TestServer server() {
        return rgw;
    }
}

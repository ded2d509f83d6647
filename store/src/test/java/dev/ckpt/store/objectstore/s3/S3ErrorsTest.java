package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.StoreUnavailableException;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Messages of unreachable-store errors carry the client's words, not its Java class names (the fault run found one). */
class S3ErrorsTest {
    @Test
    void classNamesInAClientsMessageAreLeftOut() {
        dev.ckpt.store.error.CkptException e = S3Errors.io("s3://b/p", "read chunks/ab/x",
                new IOException("com.ctc.wstx.exc.WstxIOException: Connection reset"), java.util.Optional.empty());
        assertTrue(e.getMessage().startsWith("cannot read chunks/ab/x s3://b/p: Connection reset"), e.getMessage());
        assertFalse(e.getMessage().contains("com.ctc"), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
        assertEquals("Read timed out", S3Errors.withoutClassNames("java.net.SocketTimeoutException: Read timed out"));
        assertEquals("Unable to execute HTTP request: Connection refused",
                S3Errors.withoutClassNames("Unable to execute HTTP request: Connection refused"));
        assertEquals("the connection failed", S3Errors.withoutClassNames("java.io.EOFException"));
    }

    @Test
    void aServersSentenceEndsBeforeOurClause() {
        dev.ckpt.store.error.CkptException slow = S3Errors.map("s3://b/p/chunks/ab/x", "write", 503, "SlowDown",
                "Please reduce your request rate. ", null);
        assertTrue(slow instanceof StoreUnavailableException, slow.toString());
        assertEquals("cannot write s3://b/p/chunks/ab/x — SlowDown (HTTP 503): Please reduce your request rate;"
                + " retrying later is safe", slow.getMessage());
        dev.ckpt.store.error.CkptException denied = S3Errors.map("s3://b/p/ROOT", "read", 403, "AccessDenied",
                "Access Denied.", null);
        assertTrue(denied.getMessage().contains("AccessDenied (HTTP 403): Access Denied; these credentials need"),
                denied.getMessage());
        assertEquals("cut...", S3Errors.sentence("cut..."));
        assertEquals("no period", S3Errors.sentence("no period"));
    }

    @Test
    void aMissingBucketIsAConfigurationErrorNamingItAndAMissingKeyIsNotFound() {
        dev.ckpt.store.error.CkptException bucket = S3Errors.map("s3://nobucket/p/manifests/", "list", 404, "NoSuchBucket",
                "The specified bucket does not exist", null);
        assertTrue(bucket instanceof dev.ckpt.store.error.BadConfigurationException, bucket.toString());
        assertTrue(bucket.getMessage().startsWith("cannot list s3://nobucket/p/manifests/: bucket 'nobucket' does not exist")
                && bucket.getMessage().contains("create the bucket"), bucket.getMessage());
        assertTrue(S3Errors.map("s3://b/p/ROOT", "read", 404, "NoSuchKey", "no", null)
                instanceof dev.ckpt.store.error.NotFoundException);
        assertTrue(S3Errors.map("s3://b/p/ROOT", "read", 404, null, null, null)
                instanceof dev.ckpt.store.error.NotFoundException, "a HEAD's 404 has no code: a missing object");
    }

    @Test
    void aHostNameThatDoesNotResolveIsNamedAsSuch() {
        dev.ckpt.store.error.CkptException e = S3Errors.io("s3://b/p/ROOT", "read", new RuntimeException("Received an"
                + " UnknownHostException when attempting to interact with a service. See cause for the exact endpoint",
                new java.net.UnknownHostException("minio.invalid: Name or service not known")), java.util.Optional.empty());
        assertTrue(e instanceof StoreUnavailableException, e.toString());
        assertEquals("cannot read s3://b/p/ROOT: the endpoint's host name 'minio.invalid' does not resolve; check the"
                + " endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, ckpt-tool's --endpoint, or the AWS profile's endpoint_url)"
                + " and the name server (retrying later is safe)", e.getMessage());
    }

    /**
     * Through an HTTP proxy (HTTP_PROXY), the clients' messages give the proxy's address as if it were
     * the server's: a proxy that does not answer or whose name does not resolve is named as the proxy.
     */
    @Test
    void aProxyThatCannotBeReachedIsNamedAsTheProxy() {
        java.util.Optional<String> proxy = java.util.Optional.of("proxy.invalid:3128");
        dev.ckpt.store.error.CkptException e = S3Errors.io("s3://b/p/ROOT", "read", new RuntimeException("x",
                new java.net.UnknownHostException("proxy.invalid: Name or service not known")), proxy);
        assertEquals("cannot read s3://b/p/ROOT: the HTTP proxy's host name 'proxy.invalid' does not resolve; check"
                + " HTTP_PROXY (or http_proxy, -Dhttp.proxyHost), or name the endpoint's host in NO_PROXY to reach it"
                + " directly (retrying later is safe)", e.getMessage());
        e = S3Errors.io("s3://b/p/ROOT", "read", new RuntimeException("x",
                new java.net.UnknownHostException("minio.invalid: Name or service not known")), proxy);
        assertTrue(e.getMessage().contains("the endpoint's host name 'minio.invalid' does not resolve"), e.getMessage());
        e = S3Errors.io("s3://b/p/ROOT", "read", new IOException("Failed to connect to /127.0.0.1:3999"),
                java.util.Optional.of("127.0.0.1:3999"));
        assertEquals("cannot read s3://b/p/ROOT: Failed to connect to /127.0.0.1:3999 (network, HTTP proxy or server"
                + " unreachable: requests go through the HTTP proxy 127.0.0.1:3999 of HTTP_PROXY, http_proxy or"
                + " -Dhttp.proxyHost, unless NO_PROXY names the endpoint's host; retrying later is safe)", e.getMessage());
    }

    /** AWS answers an expired session token with 400, which read as "it may not support this S3 feature" (helper-72). */
    @Test
    void credentialsRejectedWithAFourHundredAreAConfigurationErrorAboutTheCredentials() {
        dev.ckpt.store.error.CkptException e = S3Errors.map("s3://b/p/ROOT", "read", 400, "ExpiredToken",
                "The provided token has expired.", null);
        assertTrue(e instanceof dev.ckpt.store.error.BadConfigurationException
                && !(e instanceof dev.ckpt.store.error.PermissionDeniedException), e.toString());
        assertTrue(e.getMessage().contains("check the credentials") && !e.getMessage().contains("S3 feature"), e.getMessage());
    }

    @Test
    void bucketNamesThatAreIpAddressesAreRefusedSayingWhatANameIs() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.ckpt.store.error.BadConfigurationException.class,
                () -> S3Config.fromUrl("s3://192.168.1.1/p", java.util.Map.of()));
        assertTrue(e.getMessage().contains("is not an IP address") && e.getMessage().contains("3 to 63"), e.getMessage());
        S3Config.fromUrl("s3://192.168.1.1a/p", java.util.Map.of());
    }
}

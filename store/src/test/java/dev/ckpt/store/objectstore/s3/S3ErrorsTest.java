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
                new IOException("com.ctc.wstx.exc.WstxIOException: Connection reset"));
        assertTrue(e instanceof StoreUnavailableException, e.toString());
        assertTrue(e.getMessage().startsWith("cannot read chunks/ab/x s3://b/p: Connection reset"), e.getMessage());
        assertFalse(e.getMessage().contains("com.ctc"), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
        assertEquals("Read timed out", S3Errors.withoutClassNames("java.net.SocketTimeoutException: Read timed out"));
        assertEquals("Unable to execute HTTP request: Connection refused",
                S3Errors.withoutClassNames("Unable to execute HTTP request: Connection refused"));
        assertEquals("the connection failed", S3Errors.withoutClassNames("java.io.EOFException"));
    }

    /**
     * No credentials anywhere in the AWS chain (both clients use it without static keys): a
     * configuration error that says what to set, not the chain's list of provider classes
     * and not "retrying later is safe" (the fault was found by hand: a first run without keys).
     */
    @Test
    void noCredentialsIsAConfigurationErrorThatSaysWhatToSet() {
        String chain = "Unable to load credentials from any of the providers in the chain AwsCredentialsProviderChain("
                + "credentialsProviders=[SystemPropertyCredentialsProvider(), EnvironmentVariableCredentialsProvider(),"
                + " ProfileCredentialsProvider(profileName=default)]) : [SystemPropertyCredentialsProvider(): Unable to"
                + " load credentials from system settings.]";
        for (Throwable cause : new Throwable[] {
                software.amazon.awssdk.core.exception.SdkClientException.create(chain),
                new IOException("fetch failed", software.amazon.awssdk.core.exception.SdkClientException.create(chain))}) {
            dev.ckpt.store.error.CkptException e = S3Errors.io("s3://b/p/ROOT", "read", cause);
            assertTrue(e instanceof dev.ckpt.store.error.BadConfigurationException, e.toString());
            assertTrue(e.getMessage().startsWith("no S3 credentials to read s3://b/p/ROOT: set AWS_ACCESS_KEY_ID and"
                    + " AWS_SECRET_ACCESS_KEY"), e.getMessage());
            assertFalse(e.getMessage().contains("Provider"), e.getMessage());
            assertFalse(e.getMessage().contains("retrying later is safe"), e.getMessage());
        }
    }
}

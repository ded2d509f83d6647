package dev.ckpt.store.objectstore.s3;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The MinIO client wraps an Error of its own threads (OkHttp: "canceled due to
 * java.lang.OutOfMemoryError", the Error suppressed, inside the future's exception);
 * {@link OkHttpThreads#errorIn} finds it, so the store throws the Error (the thread
 * limit's advice) and does not repeat the request or call it the network's fault.
 */
class MinioWrappedErrorTest {
    private static final OutOfMemoryError NO_THREAD = new OutOfMemoryError("unable to create native thread");

    @Test
    void anErrorAsCauseOrSuppressedAnywhereInTheChainIsFound() {
        IOException canceled = new IOException("canceled due to " + NO_THREAD);
        canceled.addSuppressed(NO_THREAD); // as OkHttp's RealCall.AsyncCall does
        assertSame(NO_THREAD, OkHttpThreads.errorIn(new CompletionException(canceled)));
        assertSame(NO_THREAD, OkHttpThreads.errorIn(new CompletionException(NO_THREAD)));
        assertSame(NO_THREAD, OkHttpThreads.errorIn(new IOException("x", new RuntimeException(NO_THREAD))));
    }

    @Test
    void aNetworkFailureHoldsNoError() {
        assertNull(OkHttpThreads.errorIn(new IOException("Connection reset", new java.net.SocketException("reset"))));
        IOException withSuppressed = new IOException("x");
        withSuppressed.addSuppressed(new IOException("close failed"));
        assertNull(OkHttpThreads.errorIn(withSuppressed));
    }
}

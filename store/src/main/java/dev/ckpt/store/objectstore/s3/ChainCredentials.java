package dev.ckpt.store.objectstore.s3;

import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;

import java.time.Duration;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The AWS default credential chain, each resolution bounded in time. The SDK waits without
 * limit for a profile's {@code credential_process}, which may never end (a command waiting for
 * input it cannot get, or for a network that does not answer): every command hung with it,
 * past {@code --deadline}, and the trainer past SIGTERM (helper-74).
 *
 * <p>A resolution that may run the chain's sources runs on a daemon thread while the caller
 * waits at most {@code patience} ({@link S3Config#credentialsTimeout()}, 60 s by default). Then
 * the caller gets {@link CredentialsTimeout} (mapped to a needs-action error naming the
 * profile's command), and the command's processes are ended with their descendants. Every
 * resolution goes through the hand-off: the SDK does not show when process credentials without
 * a session token expire, so a refresh that hangs could not be told from a cached answer
 * (helper-75).
 */
final class ChainCredentials {
    private static final AtomicInteger THREAD = new AtomicInteger();
    private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "ckpt-credentials-" + THREAD.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    /** Resolutions running on {@link #THREADS}: at the JVM's exit (SIGTERM, say) their credential_process is ended too. */
    private static final AtomicInteger RUNNING = new AtomicInteger();

    static {
        // helper-75: a JVM ended while a credential_process hung left that command running, orphaned
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (RUNNING.get() > 0) {
                endCredentialProcess();
            }
        }, "ckpt-credentials-exit"));
    }

    private final DefaultCredentialsProvider chain = DefaultCredentialsProvider.builder().build();
    private final Duration patience;

    ChainCredentials(Duration patience) {
        this.patience = patience;
    }

    /**
     * What the chain resolves, registered for redaction.
     *
     * @throws CredentialsTimeout when the chain gave nothing within the patience
     * @throws RuntimeException   what the chain threw (its "Unable to load credentials" included)
     */
    AwsCredentials resolve() {
        Future<AwsCredentials> f = THREADS.submit(() -> {
            RUNNING.incrementAndGet();
            try {
                return chain.resolveCredentials();
            } finally {
                RUNNING.decrementAndGet();
            }
        });
        try {
            return S3Errors.registered(f.get(patience.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof software.amazon.awssdk.core.exception.SdkException r) {
                throw r;
            }
            if (e.getCause() instanceof RuntimeException r) {
                // a provider's own failure, e.g. a credential_process refresh's IllegalStateException, which escaped
                // the AWS client's error mapping and was printed raw (helper-75): as the SDK's client-side failure
                throw software.amazon.awssdk.core.exception.SdkClientException.create(r.getMessage(), r);
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            f.cancel(true);
            endCredentialProcess();
            throw new CredentialsTimeout(patience);
        } catch (InterruptedException e) {
            f.cancel(true);
            endCredentialProcess();
            Thread.currentThread().interrupt();
            throw new CredentialsTimeout(null);
        }
    }

    /**
     * Ends the profile's credential_process: this JVM's child processes whose command line holds
     * the command or is held in it (the SDK runs {@code sh -c COMMAND}; a shell may exec a simple
     * command in its place), their descendants first. Other children (a restore's {@code sync},
     * the trainer's preemption hook) are left. Not told apart by start time: Linux gives it to
     * the second of boot time only, so a process started just after the wait began could seem
     * to be older.
     */
    private static void endCredentialProcess() {
        java.util.Map<String, String> env = System.getenv();
        String command = SdkEnvironment.profile(env, SdkEnvironment.profileName(env))
                .flatMap(p -> p.property("credential_process")).map(String::trim).orElse("");
        if (command.isEmpty()) {
            return;
        }
        ProcessHandle.current().children()
                .filter(p -> p.info().commandLine().map(l -> l.contains(command) || command.contains(l.trim()))
                        .orElse(false))
                .forEach(p -> {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                });
    }

    /**
     * The chain gave no credentials within {@code patience} (null: the waiting thread was
     * interrupted); {@link MissingCredentials#timedOut} says what to do.
     */
    static final class CredentialsTimeout extends RuntimeException {
        final transient Duration patience;

        CredentialsTimeout(Duration patience) {
            super("the AWS credential chain gave no credentials" + (patience == null ? " (interrupted)"
                    : " within " + patience.toSeconds() + " s"));
            this.patience = patience;
        }
    }
}

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

    /**
     * The credential_process commands of the resolutions running on {@link #THREADS} (one entry per
     * resolution, "" without a command): at the JVM's exit (SIGTERM, say) they are ended too.
     */
    private static final java.util.Queue<String> RUNNING = new java.util.concurrent.ConcurrentLinkedQueue<>();

    static {
        // helper-75: a JVM ended while a credential_process hung left that command running, orphaned
        Runtime.getRuntime().addShutdownHook(new Thread(() -> new java.util.HashSet<>(RUNNING)
                .forEach(ChainCredentials::endCredentialProcess), "ckpt-credentials-exit"));
    }

    private final DefaultCredentialsProvider chain = DefaultCredentialsProvider.builder().build();
    private final Duration patience;
    /** A resolution of this chain timed out: later ones fail at once. */
    private volatile boolean gaveUp;

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
        if (gaveUp) {
            // the SDK retries a request whose credentials failed: each retry waited the whole patience again, and
            // ran the command again (helper-78: 3 × CKPT_S3_CREDENTIALS_TIMEOUT); one wait per run
            throw new CredentialsTimeout(patience);
        }
        // the command as it is now: the profile may be edited while it runs, and the one to end is the one started
        // (helper-78: re-read at the end, an edited line matched nothing and the command was left running)
        String command = profileCommand();
        Future<AwsCredentials> f = THREADS.submit(() -> {
            RUNNING.add(command);
            try {
                return chain.resolveCredentials();
            } finally {
                RUNNING.remove(command);
            }
        });
        try {
            return S3Errors.registered(f.get(patience.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof software.amazon.awssdk.core.exception.SdkException r) {
                throw r;
            }
            if (e.getCause() instanceof RuntimeException r) {
                if (fromProcessProvider(r)) {
                    // a credential_process refresh's IllegalStateException escaped the AWS client's error mapping
                    // and was printed raw (helper-75): as the SDK's client-side failure, which S3Errors describes
                    throw software.amazon.awssdk.core.exception.SdkClientException.create(r.getMessage(), r);
                }
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            f.cancel(true);
            endCredentialProcess(command);
            gaveUp = true;
            throw new CredentialsTimeout(patience);
        } catch (InterruptedException e) {
            f.cancel(true);
            endCredentialProcess(command);
            Thread.currentThread().interrupt();
            throw new CredentialsTimeout(null);
        }
    }

    /** Whether {@code t} (or a cause) came from the SDK's ProcessCredentialsProvider. */
    private static boolean fromProcessProvider(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            for (StackTraceElement e : c.getStackTrace()) {
                if (e.getClassName().endsWith(".ProcessCredentialsProvider")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The files' stamps (path, size, modification time) {@link #command} was read at, and that command. */
    private static volatile String[] commandRead = {null, ""};

    /**
     * The profile's credential_process command as the SDK reads it now, trimmed; "" without one.
     * Read again only when the config or credentials file changed: this runs for every request.
     */
    private static String profileCommand() {
        java.util.Map<String, String> env = System.getenv();
        StringBuilder stamp = new StringBuilder(SdkEnvironment.profileName(env));
        for (software.amazon.awssdk.profiles.ProfileFile.Type t : software.amazon.awssdk.profiles.ProfileFile.Type.values()) {
            java.nio.file.Path f = SdkEnvironment.profileFile(env, t);
            try {
                stamp.append('|').append(f).append(':').append(java.nio.file.Files.size(f)).append(':')
                        .append(java.nio.file.Files.getLastModifiedTime(f).toMillis());
            } catch (java.io.IOException | RuntimeException e) {
                stamp.append('|').append(f).append(":none");
            }
        }
        String[] read = commandRead;
        if (stamp.toString().equals(read[0])) {
            return read[1];
        }
        String command = SdkEnvironment.profile(env, SdkEnvironment.profileName(env))
                .flatMap(p -> p.property("credential_process")).map(String::trim).orElse("");
        commandRead = new String[] {stamp.toString(), command};
        return command;
    }

    /**
     * Ends the profile's credential_process {@code command}: this JVM's child processes whose command line holds
     * the command or is held in it (the SDK runs {@code sh -c COMMAND}; a shell may exec a simple
     * command in its place), their descendants first. Other children (a restore's {@code sync},
     * the trainer's preemption hook) are left. Not told apart by start time: Linux gives it to
     * the second of boot time only, so a process started just after the wait began could seem
     * to be older.
     */
    private static void endCredentialProcess(String command) {
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
                    : " within " + dev.ckpt.store.util.Durations.format(patience)));
            this.patience = patience;
        }
    }
}

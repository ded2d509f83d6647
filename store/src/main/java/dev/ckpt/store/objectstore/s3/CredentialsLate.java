package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.StoreUnavailableException;

import java.util.Map;

import static dev.ckpt.store.objectstore.s3.MissingCredentials.blank;
import static dev.ckpt.store.objectstore.s3.MissingCredentials.files;

/**
 * The AWS credential chain's keys failing later than at its start: a profile's
 * {@code credential_process} that fails when asked for fresh keys during a run, or a chain that
 * gives none within its patience ({@link ChainCredentials}). Said in ckpt's words, as
 * {@link MissingCredentials} says a chain that found none at all.
 */
final class CredentialsLate {
    private CredentialsLate() {
    }

    /**
     * A profile's credential_process failed when the SDK ran it again for fresh keys, those it gave
     * at the start having expired during the run: the SDK's provider answers alone then (the chain
     * keeps the provider that worked), so its failure is not the chain's ("Failed to refresh
     * process-based credentials", and with the MinIO client the command's own "Command returned
     * non-zero exit value (3) with error message: ..."), which read as a raw message or as "network
     * or server unreachable" (helper-75). Null when {@code cause} is no such failure.
     */
    static CkptException refreshFailed(String url, String action, Map<String, String> env, Throwable cause) {
        String said = null;
        boolean fromProcessProvider = false;
        for (Throwable t = cause; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && (m.startsWith("Failed to refresh process-based credentials")
                    || m.startsWith("Command returned non-zero exit value"))) {
                fromProcessProvider = true;
            }
            for (StackTraceElement e : t.getStackTrace()) {
                if (e.getClassName().endsWith(".ProcessCredentialsProvider")) {
                    fromProcessProvider = true;
                    break;
                }
            }
            if (m != null && m.startsWith("Command returned non-zero exit value")) {
                said = m;
            }
        }
        if (!fromProcessProvider) {
            return null;
        }
        String name = SdkEnvironment.profileName(env);
        String profile = "profile '" + name + "'" + (blank(env.get("AWS_PROFILE")) ? "" : " (AWS_PROFILE)");
        return new BadConfigurationException(S3Errors.redact("no S3 credentials to " + action + " " + url + ": "
                + profile + " gets its keys from its credential_process command (in " + files(env) + "), which failed"
                + " when asked for fresh keys during the run" + (said == null ? "" : " (" + said.trim() + ")")
                + ": the keys it gave at the start had expired. Run the command yourself to see why (a sign-in"
                + " that expired, say), then run again; what was not committed is not lost, a push or save starts"
                + " over and uploads only what the store lacks"), cause);
    }

    /**
     * The chain gave no credentials within its patience ({@link ChainCredentials}): a profile's
     * credential_process that does not end needs someone to look at it (exit 1); otherwise a
     * container endpoint or the instance metadata service did not answer, which may pass (exit 7).
     */
    static CkptException timedOut(String url, String action, ChainCredentials.CredentialsTimeout t,
                                  Map<String, String> env, Throwable cause) {
        String name = SdkEnvironment.profileName(env);
        boolean process = SdkEnvironment.profile(env, name).flatMap(p -> p.property("credential_process")).isPresent();
        String what = "no S3 credentials to " + action + " " + url + ": ";
        if (t.patience == null) {
            return new StoreUnavailableException(what + "interrupted while the AWS credential chain"
                    + (process ? " ran profile '" + name + "''s credential_process" : " looked for them"), cause);
        }
        String within = " within " + dev.ckpt.store.util.Durations.format(t.patience);
        if (process) {
            return StoreUnavailableException.needingAction(what + "profile '" + name + "'"
                    + (blank(env.get("AWS_PROFILE")) ? "" : " (AWS_PROFILE)") + " gets its keys from its"
                    + " credential_process command (in " + files(env) + "), which gave none" + within + " and was"
                    + " ended: run the command yourself to see where it waits (ckpt gives it no terminal input), or"
                    + " allow it longer with CKPT_S3_CREDENTIALS_TIMEOUT", cause);
        }
        return new StoreUnavailableException(what + "the AWS credential chain gave none" + within + " (a container"
                + " credentials endpoint or the instance metadata service did not answer); retrying later is safe", cause);
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.StoreUnavailableException;
import software.amazon.awssdk.profiles.Profile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The AWS default credential chain found no credentials: says so in ckpt's words, naming
 * what is set and why it gave none, instead of the chain's own message (a paragraph listing
 * every provider class). The chain's message is the SDK's (2.x, {@code
 * AwsCredentialsProviderChain}): "Unable to load credentials from any of the providers in the
 * chain ... : [Provider(...): reason, ...]"; a message of another shape is left as it is.
 *
 * <p>A configuration error (exit 1) when nothing is configured or what is set cannot work
 * (a key without its secret, a profile without keys, a role or SSO profile, which need SDK
 * modules ckpt does not ship). Retrying later is offered (exit 7) only where the source may
 * answer next time: a container credentials endpoint, or the instance metadata service on
 * an EC2 instance (off EC2 there is none, so it cannot be the source).
 */
final class MissingCredentials {
    private MissingCredentials() {
    }

    static final String CHAIN_FAILED = "Unable to load credentials from any of the providers in the chain";

    private static final Pattern PROVIDER = Pattern.compile(
            "(?:^|, )(SystemProperty|EnvironmentVariable|WebIdentityTokenFile|Profile|Container|InstanceProfile)"
                    + "CredentialsProvider\\((.*?)\\): ");

    /** The chain's message if {@code e} or a cause of it is the chain's failure. */
    static Optional<String> chainMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().startsWith(CHAIN_FAILED)) {
                return Optional.of(t.getMessage());
            }
        }
        return Optional.empty();
    }

    /**
     * The error for a request to {@code url} ({@code action}) that found no credentials: the chain's
     * {@code message}, as the SDK saw {@code env}; {@code onEc2}: whether this machine is an EC2 instance.
     */
    static CkptException error(String url, String action, String message, Map<String, String> env, boolean onEc2,
                               Throwable cause) {
        int list = message.indexOf(" : [");
        if (list < 0) {
            return null;
        }
        String reasons = message.substring(list + 4, message.endsWith("]") ? message.length() - 1 : message.length());
        Matcher m = PROVIDER.matcher(reasons);
        List<String[]> found = new ArrayList<>(); // provider, its argument, reason
        int start = -1;
        String[] open = null;
        while (m.find()) {
            if (open != null) {
                open[2] = reasons.substring(start, m.start());
                found.add(open);
            }
            open = new String[]{m.group(1), m.group(2), null};
            start = m.end();
        }
        if (open == null) {
            return null;
        }
        open[2] = reasons.substring(start);
        found.add(open);

        List<String> failed = new ArrayList<>();
        boolean mayAnswerLater = false; // a source that may answer next time failed
        int transientFailures = 0;      // how many of failed are such sources; the others need someone to fix them
        String metadataDisabled = env.get("AWS_EC2_METADATA_DISABLED");
        if (metadataDisabled != null && !metadataDisabled.trim().equalsIgnoreCase("true")
                && !metadataDisabled.trim().equalsIgnoreCase("false")) {
            failed.add("AWS_EC2_METADATA_DISABLED='" + metadataDisabled + "' is not true or false");
        }
        if (env.get("AWS_PROFILE") != null && env.get("AWS_PROFILE").isBlank()) {
            failed.add("AWS_PROFILE is set but empty: name a profile, or unset it (unset AWS_PROFILE)");
        }
        if (!blank(env.get("AWS_SESSION_TOKEN")) && blank(env.get("AWS_ACCESS_KEY_ID"))
                && blank(env.get("AWS_SECRET_ACCESS_KEY"))) {
            failed.add("AWS_SESSION_TOKEN is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not (temporary"
                    + " credentials are all three)");
        }
        for (String[] p : found) {
            String reason = p[2].trim().replaceFirst("\\.$", "");
            switch (p[0]) {
                case "EnvironmentVariable" -> {
                    if (reason.contains("Secret key must be specified")) {
                        failed.add("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
                    } else if (reason.contains("Access key must be specified")) {
                        if (!blank(env.get("AWS_SECRET_ACCESS_KEY"))) {
                            failed.add("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
                        }
                    } else {
                        failed.add("AWS_ACCESS_KEY_ID: " + reason);
                    }
                }
                case "WebIdentityTokenFile" -> {
                    if (reason.contains("'sts' service module") || !blank(env.get("AWS_WEB_IDENTITY_TOKEN_FILE"))) {
                        failed.add("AWS_WEB_IDENTITY_TOKEN_FILE is set (a web identity role, as on EKS), which ckpt"
                                + " cannot assume: it does not ship the AWS SDK's STS module; export the role's"
                                + " temporary credentials as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and"
                                + " AWS_SESSION_TOKEN instead");
                    } else if (!reason.contains("must be set")) {
                        failed.add("web identity (AWS_WEB_IDENTITY_TOKEN_FILE): " + reason);
                    }
                }
                case "Profile" -> {
                    if (env.get("AWS_PROFILE") != null && env.get("AWS_PROFILE").isBlank()) {
                        continue; // said above
                    }
                    String name = p[1].replaceFirst("^profileName=", "").replaceFirst(",.*", "");
                    String profile = "profile '" + name + "'" + (blank(env.get("AWS_PROFILE")) ? "" : " (AWS_PROFILE)");
                    String export = "run `aws configure export-credentials --profile " + name + " --format env` and"
                            + " export what it prints, or use a profile with access keys";
                    if (reason.contains("'sts' service module")) {
                        failed.add(profile + " assumes a role (role_arn), which ckpt cannot do: it does not ship the"
                                + " AWS SDK's STS module; " + export);
                    } else if (reason.contains("'sso' service module") || reason.contains("'ssooidc' service module")) {
                        failed.add(profile + " signs in through IAM Identity Center (SSO), which ckpt cannot do: it"
                                + " does not ship the AWS SDK's SSO modules; " + export);
                    } else if (reason.startsWith("Failed to refresh process-based credentials")) {
                        failed.add(processFailed(profile, name, env));
                    } else if (reason.startsWith("Profile file contained no credentials")) {
                        if (!blank(env.get("AWS_PROFILE")) || !name.equals("default")) {
                            failed.add(profile + " has no access keys in " + files(env)
                                    + "; check the profile's name, or give it aws_access_key_id and aws_secret_access_key");
                        }
                    } else {
                        failed.add(profile + ": " + reason.replaceFirst(": ProfileFile\\(.*$", ""));
                    }
                }
                case "Container" -> {
                    if (!reason.contains("neither")) {
                        String full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
                        String relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
                        String wrong = wrongContainerUri("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, true);
                        if (wrong == null && blank(full)) {
                            wrong = wrongContainerUri("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", relative, false);
                        }
                        if (wrong != null) {
                            failed.add(wrong + " (" + reason + ")");
                        } else {
                            failed.add("the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*) gave none: "
                                    + reason);
                            mayAnswerLater = true;
                            transientFailures++;
                        }
                    }
                }
                case "InstanceProfile" -> {
                    if (onEc2 && !"true".equalsIgnoreCase(String.valueOf(env.get("AWS_EC2_METADATA_DISABLED")).trim())) {
                        failed.add("this EC2 instance's metadata service gave no role credentials (attach an IAM role"
                                + " to the instance; in a container, the metadata hop limit must be 2)");
                        mayAnswerLater = true;
                        transientFailures++;
                    }
                }
                default -> {
                    // SystemProperty: the same keys as EnvironmentVariable, as Java properties
                }
            }
        }
        String what = "no S3 credentials to " + action + " " + url + ": " + (failed.isEmpty()
                ? "none are set. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to a profile with"
                + " access keys in " + files(env) + " (docs/security.md lists the permissions each command needs)"
                : String.join("; ", failed));
        what = S3Errors.redact(what);
        // a key without its secret does not come right by waiting, whatever else failed (helper-72: exit 7 on EC2)
        mayAnswerLater &= transientFailures == failed.size();
        return mayAnswerLater ? new StoreUnavailableException(what + "; retrying later is safe", cause)
                : new BadConfigurationException(what, cause);
    }

    /**
     * A profile's {@code credential_process} failed. The chain keeps only the provider's first line
     * ("Failed to refresh process-based credentials"): the command's exit value, its error output,
     * or that it printed no usable JSON were in the cause it dropped. The profile itself says the rest:
     * an empty command, or access keys beside it, which the SDK never reaches (it runs
     * credential_process first).
     */
    private static String processFailed(String profile, String name, Map<String, String> env) {
        Optional<Profile> p = SdkEnvironment.profile(env, name);
        String command = p.flatMap(x -> x.property("credential_process")).orElse(null);
        if (command != null && command.isBlank()) {
            return profile + " has an empty credential_process in " + files(env) + ": give the command that prints"
                    + " its keys, or remove the line";
        }
        String what = profile + " gets its keys from its credential_process command (in " + files(env) + "), which"
                + " failed or printed no usable credentials; the AWS SDK keeps no more of the command's error than"
                + " that: run the command yourself to see why";
        return p.flatMap(x -> x.property("aws_access_key_id")).isPresent()
                ? what + ". The profile's own access keys are not used while it has credential_process (the AWS SDK"
                + " runs the command first): remove that line to use them"
                : what + ", or use a profile with access keys";
    }

    /**
     * What is wrong with a container credentials URI as set ({@code full}: a whole URL, which the SDK
     * takes only as https or to a loopback address; else a path on the ECS agent), or null if nothing is.
     */
    private static String wrongContainerUri(String name, String value, boolean full) {
        if (value == null) {
            return null;
        }
        if (value.isBlank()) {
            return name + " is set but empty: unset it (unset " + name + ")";
        }
        if (!full) {
            return value.startsWith("/") ? null : name + "='" + value + "' is not a path (/v2/credentials/...)";
        }
        try {
            java.net.URI u = java.net.URI.create(value.trim());
            String host = u.getHost();
            if (u.getScheme() == null || host == null) {
                return name + "='" + value + "' is not a URL";
            }
            boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]")
                    || host.equals("::1");
            if (!u.getScheme().equalsIgnoreCase("https") && !loopback) {
                return name + "='" + value + "' is neither https:// nor a loopback address, which the AWS SDK refuses";
            }
            return null;
        } catch (IllegalArgumentException e) {
            return name + "='" + value + "' is not a URL";
        }
    }

    /** The credentials and config files as the SDK finds them ({@link SdkEnvironment#profileFile}; helper-78: "~" shown literally). */
    static String files(Map<String, String> env) {
        return SdkEnvironment.profileFile(env, software.amazon.awssdk.profiles.ProfileFile.Type.CREDENTIALS) + " or "
                + SdkEnvironment.profileFile(env, software.amazon.awssdk.profiles.ProfileFile.Type.CONFIGURATION);
    }

    static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /**
     * Whether this machine is an EC2 instance, from what its firmware tells the kernel (no request):
     * the DMI vendor of Nitro instances, the hypervisor UUID of Xen ones.
     */
    static boolean onEc2() {
        return read("/sys/devices/virtual/dmi/id/sys_vendor").contains("Amazon EC2")
                || read("/sys/devices/virtual/dmi/id/board_asset_tag").startsWith("i-")
                || read("/sys/hypervisor/uuid").toLowerCase(java.util.Locale.ROOT).startsWith("ec2");
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file)).trim();
        } catch (Exception e) {
            return "";
        }
    }
}

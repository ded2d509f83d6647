package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;

import software.amazon.awssdk.profiles.ProfileFile;
import software.amazon.awssdk.profiles.ProfileFileLocation;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Settings the AWS SDK reads from the process on its own (its profile files, its retry,
 * defaults and checksum modes), checked before a client is built so that a bad value is
 * refused naming its variable or file and what to do; {@link SdkEnvironment} reads the
 * endpoint and profiles as the SDK would.
 */
final class SdkSettingsCheck {
    private SdkSettingsCheck() {
    }

    /**
     * The AWS config and credentials files as the SDK finds them ({@code AWS_CONFIG_FILE} or
     * {@code ~/.aws/config}, {@code AWS_SHARED_CREDENTIALS_FILE} or {@code ~/.aws/credentials}),
     * parsed by the SDK's own parser: one it cannot parse fails the SDK with "Expected a profile
     * definition on line 1", naming neither the file nor its variable. Only files that exist are
     * read (none is fine). Called where the SDK will read them: the AWS client always (at its
     * construction), the MinIO client only for the credential chain (no keys given).
     */
    static void checkProfileFiles() {
        check(ProfileFileLocation.configurationFilePath(),
                ProfileFile.Type.CONFIGURATION, "AWS_CONFIG_FILE");
        check(ProfileFileLocation.credentialsFilePath(),
                ProfileFile.Type.CREDENTIALS, "AWS_SHARED_CREDENTIALS_FILE");
    }

    private static void check(Path file, ProfileFile.Type type,
                              String variable) {
        if (file.toString().isEmpty() || !Files.exists(file)) {
            return; // set but empty: the SDK reads no file (the working directory is no file), nor does ckpt
        }
        String which = (System.getenv(variable) == null ? "" : variable + "=") + file;
        String fix = System.getenv(variable) == null ? "fix or move it" : "fix it, or unset " + variable;
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new BadConfigurationException("the AWS " + type.name().toLowerCase(Locale.ROOT) + " file " + which
                    + " is not a readable file: " + fix);
        }
        try {
            ProfileFile.builder().content(file).type(type).build().profiles();
        } catch (RuntimeException e) {
            throw new BadConfigurationException("the AWS " + type.name().toLowerCase(Locale.ROOT) + " file " + which
                    + " cannot be read as one: " + e.getMessage() + "; " + fix, e);
        }
    }

    /** The defaults modes the AWS SDK knows ({@code DefaultsMode}), which it matches in lower case. */
    private static final Set<String> DEFAULTS_MODES =
            Set.of("legacy", "standard", "mobile", "cross-region", "in-region", "auto");

    /** The checksum modes the AWS SDK knows, which it matches trimmed and in lower case. */
    private static final Set<String> CHECKSUM_MODES = Set.of("when_supported", "when_required");

    /**
     * Settings the AWS SDK reads from the process environment on its own, checked here so a
     * bad value is refused naming its variable: the SDK's own messages ("For input string:
     * \"abc\"", "The provided value is not a valid defaults mode") do not say which.
     */
    static void check(Map<String, String> env, boolean awsEndpoint) {
        String attempts = env.get("AWS_MAX_ATTEMPTS");
        if (attempts != null && !attempts.trim().matches("0*[1-9][0-9]{0,8}")) {
            throw new BadConfigurationException("AWS_MAX_ATTEMPTS='" + attempts + "' is not a number of attempts"
                    + " (1 or more, e.g. 3): set it to one, or unset it (unset AWS_MAX_ATTEMPTS)");
        }
        String mode = env.get("AWS_DEFAULTS_MODE");
        if (mode != null && !DEFAULTS_MODES.contains(mode.toLowerCase(Locale.ROOT))) {
            throw new BadConfigurationException("AWS_DEFAULTS_MODE='" + mode + "' is not one of "
                    + new TreeSet<>(DEFAULTS_MODES) + ": set it to one, or unset it (unset AWS_DEFAULTS_MODE)");
        }
        String partitions = env.get("AWS_PARTITIONS_FILE");
        if (partitions != null && !Files.isRegularFile(Path.of(partitions))) {
            throw new BadConfigurationException("AWS_PARTITIONS_FILE=" + partitions + " is not a file (the AWS SDK reads"
                    + " its regions and endpoints from it): point it at a partitions.json, or unset it (unset"
                    + " AWS_PARTITIONS_FILE)");
        }
        if (!awsEndpoint) {
            return; // the checksum settings: for another endpoint ckpt sets both to when_required, the SDK reads neither
        }
        for (String name : new String[] {"AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION"}) {
            String v = env.get(name);
            if (v != null && !CHECKSUM_MODES.contains(v.trim().toLowerCase(Locale.ROOT))) {
                throw new BadConfigurationException(name + "='" + v + "' is not when_supported or when_required: set it"
                        + " to one, or unset it (unset " + name + ")");
            }
        }
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;

import software.amazon.awssdk.profiles.Profile;
import software.amazon.awssdk.profiles.ProfileFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The S3 environment the AWS SDK reads from the process on its own (not from the map
 * {@link S3Config#fromUrl} is given), checked before a client is built: the SDK fails on a
 * bad value without naming its variable, so {@code S3Config} refuses it first, naming it
 * and what to do (docs/design.md, "Errors").
 */
final class SdkEnvironment {
    private SdkEnvironment() {
    }

    /**
     * An endpoint variable that is set but empty, with no other endpoint given: the AWS SDK
     * reads the process environment itself and fails on it ("The URI scheme of
     * endpointOverride must not be null"), and the MinIO client would go to AWS, which is
     * not what a variable set to a server's URL by a script that lost the value meant.
     */
    static void refuseEmptyEndpoint(Map<String, String> env) {
        for (String n : new String[] {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
            if (env.containsKey(n)) {
                throw new BadConfigurationException(n + " is set but empty: give your server's URL (e.g. " + n
                        + "=http://minio:9000, or ckpt-tool's --endpoint URL), or unset it (unset " + n + ") to use AWS S3");
            }
        }
    }

    /** The profile the AWS SDK reads: the system property {@code aws.profile}, else {@code AWS_PROFILE}, else default. */
    static String profileName(Map<String, String> env) {
        return Optional.ofNullable(System.getProperty("aws.profile")).or(() -> Optional.ofNullable(env.get("AWS_PROFILE")))
                .filter(n -> !n.isBlank()).orElse("default");
    }

    /**
     * The AWS config and credentials files as the SDK reads them ({@code ProfileFile.defaultProfileFile}),
     * those that exist: the credentials file first, so that a property set in both is taken from it,
     * as the SDK takes it.
     *
     * @throws RuntimeException the SDK's parse error ({@link #checkProfileFiles} names the file first)
     */
    static ProfileFile profileFiles(Map<String, String> env) {
        ProfileFile.Aggregator files = ProfileFile.aggregator();
        for (ProfileFile.Type type : new ProfileFile.Type[] {ProfileFile.Type.CREDENTIALS, ProfileFile.Type.CONFIGURATION}) {
            Path path = profileFile(env, type);
            if (Files.isRegularFile(path)) {
                files.addFile(ProfileFile.builder().content(path).type(type).build());
            }
        }
        return files.build();
    }

    /**
     * Where the SDK looks for the config or credentials file, resolved from {@code env} as
     * {@code ProfileFileLocation} resolves it from the process: the system property
     * ({@code aws.configFile}, {@code aws.sharedCredentialsFile}), else the variable
     * ({@code AWS_CONFIG_FILE}, {@code AWS_SHARED_CREDENTIALS_FILE}) with a leading {@code ~/}
     * read as the home directory (an empty value is the working directory, so no file), else
     * {@code ~/.aws/config} or {@code ~/.aws/credentials}; the home directory is {@code $HOME}
     * when set (even empty), else the JVM's {@code user.home}.
     */
    static Path profileFile(Map<String, String> env, ProfileFile.Type type) {
        boolean config = type == ProfileFile.Type.CONFIGURATION;
        String set = System.getProperty(config ? "aws.configFile" : "aws.sharedCredentialsFile",
                env.get(config ? "AWS_CONFIG_FILE" : "AWS_SHARED_CREDENTIALS_FILE"));
        String home = env.getOrDefault("HOME", System.getProperty("user.home"));
        if (set == null) {
            return Path.of(home, ".aws", config ? "config" : "credentials");
        }
        return set.startsWith("~" + java.io.File.separator) ? Path.of(home + set.substring(1)) : Path.of(set);
    }

    /** Profile {@code name} as the SDK reads it, or empty: no such profile, or files that cannot be read. */
    static Optional<Profile> profile(Map<String, String> env, String name) {
        try {
            return profileFiles(env).profile(name);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** {@code AWS_IGNORE_CONFIGURED_ENDPOINT_URLS} as the SDK reads it (the system property first), or null. */
    private static String ignoreFlag(Map<String, String> env) {
        return System.getProperty("aws.ignoreConfiguredEndpointUrls", env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"));
    }

    /**
     * Refuses the endpoint variable {@code var} (set) beside {@code AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true}:
     * the AWS SDK ignores the variable then and would go to AWS S3, ckpt used it (helper-78); neither
     * guess is safe. ckpt-tool's {@code --endpoint} is explicit: it clears the flag.
     */
    static void refuseIgnoredEndpoint(Map<String, String> env, String var) {
        String ignore = ignoreFlag(env);
        if (ignore != null && ignore.trim().equalsIgnoreCase("true")) {
            throw new BadConfigurationException(var + " is set, and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true tells"
                    + " AWS tools to ignore it (the AWS SDK would go to AWS S3 instead): unset one of them (unset "
                    + var + ", or unset AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)");
        }
    }

    /**
     * The S3 endpoint the profile sets, which the AWS SDK (2.21 on) uses on its own where none is
     * given, and the MinIO client never: its {@code services} section's {@code s3 endpoint_url},
     * else its {@code endpoint_url}; none where {@code AWS_IGNORE_CONFIGURED_ENDPOINT_URLS} is true,
     * or is unset and the profile's {@code ignore_configured_endpoint_urls} is true (the variable set
     * to false overrides the profile, as in the SDK). Returns the value and where it is
     * set, for messages ("endpoint_url of profile 'p' in FILE").
     */
    static Optional<String[]> profileEndpoint(Map<String, String> env) {
        // as the SDK decides: the variable (or system property), when set, alone; else the profile's setting
        String ignore = ignoreFlag(env);
        if (ignore != null && !ignore.trim().equalsIgnoreCase("false")) {
            if (ignore.trim().equalsIgnoreCase("true")) {
                return Optional.empty();
            }
            throw new BadConfigurationException("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS='" + ignore + "' is not true or"
                    + " false: set it to one, or unset it (unset AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)");
        }
        String name = profileName(env);
        ProfileFile files;
        try {
            files = profileFiles(env);
        } catch (RuntimeException e) {
            // a file that may set the endpoint: the MinIO client with keys never reads the files, and went to
            // AWS instead (helper-76); one that does not mention endpoint_url cannot, and the AWS client refuses
            // it on its own (checkProfileFiles)
            Optional<BadConfigurationException> refusal = unreadable(env);
            if (refusal.isPresent()) {
                throw refusal.get();
            }
            return Optional.empty();
        }
        Optional<Profile> p = files.profile(name);
        if (p.isEmpty()) {
            return Optional.empty();
        }
        if (ignore == null) {
            String flag = p.get().property("ignore_configured_endpoint_urls").map(String::trim).orElse("false");
            if (flag.equalsIgnoreCase("true")) {
                return Optional.empty();
            }
            if (!flag.equalsIgnoreCase("false")) { // the SDK's own message named neither the profile nor its file
                throw new BadConfigurationException("ignore_configured_endpoint_urls of profile '" + name + "' in "
                        + fileHolding(env, name, "ignore_configured_endpoint_urls") + " is '" + flag + "', not true or"
                        + " false: set it to one, or remove the line");
            }
        }
        String config = profileFile(env, ProfileFile.Type.CONFIGURATION).toString();
        Optional<String> services = p.get().property("services");
        if (services.isPresent()) {
            Optional<String> s3 = files.getSection("services", services.get()).flatMap(x -> x.property("s3.endpoint_url"));
            if (s3.isPresent()) {
                return Optional.of(new String[]{s3.get().trim(), "s3 endpoint_url of services '" + services.get()
                        + "' of profile '" + name + "' in " + config});
            }
        }
        return p.get().property("endpoint_url").map(v -> new String[]{v.trim(), "endpoint_url of profile '" + name
                + "' in " + fileHolding(env, name, "endpoint_url")});
    }

    /**
     * The refusal of a config or credentials file the SDK's parser cannot read and that mentions
     * {@code endpoint_url} (so it may set the endpoint), naming the file; empty when none does.
     */
    private static Optional<BadConfigurationException> unreadable(Map<String, String> env) {
        for (ProfileFile.Type type : ProfileFile.Type.values()) {
            Path path = profileFile(env, type);
            try {
                if (Files.isRegularFile(path)) {
                    ProfileFile.builder().content(path).type(type).build().profiles();
                }
            } catch (RuntimeException bad) {
                String text;
                try {
                    text = Files.readString(path, java.nio.charset.StandardCharsets.ISO_8859_1);
                } catch (java.io.IOException | RuntimeException e) {
                    text = "endpoint_url"; // cannot tell: refuse rather than go elsewhere
                }
                if (text.contains("endpoint_url")) {
                    return Optional.of(new BadConfigurationException("the AWS " + type.name().toLowerCase(Locale.ROOT)
                            + " file " + path + " cannot be read as one: " + bad.getMessage() + "; it mentions"
                            + " endpoint_url, which ckpt uses when no endpoint is given: fix the file, or give the"
                            + " endpoint (AWS_ENDPOINT_URL, or ckpt-tool's --endpoint)", bad));
                }
            }
        }
        return Optional.empty();
    }

    /** The file that sets {@code property} of profile {@code name}: the credentials file where it does, else the config file. */
    private static Path fileHolding(Map<String, String> env, String name, String property) {
        Path credentials = profileFile(env, ProfileFile.Type.CREDENTIALS);
        try {
            if (Files.isRegularFile(credentials) && ProfileFile.builder().content(credentials)
                    .type(ProfileFile.Type.CREDENTIALS).build().profile(name).flatMap(p -> p.property(property)).isPresent()) {
                return credentials;
            }
        } catch (RuntimeException e) {
            // unreadable: the value came from the config file
        }
        return profileFile(env, ProfileFile.Type.CONFIGURATION);
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
        check(software.amazon.awssdk.profiles.ProfileFileLocation.configurationFilePath(),
                software.amazon.awssdk.profiles.ProfileFile.Type.CONFIGURATION, "AWS_CONFIG_FILE");
        check(software.amazon.awssdk.profiles.ProfileFileLocation.credentialsFilePath(),
                software.amazon.awssdk.profiles.ProfileFile.Type.CREDENTIALS, "AWS_SHARED_CREDENTIALS_FILE");
    }

    private static void check(java.nio.file.Path file, software.amazon.awssdk.profiles.ProfileFile.Type type,
                              String variable) {
        if (file.toString().isEmpty() || !java.nio.file.Files.exists(file)) {
            return; // set but empty: the SDK reads no file (the working directory is no file), nor does ckpt
        }
        String which = (System.getenv(variable) == null ? "" : variable + "=") + file;
        String fix = System.getenv(variable) == null ? "fix or move it" : "fix it, or unset " + variable;
        if (!java.nio.file.Files.isRegularFile(file) || !java.nio.file.Files.isReadable(file)) {
            throw new BadConfigurationException("the AWS " + type.name().toLowerCase(Locale.ROOT) + " file " + which
                    + " is not a readable file: " + fix);
        }
        try {
            software.amazon.awssdk.profiles.ProfileFile.builder().content(file).type(type).build().profiles();
        } catch (RuntimeException e) {
            throw new BadConfigurationException("the AWS " + type.name().toLowerCase(Locale.ROOT) + " file " + which
                    + " cannot be read as one: " + e.getMessage() + "; " + fix, e);
        }
    }

    /** The defaults modes the AWS SDK knows ({@code DefaultsMode}), which it matches in lower case. */
    private static final java.util.Set<String> DEFAULTS_MODES =
            java.util.Set.of("legacy", "standard", "mobile", "cross-region", "in-region", "auto");

    /** The checksum modes the AWS SDK knows, which it matches trimmed and in lower case. */
    private static final java.util.Set<String> CHECKSUM_MODES = java.util.Set.of("when_supported", "when_required");

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
                    + new java.util.TreeSet<>(DEFAULTS_MODES) + ": set it to one, or unset it (unset AWS_DEFAULTS_MODE)");
        }
        String partitions = env.get("AWS_PARTITIONS_FILE");
        if (partitions != null && !java.nio.file.Files.isRegularFile(java.nio.file.Path.of(partitions))) {
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

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
}

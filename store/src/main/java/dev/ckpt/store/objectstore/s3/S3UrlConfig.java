package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.util.Durations;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * {@link S3Config#fromUrl}: an {@code s3://bucket/prefix} URL and the environment's
 * variables read into an {@link S3Config}, each bad value refused naming its variable.
 */
final class S3UrlConfig {
    private S3UrlConfig() {
    }

    /**
     * A prefix with an empty ({@code a//b}), {@code .} or {@code ..} segment: the AWS client sent
     * one as written and the MinIO client another way, and servers differ again (S3Proxy refused a
     * signature, RGW normalized), so each client saw another store under one URL (helper-102: a
     * push through one then verified as missing chunks through the other, and recover wrote a ROOT
     * beside the store). A trailing '/' is fine.
     */
    private static String oddSegmentsProblem(String url, String bucket, String prefix) {
        if (prefix.isEmpty()) {
            return null;
        }
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        java.util.List<String> kept = new java.util.ArrayList<>();
        String odd = null;
        for (String segment : p.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                odd = odd == null ? (segment.isEmpty() ? "an empty segment ('//')" : "a '" + segment + "' segment") : odd;
            } else {
                kept.add(segment);
            }
        }
        if (odd == null) {
            return null;
        }
        return "S3 URL '" + url + "' has " + odd + " in its prefix, which the S3 clients"
                + " and servers read differently, so it would not name one store: write the prefix without it"
                + (kept.isEmpty() ? " (s3://" + bucket + ")" : " (s3://" + bucket + "/" + String.join("/", kept)
                + ", if that is the store you mean)");
    }

    /**
     * What is wrong with the shape of {@code url} as an S3 store's URL, or null: the scheme not
     * {@code s3://} in lower case, no bucket, a bucket name S3 refuses ({@link S3Config#bucketProblem}),
     * an odd segment in the prefix. Nothing of the environment or the server: a usage error,
     * said before any client is built.
     */
    static String shapeProblem(String url) {
        if (!url.startsWith("s3://")) {
            return "not an S3 URL: '" + url + "' (write s3://" + (url.regionMatches(true, 0, "s3://", 0, 5)
                    ? url.substring(5) + ", the scheme in lower case)" : "bucket/prefix)");
        }
        String rest = url.substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        if (bucket.isEmpty()) {
            return "S3 URL '" + url + "' names no bucket (write s3://bucket/prefix)";
        }
        String problem = S3Config.bucketProblem(bucket);
        return problem != null ? problem : oddSegmentsProblem(url, bucket, prefix);
    }

    static S3Config fromUrl(String url, Map<String, String> env) {
        String problem = shapeProblem(url);
        if (problem != null) {
            throw new BadConfigurationException(problem);
        }
        String rest = url.substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        // the keys are secrets from here on, also in a message about a value they were put in by mistake
        for (String key : new String[] {first(env, "AWS_SECRET_ACCESS_KEY"), first(env, "AWS_SESSION_TOKEN")}) {
            if (key != null) {
                dev.ckpt.store.error.Redaction.registerSecret(key);
            }
        }
        String endpoint = first(env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
        String endpointVar = first(env, "AWS_ENDPOINT_URL_S3") != null ? "AWS_ENDPOINT_URL_S3" : "AWS_ENDPOINT_URL";
        if (endpoint != null) {
            SdkEnvironment.refuseIgnoredEndpoint(env, endpointVar);
        }
        // ckpt-train has no --endpoint (helper-75)
        String epSource = endpointVar + " or ckpt-tool's --endpoint";
        URI ep = endpoint == null ? null : Endpoint.parse(endpoint, epSource, env);
        if (ep == null && !env.containsKey("AWS_ENDPOINT_URL_S3") && !env.containsKey("AWS_ENDPOINT_URL")) {
            // the AWS SDK would use it on its own (addressed as AWS: virtual-host style) and the MinIO client not at all
            String[] fromProfile = SdkEnvironment.profileEndpoint(env).orElse(null);
            ep = fromProfile == null ? null : Endpoint.parse(fromProfile[0], fromProfile[1], env);
            epSource = fromProfile == null ? epSource : fromProfile[1];
        }
        S3Config.Client client = parse(S3Config.Client.class, env.getOrDefault("CKPT_S3_CLIENT", "aws"), "CKPT_S3_CLIENT");
        if (client == S3Config.Client.MINIO && ep != null && ep.getRawPath() != null && !ep.getRawPath().isEmpty()
                && !ep.getRawPath().equals("/")) {
            // the MinIO client's own refusal named neither the variable nor a way out (helper-102)
            throw new BadConfigurationException("the endpoint " + Endpoint.shown(ep.toString()) + " (" + epSource + ") has"
                    + " a path (" + ep.getRawPath() + "), which the MinIO client does not take: give the server's"
                    + " scheme, host and port only (put a store's place in the URL's prefix, s3://bucket/prefix), or"
                    + " use the AWS client (CKPT_S3_CLIENT=aws, ckpt-tool's --client=aws), which sends requests below"
                    + " that path");
        }
        if (ep == null) {
            SdkEnvironment.refuseEmptyEndpoint(env);
        }
        if (client == S3Config.Client.AWS) {
            SdkSettingsCheck.check(env, ep == null);
        }
        String pathStyle = env.get("CKPT_S3_PATH_STYLE");
        String access = first(env, "AWS_ACCESS_KEY_ID");
        String secret = first(env, "AWS_SECRET_ACCESS_KEY");
        boolean staticKeys = access != null && secret != null && first(env, "AWS_SESSION_TOKEN") == null;
        if (client == S3Config.Client.AWS || !staticKeys) {
            SdkSettingsCheck.checkProfileFiles();
        }
        String ca = first(env, "AWS_CA_BUNDLE");
        String stall = first(env, "CKPT_S3_STALL_TIMEOUT");
        String credentialsWait = first(env, "CKPT_S3_CREDENTIALS_TIMEOUT");
        return S3Config.builder(bucket).prefix(prefix).endpoint(ep).region(region(env, client))
                .pathStyle(pathStyle == null ? null : Boolean.parseBoolean(pathStyle))
                .client(client, parse(S3Config.Http.class, env.getOrDefault("CKPT_S3_HTTP_CLIENT", "apache"), "CKPT_S3_HTTP_CLIENT"))
                .credentials(staticKeys ? access : null, staticKeys ? secret : null)
                .sse(parse(S3Config.Sse.class, env.getOrDefault("CKPT_S3_SSE", "none"), "CKPT_S3_SSE"), env.get("CKPT_S3_KMS_KEY_ID"))
                .caBundle(ca == null ? null : java.nio.file.Path.of(ca))
                .stallTimeout(stall == null ? S3Config.Builder.DEFAULT_STALL : duration(stall, "CKPT_S3_STALL_TIMEOUT"))
                .credentialsTimeout(credentialsWait == null ? S3Config.Builder.DEFAULT_CREDENTIALS_WAIT
                        : duration(credentialsWait, "CKPT_S3_CREDENTIALS_TIMEOUT"))
                .build();
    }

    /**
     * The region of AWS_REGION, else AWS_DEFAULT_REGION (null: none), checked here so the
     * refusal names the variable: letters, digits, '.', '-' and '_', at most 63 (AWS's names,
     * Ceph zone groups), and for the MinIO client its own rule (lower case, digits, '-' and
     * '_', neither first nor last: minio-java's REGION_REGEX). helper-102: the AWS client took
     * "bad region!" and the MinIO client said "invalid region" naming nothing.
     */
    private static String region(Map<String, String> env, S3Config.Client client) {
        String var = first(env, "AWS_REGION") != null ? "AWS_REGION" : "AWS_DEFAULT_REGION";
        String region = first(env, var);
        if (region == null) {
            return null;
        }
        String named = "the region " + dev.ckpt.store.util.ShellWords.word(region.strip()) + " (" + var
                + (var.equals("AWS_REGION") ? " or ckpt-tool's --region" : "") + ")";
        if (!region.strip().matches("[A-Za-z0-9._-]{1,63}")) {
            throw new BadConfigurationException(named + " is not a region name: a region is letters, digits, '-', '_'"
                    + " and '.' (e.g. us-east-1, or the zone group your server names); correct it, or unset it for"
                    + " us-east-1");
        }
        if (client == S3Config.Client.MINIO && !region.strip().matches("(?!_)(?!-)[a-z_\\d-]{1,63}(?<!-)(?<!_)")) {
            throw new BadConfigurationException(named + " is not a region the MinIO client takes: lower-case letters,"
                    + " digits, '-' and '_', neither first nor last; write it so, or use --client aws");
        }
        return region.strip();
    }

    private static String first(Map<String, String> env, String... names) {
        for (String n : names) {
            String v = env.get(n);
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }

    /** A duration over zero ({@link Durations}: {@code 30s}, {@code 1500ms}, {@code 2m}, {@code 1h}, {@code 1d}, or seconds). */
    private static Duration duration(String value, String name) {
        Duration d;
        try {
            d = Durations.parse(value, true);
        } catch (IllegalArgumentException e) {
            throw new BadConfigurationException(name + "=" + e.getMessage());
        }
        if (d.isZero()) {
            throw new BadConfigurationException(name + "='" + value + "' is not a duration over zero: write 30s,"
                    + " 1500ms or 2m");
        }
        return d;
    }

    private static <E extends Enum<E>> E parse(Class<E> type, String value, String name) {
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new BadConfigurationException(name + "='" + value + "' is not one of "
                    + java.util.Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT).replace('_', '-'));
        }
    }
}

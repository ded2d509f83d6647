package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PermissionDeniedException;
import dev.ckpt.store.error.Redaction;
import dev.ckpt.store.error.StoreUnavailableException;

import java.util.Optional;

/** Maps S3 status codes to the store's errors. Messages name the object, never credentials. */
final class S3Errors {
    private S3Errors() {
    }

    static CkptException map(String url, String action, int status, String code, String detail, Throwable cause) {
        return map(url, action, status, code, detail, null, null, cause);
    }

    /**
     * As above; for a redirect, {@code location} (its {@code Location} header) and
     * {@code region} (its {@code x-amz-bucket-region} header, AWS S3's answer to a request
     * sent to another region; the caller passes null when it is the region already set, for
     * then the endpoint is what to change) are named in the message where the server gave
     * them, null otherwise. Only the location's scheme, host, port and path are shown
     * ({@link #withoutQuery}): its query may hold a signature.
     */
    static CkptException map(String url, String action, int status, String code, String detail, String location,
                             String region, Throwable cause) {
        String what = action + " " + url;
        String why = (code == null ? "HTTP " + status : code + " (HTTP " + status + ")")
                + (detail == null || detail.isBlank() ? "" : ": " + sentence(redact(detail)));
        if (noSuchBucket(status, code)) { // not "object not found": every key of the store is missing, and a write too
            String bucket = url.startsWith("s3://") ? url.substring(5).split("/", 2)[0] : url;
            return new BadConfigurationException("cannot " + what + ": bucket '" + bucket + "' does not exist — " + why
                    + "; check the bucket name and the endpoint, or create the bucket first (ckpt does not create"
                    + " buckets)", cause);
        }
        if (status == 404) {
            return new NotFoundException(url, "object not found: " + url);
        }
        if (status >= 400 && status < 500 && REJECTED_CREDENTIALS.contains(code)) { // AWS says ExpiredToken with 400
            return new BadConfigurationException("access denied: cannot " + what + " — " + why
                    + "; check the credentials and the bucket policy", cause);
        }
        if (status == 403 || status == 401) {
            String permission = permission(action);
            if (permission == null) { // the credentials themselves rejected: above, with any 4xx
                return new BadConfigurationException("access denied: cannot " + what + " — " + why
                        + "; check the credentials and the bucket policy", cause);
            }
            return new PermissionDeniedException(permission, "access denied: cannot " + what + " — " + why + "; these credentials"
                    + " need " + permission + " on it: grant it in the IAM or bucket policy, or use credentials that"
                    + " have it (docs/security.md lists what each command needs)", cause);
        }
        if (status >= 300 && status < 400 && status != 304) { // 304 answers a conditional read, which ckpt never sends
            String to = withoutQuery(location);
            String inRegion = region == null || !region.matches("[a-z0-9-]{1,32}") ? null : region;
            return new dev.ckpt.store.error.EndpointRedirectException("the server answered the request to " + what
                    + " with a redirect" + (to == null ? "" : " to " + to) + " — " + why
                    + (inRegion == null ? "" : "; the bucket is in region " + inRegion) + "; S3 clients do not follow one."
                    + (inRegion == null ? " For AWS S3, set AWS_REGION to the bucket's region; for another server,"
                    : " Set AWS_REGION=" + inRegion + " (or --region " + inRegion + "); for another server,")
                    + " set the endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, or ckpt-tool's --endpoint) to the address it"
                    + " redirects to (https:// where http:// was given, another host or port)", cause);
        }
        if (status == 400 || status == 501 || status == 405) {
            return new BadConfigurationException("the server rejected the request to " + what + " — " + why
                    + "; it may not support this S3 feature", cause);
        }
        return new StoreUnavailableException("cannot " + what + " — " + why + "; retrying later is safe", cause);
    }

    /**
     * A server's message as a clause of ours: trimmed, without its closing period ("Please reduce your
     * request rate." is followed by "; retrying later is safe"); an ellipsis is kept.
     */
    static String sentence(String detail) {
        String s = detail.strip();
        return s.endsWith(".") && !s.endsWith("..") ? s.substring(0, s.length() - 1).stripTrailing() : s;
    }

    /**
     * {@code location}'s scheme, host, port and path: no query or fragment, no user info (they
     * may hold a signature or a password), non-ASCII percent-encoded (so no character can turn
     * the line's display around), redacted, then cut to 200 characters; null if none or unreadable.
     */
    static String withoutQuery(String location) {
        if (location == null || location.isBlank()) {
            return null;
        }
        java.net.URI u;
        try {
            u = java.net.URI.create(location.trim());
        } catch (IllegalArgumentException e) {
            return null;
        }
        String authority = u.getRawAuthority();
        if (authority != null) {
            authority = authority.substring(authority.lastIndexOf('@') + 1); // user info dropped
        }
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        String shown = (u.getScheme() == null ? "" : u.getScheme() + ":")
                + (authority == null ? "" : "//" + authority) + path;
        StringBuilder ascii = new StringBuilder();
        for (byte b : shown.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (c > 0x20 && c < 0x7F) {
                ascii.append((char) c);
            } else {
                ascii.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        if (ascii.length() == 0) {
            return null;
        }
        String r = redact(ascii.toString()); // before the cut, which could leave a secret too short to be found
        return r.length() > 200 ? r.substring(0, 200) + "..." : r;
    }

    /**
     * Whether an answer says the bucket itself is missing (404 {@code NoSuchBucket}). A HEAD's answer has no
     * body, so a HEAD of a key in a missing bucket reads as a missing object.
     */
    static boolean noSuchBucket(int status, String code) {
        return status == 404 && "NoSuchBucket".equals(code);
    }

    /** Error codes of a 403 that refuse the credentials themselves, not a permission. */
    private static final java.util.Set<String> REJECTED_CREDENTIALS = java.util.Set.of("InvalidAccessKeyId",
            "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "RequestTimeTooSkewed");

    /**
     * The IAM action an SPI call's request needs ({@code action} is the verb the backends pass: read and stat
     * are GET and HEAD, write, create and conditionally replace are PUTs, list is ListObjectsV2), or null.
     */
    static String permission(String action) {
        return switch (action) {
            case "read", "stat" -> "s3:GetObject";
            case "write", "create", "conditionally replace" -> "s3:PutObject";
            case "delete" -> "s3:DeleteObject";
            case "list" -> "s3:ListBucket";
            default -> null;
        };
    }

    /**
     * A failure without an S3 answer: the network's, or the credential chain's (no credentials found,
     * {@link MissingCredentials}), which is no network failure. {@code proxy}: the HTTP proxy
     * ({@code host:port}, {@link HttpProxy#route}) the client's requests go through, if any: a failure
     * to reach it is named as the proxy's (the clients' own messages give its address as the server's).
     */
    static CkptException io(String url, String action, Throwable cause, java.util.Optional<String> proxy) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof ChainCredentials.CredentialsTimeout timeout) {
                return CredentialsLate.timedOut(url, action, timeout, System.getenv(), cause);
            }
        }
        Optional<String> chain = MissingCredentials.chainMessage(cause);
        if (chain.isPresent()) {
            CkptException e = MissingCredentials.error(url, action, chain.get(), System.getenv(),
                    MissingCredentials.onEc2(), cause);
            if (e != null) {
                return e;
            }
        } else {
            CkptException e = CredentialsLate.refreshFailed(url, action, System.getenv(), cause);
            if (e != null) {
                return e;
            }
        }
        CkptException tls = tls(url, action, cause, proxy);
        if (tls != null) {
            return tls;
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof java.net.UnknownHostException u) {
                String host = u.getMessage() == null ? "?" : u.getMessage().replaceFirst(":.*", "").trim();
                if (proxy.isPresent() && proxy.get().startsWith(host + ":")) {
                    return new StoreUnavailableException("cannot " + action + " " + url + ": the HTTP proxy's host name '"
                            + redact(host) + "' does not resolve; check HTTP_PROXY (or http_proxy, -Dhttp.proxyHost), or"
                            + " name the endpoint's host in NO_PROXY to reach it directly (retrying later is safe)", cause);
                }
                return new StoreUnavailableException("cannot " + action + " " + url + ": the endpoint's host name '"
                        + redact(host) + "' does not resolve; check the endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,"
                        + " ckpt-tool's --endpoint, or the AWS profile's endpoint_url) and the name server (retrying later"
                        + " is safe)", cause);
            }
        }
        return new StoreUnavailableException("cannot " + action + " " + url + ": "
                + withoutClassNames(redact(String.valueOf(cause.getMessage())))
                + proxy.map(p -> " (network, HTTP proxy or server unreachable: requests go through the HTTP proxy " + p
                        + " of HTTP_PROXY, http_proxy or -Dhttp.proxyHost, unless NO_PROXY names the endpoint's host;"
                        + " retrying later is safe)").orElse(" (network or server unreachable; retrying later is safe)"),
                cause);
    }

    /**
     * A TLS set-up that cannot succeed by retrying, so exit 1 with what to change rather than
     * "retrying later is safe" (helper-102): an https:// endpoint whose server answers in plain
     * HTTP (the JDK: "Unsupported or unrecognized SSL message"), or a certificate no trusted CA
     * signed (PKIX: "unable to find valid certification path"). Null for any other failure.
     */
    private static CkptException tls(String url, String action, Throwable cause, java.util.Optional<String> proxy) {
        String where = "check the endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, ckpt-tool's --endpoint, or the AWS"
                + " profile's endpoint_url)";
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (!(t instanceof javax.net.ssl.SSLException) && !(t instanceof java.security.GeneralSecurityException)) {
                continue;
            }
            String m = String.valueOf(t.getMessage());
            if (m.contains("Unsupported or unrecognized SSL message")) {
                return new BadConfigurationException("cannot " + action + " " + url + ": the endpoint is https:// but the"
                        + " server " + proxy.map(p -> "(or the HTTP proxy " + p + ") ").orElse("") + "answered in plain"
                        + " HTTP, without TLS: if it serves plain HTTP, write the endpoint with http://; " + where, cause);
            }
            if (m.contains("unable to find valid certification path") || m.contains("PKIX path")) {
                return new BadConfigurationException("cannot " + action + " " + url + ": the server's TLS certificate is"
                        + " not signed by a CA this process trusts (" + withoutClassNames(redact(m)) + "): for a private"
                        + " CA, give its PEM certificates in AWS_CA_BUNDLE=/path/ca.pem; else " + where, cause);
            }
        }
        return null;
    }

    /** Java class names clients put in messages ({@code com.ctc.wstx.exc.WstxIOException: Connection reset}): only --verbose shows them. */
    private static final java.util.regex.Pattern CLASS_NAME =
            java.util.regex.Pattern.compile("\\b(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*(?:Exception|Error)\\b:?\\s*");

    static String withoutClassNames(String message) {
        String m = CLASS_NAME.matcher(message).replaceAll("").trim();
        return m.isEmpty() ? "the connection failed" : m;
    }

    /** Strips credentials and anything that looks like a signature from a server or client message. */
    static String redact(String s) {
        return Redaction.redact(s);
    }

    /**
     * Registers what the default credential chain resolved (key id, secret, session token)
     * for redaction from every output, and returns it; static keys are registered when the
     * store is opened ({@link S3ObjectStores#open(S3Config)}).
     */
    static software.amazon.awssdk.auth.credentials.AwsCredentials registered(
            software.amazon.awssdk.auth.credentials.AwsCredentials c) {
        dev.ckpt.store.error.Redaction.registerSecret(c.accessKeyId());
        dev.ckpt.store.error.Redaction.registerSecret(c.secretAccessKey());
        if (c instanceof software.amazon.awssdk.auth.credentials.AwsSessionCredentials session) {
            dev.ckpt.store.error.Redaction.registerSecret(session.sessionToken());
        }
        return c;
    }

    /** An ETag without quotes or weak marker, as servers and clients differ there. */
    /**
     * The ETag of a read of {@code url}: {@link #etag} of the {@code raw} header, which must be
     * there. A server that sends none (helper-87: S3Proxy for an object whose xattrs a copy had
     * lost) cannot be read as an object with an ETag; the error says so instead of a null that
     * was taken for a network failure.
     */
    static String readEtag(String raw, String url) {
        String e = etag(raw);
        if (e == null) {
            throw dev.ckpt.store.error.StoreUnavailableException.needingAction("the server sent no ETag with " + url
                    + ", which every S3 server sends; ckpt needs it to replace ROOT safely. Check the server, or a"
                    + " proxy in between that drops headers", null);
        }
        return e;
    }

    static String etag(String raw) {
        if (raw == null) {
            return null;
        }
        String e = raw.trim();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        return e;
    }
}

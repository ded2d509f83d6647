package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;

import dev.ckpt.store.objectstore.ProbeCache;
import dev.ckpt.store.util.Printable;

import java.net.URI;
import java.util.Locale;
import java.util.Map;

/**
 * The S3 endpoint as a user gives it ({@code --endpoint}, {@code AWS_ENDPOINT_URL_S3},
 * {@code AWS_ENDPOINT_URL}): checked once, and shown in messages without what must not be shown.
 *
 * <p>An endpoint with user info ({@code http://user:password@host:9000}) is refused: neither
 * client sends it (S3 requests are signed with access keys), so a password there would only
 * ever be ignored, or copied into what ckpt writes about the endpoint (before 2026-12-04, the
 * probe cache's entries).
 */
final class Endpoint {
    private Endpoint() {
    }

    /**
     * {@code raw} as a URI, given by {@code source} (e.g. "AWS_ENDPOINT_URL or ckpt-tool's --endpoint").
     *
     * With user info, the probe cache's entries that hold an endpoint with user info are deleted
     * first (see {@link ProbeCache#dropEntriesWithUserInfo}), and the message says how many.
     *
     * @throws BadConfigurationException naming the value (user info masked) and its source when it
     *                                   has user info, is no URL with a host, or is not http(s)
     */
    static URI parse(String raw, String source, Map<String, String> env) {
        raw = raw.strip(); // a value pasted with a space or a line break (the profile's is trimmed by its parser)
        String named = shown(raw) + " (" + source + ")";
        int at = userInfoEnd(raw);
        if (at >= 0) {
            ProbeCache cache = ProbeCache.fromEnvironment(env);
            int dropped = cache.dropEntriesWithUserInfo();
            BadConfigurationException e = userInfo(named, raw, at);
            if (dropped > 0) {
                e = new BadConfigurationException(e.getMessage() + ". ckpt before 2026-12-04 wrote such endpoints,"
                        + " password included, into its probe cache: " + (dropped == 1 ? "the entry holding one in "
                        + cache.directory().orElseThrow() + " is" : "the " + dropped + " entries holding one in "
                        + cache.directory().orElseThrow() + " are") + " now deleted");
            }
            throw e;
        }
        URI ep = parsed(raw);
        if (ep == null || ep.getScheme() == null || ep.getHost() == null) {
            throw new BadConfigurationException("the endpoint " + shownUnparsed(raw) + " (" + source + ") is not a URL"
                    + " like http://host:9000");
        }
        if (!ep.getScheme().equalsIgnoreCase("http") && !ep.getScheme().equalsIgnoreCase("https")) {
            throw new BadConfigurationException("the endpoint " + named + " is not an http:// or https:// URL: S3"
                    + " servers answer over HTTP (e.g. http://host:9000)");
        }
        if (ep.getRawQuery() != null || ep.getRawFragment() != null) {
            // both clients dropped it without a word (helper-102)
            throw new BadConfigurationException("the endpoint " + shown(ep.getScheme() + "://" + ep.getRawAuthority()
                    + (ep.getRawPath() == null ? "" : ep.getRawPath())) + " (" + source + ") has a "
                    + (ep.getRawQuery() != null ? "query ('?...')" : "fragment ('#...')") + ", which no S3 client sends:"
                    + " remove it");
        }
        return ep;
    }

    /** The refusal of an endpoint set in code ({@link S3Config.Builder#endpoint}) with user info. */
    static void refuseUserInfo(URI endpoint) {
        String raw = endpoint == null ? "" : endpoint.toString();
        if (userInfoEnd(raw) >= 0) {
            throw userInfo(shown(raw) + " (the S3 endpoint)", raw, userInfoEnd(raw));
        }
    }

    /**
     * A value as a message may show it: user info (all before the last '@', see {@link #userInfoEnd}) masked as {@code ***@}, line
     * breaks and other control characters escaped by {@link Printable}, at most 200 code points, in single quotes.
     */
    static String shown(String raw) {
        int at = userInfoEnd(raw);
        String v = at < 0 ? raw : raw.substring(0, prefixEnd(raw)) + "***" + raw.substring(at);
        return "'" + Printable.cut(v, 200) + "'";
    }

    /**
     * The index of the '@' that ends {@code raw}'s user info, or -1 when it has none: the last '@'
     * after "://" (or anywhere, without a scheme). A URI parser reads {@code http://admin:2024/pw@host}
     * as host "admin", port 2024 and path "/pw@host", and so would show the password; no S3
     * endpoint has an '@' in its path, so every '@' is taken as ending user info, masking more
     * rather than less (helper-76).
     */
    private static int userInfoEnd(String raw) {
        int at = raw.lastIndexOf('@');
        return at >= prefixEnd(raw) ? at : -1;
    }

    /**
     * A value no URL parser reads, as a message may show it: where what stands between "://" and
     * the next '/' is no {@code host} or {@code host:port}, it is masked, since it may be user info
     * whose '@' was written {@code %40} ({@code http://user:pa%40ss:9000}; helper-78: shown whole).
     */
    private static String shownUnparsed(String raw) {
        int s = prefixEnd(raw);
        int e = raw.indexOf('/', s);
        e = e < 0 ? raw.length() : e;
        String authority = raw.substring(s, e);
        boolean plain = authority.matches("[A-Za-z0-9.\\[\\]_-]*(:[0-9]*)?") || !authority.contains(":");
        return plain ? shown(raw) : shown(raw.substring(0, s) + "***" + raw.substring(e));
    }

    /** {@code raw} without its user info (the '@' at {@code at} included). */
    private static String bare(String raw, int at) {
        return raw.substring(0, prefixEnd(raw)) + raw.substring(at + 1);
    }

    /**
     * Where user info would begin: after a scheme's "://", else at the start. Only a scheme
     * (a letter, then letters, digits, '+', '-', '.') counts: in {@code admin:pw@http://minio:9000}
     * the first "://" comes after the '@', and taking it as the scheme's left the whole value,
     * password included, unmasked (helper-79).
     */
    private static int prefixEnd(String raw) {
        int s = raw.indexOf("://");
        return s > 0 && raw.substring(0, s).matches("[A-Za-z][A-Za-z0-9+.-]*") ? s + 3 : 0;
    }

    /**
     * The refusal of {@code raw}, whose user info ends at {@code at}. Where what is taken as user info
     * holds a '/', '?' or '#', it may as well be the real host and a path or query with an '@' in it
     * ({@code http://[::1]:9000/p?x=a@b}: no parser can tell), so the endpoint suggested is said to
     * hold only if it was a password (helper-78: 'http://b' was suggested, dropping the host).
     */
    private static BadConfigurationException userInfo(String named, String raw, int at) {
        String bare = bare(raw, at);
        URI b = parsed(bare);
        // not one with a second scheme ('http://http://minio:9000' from 'http://user:pw@http://minio:9000')
        boolean usable = b != null && b.getHost() != null && b.getScheme() != null
                && b.getScheme().toLowerCase(Locale.ROOT).matches("https?") && bare.indexOf("://", prefixEnd(bare)) < 0;
        boolean ambiguous = raw.substring(prefixEnd(raw), at).matches("(?s).*[/?#].*");
        return new BadConfigurationException("the endpoint " + named + " has a user name or password before its host"
                + " (all before its last '@' is taken as one, and not shown), which ckpt does not use: S3 requests are signed with access keys. Give "
                + (usable ? "the endpoint as " + shown(bare) : "the server's address alone (e.g. http://minio:9000)")
                + ", and the keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or an AWS profile"
                + (usable && ambiguous ? " (if the '@' is in the endpoint's path or query instead, give the endpoint"
                        + " without it: an S3 endpoint needs none)" : ""));
    }

    private static URI parsed(String raw) {
        try {
            return URI.create(raw);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}

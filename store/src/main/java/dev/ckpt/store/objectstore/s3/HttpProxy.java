package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.Redaction;
import okhttp3.Authenticator;
import okhttp3.Credentials;
import okhttp3.OkHttpClient;
import software.amazon.awssdk.http.apache.ProxyConfiguration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The MinIO client's HTTP proxy: the one the AWS client uses. The AWS SDK's Apache client takes
 * its proxy from {@code HTTP_PROXY} (or {@code http_proxy}, or the {@code http.proxyHost} and
 * {@code http.proxyPort} system properties; {@code HTTPS_PROXY} only for an {@code https} proxy
 * scheme, which is not its default), skips the hosts of {@code NO_PROXY} (or
 * {@code http.nonProxyHosts}, {@code *} a wildcard), and answers a 407 with the proxy URL's user
 * and password. OkHttp reads none of these, so with {@code CKPT_S3_CLIENT=minio} every request
 * went straight to the endpoint, past the proxy a site requires. Rather than parse the variables a
 * second way, this reads the SDK's own {@link ProxyConfiguration} and gives OkHttp the same
 * proxy, exceptions and credentials.
 */
final class HttpProxy {
    private HttpProxy() {
    }

    /** Sets {@code b}'s proxy from the environment and system properties, as the AWS client reads them. */
    static void apply(OkHttpClient.Builder b) {
        apply(b, ProxyConfiguration.builder().build());
    }

    /**
     * Sets {@code b}'s proxy from {@code p}; nothing when {@code p} names no host.
     *
     * @throws BadConfigurationException for an {@code https://} proxy: OkHttp reaches proxies
     *                                   over plain HTTP only (the AWS client can use it)
     */
    static void apply(OkHttpClient.Builder b, ProxyConfiguration p) {
        if (p.host() == null || p.host().isEmpty()) {
            return;
        }
        int port = port(p); // as the Apache client: no port is the scheme's default
        if ("https".equalsIgnoreCase(p.scheme())) {
            throw new BadConfigurationException("the HTTP proxy " + p.host() + ":" + port + " is reached over https,"
                    + " which the MinIO client cannot do (it reaches proxies over plain HTTP): set"
                    + " CKPT_S3_CLIENT=aws, or give a proxy URL that starts with http://");
        }
        Proxy proxy = new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(p.host(), port));
        List<Pattern> direct = new ArrayList<>();
        for (String h : p.nonProxyHosts()) {
            direct.add(pattern(h));
        }
        b.proxySelector(new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
                for (Pattern d : direct) {
                    if (d.matcher(host).matches()) {
                        return List.of(Proxy.NO_PROXY);
                    }
                }
                return List.of(proxy);
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
                // OkHttp reports the failure itself; there is no other proxy to try
            }
        });
        if (p.username() != null) {
            String password = p.password() == null ? "" : p.password();
            Redaction.registerSecret(password);
            b.proxyAuthenticator(authenticator(Credentials.basic(p.username(), password)));
        }
    }

    /**
     * How requests to {@code endpoint} (null: AWS S3) go, for the server line of doctor and the
     * trainer: {@code ", through the HTTP proxy H:P"}, {@code ", direct (NO_PROXY names its host)"},
     * or "" without a proxy. A proxy in the environment is easy to forget, and every failure then
     * names the proxy's address, not the server's.
     */
    static String describe(ProxyConfiguration p, URI endpoint) {
        if (p.host() == null || p.host().isEmpty()) {
            return "";
        }
        return route(p, endpoint).map(r -> ", through the HTTP proxy " + r)
                .orElse(", direct (NO_PROXY names its host; HTTP proxy " + p.host() + ":" + port(p) + " for others)");
    }

    /** The proxy ({@code host:port}) requests to {@code endpoint} (null: AWS S3) go through; empty when they go direct. */
    static java.util.Optional<String> route(ProxyConfiguration p, URI endpoint) {
        if (p.host() == null || p.host().isEmpty()) {
            return java.util.Optional.empty();
        }
        String host = endpoint == null || endpoint.getHost() == null ? null : endpoint.getHost().toLowerCase(Locale.ROOT);
        if (host != null) {
            for (String h : p.nonProxyHosts()) {
                if (pattern(h).matcher(host).matches()) {
                    return java.util.Optional.empty();
                }
            }
        }
        return java.util.Optional.of(p.host() + ":" + port(p));
    }

    private static int port(ProxyConfiguration p) {
        return p.port() > 0 ? p.port() : 80;
    }

    /**
     * Answers a proxy's 407 once with {@code credentials} (a {@code Basic} header value); a second
     * 407 for the same request is the proxy refusing them, and is returned as the answer.
     */
    static Authenticator authenticator(String credentials) {
        return (route, response) -> response.request().header("Proxy-Authorization") != null ? null
                : response.request().newBuilder().header("Proxy-Authorization", credentials).build();
    }

    /**
     * A {@code NO_PROXY} entry as the SDK's Apache client matches it: the host, lower-cased, must
     * match the whole entry as a regular expression (the SDK has turned each {@code *} of the
     * variable into {@code .*?}). An entry that is no regular expression (a {@code *} the SDK left,
     * from {@code http.nonProxyHosts}) is matched with {@code *} as a wildcard and the rest as written.
     */
    static Pattern pattern(String h) {
        String entry = h.trim().toLowerCase(Locale.ROOT);
        try {
            return Pattern.compile(entry);
        } catch (PatternSyntaxException e) {
            StringBuilder re = new StringBuilder();
            for (String part : entry.split("\\*", -1)) {
                if (re.length() > 0) {
                    re.append(".*");
                }
                re.append(Pattern.quote(part));
            }
            return Pattern.compile(re.toString());
        }
    }
}

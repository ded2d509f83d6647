package dev.ckpt.store.objectstore.s3;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The worst S3 server for secrets: it answers every request with 403 AccessDenied and
 * echoes what it received — the {@code Authorization} header in the error message, the
 * extended request id header and a {@code SignatureDoesNotMatch}-style XML body (access
 * key id, signature, string to sign, canonical request) — and, as a server with a debug
 * mode might, the raw access key and secret it was configured with. Whatever a client
 * puts into an exception's message or cause chain from the response carries them all.
 */
public final class AuthEchoServer implements AutoCloseable {
    private final HttpServer http;
    private final String accessKey;
    private final String secretKey;
    private final List<String> authorizations = new CopyOnWriteArrayList<>();

    private AuthEchoServer(String accessKey, String secretKey) throws IOException {
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/", ex -> {
            try (InputStream in = ex.getRequestBody()) {
                in.readAllBytes();
            }
            String rawAuth = String.valueOf(ex.getRequestHeaders().getFirst("Authorization"));
            authorizations.add(rawAuth);
            String auth = xml(rawAuth);
            String query = xml(ex.getRequestURI().getRawQuery());
            String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                    + "<Message>Access Denied. Received Authorization: " + auth + "; access key " + accessKey
                    + ", secret " + secretKey + "</Message>"
                    + "<AWSAccessKeyId>" + accessKey + "</AWSAccessKeyId>"
                    + "<SignatureProvided>" + signature(auth) + "</SignatureProvided>"
                    + "<StringToSign>AWS4-HMAC-SHA256\n20261130T000000Z\n20261130/us-east-1/s3/aws4_request\n"
                    + "0123456789abcdef</StringToSign>"
                    + "<CanonicalRequest>" + ex.getRequestMethod() + "\n" + ex.getRequestURI().getRawPath() + "\n"
                    + (query == null ? "" : query) + "\nauthorization:" + auth + "</CanonicalRequest>"
                    + "<RequestId>4442587FB7D0A2F9</RequestId><HostId>" + auth + "</HostId></Error>";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/xml");
            ex.getResponseHeaders().add("x-amz-request-id", "4442587FB7D0A2F9");
            ex.getResponseHeaders().add("x-amz-id-2", rawAuth + " secret=" + secretKey);
            boolean head = ex.getRequestMethod().equals("HEAD");
            ex.sendResponseHeaders(403, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
            ex.close();
        });
        http.start();
    }

    /** A server that echoes a fresh, random access key id (not shaped like an AWS one) and secret. */
    public static AuthEchoServer start() throws IOException {
        SecureRandom r = new SecureRandom();
        byte[] k = new byte[8];
        byte[] s = new byte[20];
        r.nextBytes(k);
        r.nextBytes(s);
        return new AuthEchoServer("echokey" + HexFormat.of().formatHex(k), HexFormat.of().formatHex(s) + "/Zq+9");
    }

    private static String xml(String s) {
        return s == null ? null : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static String signature(String auth) {
        int i = auth.indexOf("Signature=");
        return i < 0 ? auth : auth.substring(i + "Signature=".length());
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /** Every Authorization header received (their signatures must appear nowhere either). */
    public List<String> authorizations() {
        return List.copyOf(authorizations);
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + http.getAddress().getPort());
    }

    /** The environment an S3 store URL on this server is opened with. */
    public Map<String, String> env(S3Config.Client client, S3Config.Http httpClient) {
        Map<String, String> env = new HashMap<>();
        env.put("AWS_ENDPOINT_URL", endpoint().toString());
        env.put("AWS_ACCESS_KEY_ID", accessKey);
        env.put("AWS_SECRET_ACCESS_KEY", secretKey);
        env.put("AWS_REGION", "us-east-1");
        env.put("CKPT_S3_CLIENT", client.name().toLowerCase());
        env.put("CKPT_S3_HTTP_CLIENT", httpClient == S3Config.Http.URL_CONNECTION ? "url-connection" : "apache");
        return env;
    }

    @Override
    public void close() {
        http.stop(0);
    }
}

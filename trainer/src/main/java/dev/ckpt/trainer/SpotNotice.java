package dev.ckpt.trainer;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Polls a cloud metadata endpoint for a spot/preemptible reclaim notice and turns one into
 * a stop request, as if SIGTERM had arrived.
 * <ul>
 * <li>{@code aws}: {@code GET /latest/meta-data/spot/instance-action} answers 404 until
 * a stop or termination is scheduled, then 200 with JSON; IMDSv2 token first (PUT
 * {@code /latest/api/token}), falling back to IMDSv1 when the token call fails.</li>
 * <li>{@code gcp}: {@code GET /computeMetadata/v1/instance/preempted} with
 * {@code Metadata-Flavor: Google} answers {@code FALSE}, then {@code TRUE}.</li>
 * </ul>
 * Endpoint errors are reported once and polling goes on.
 */
final class SpotNotice implements AutoCloseable {
    static final String AWS_DEFAULT = "http://169.254.169.254/latest/meta-data/spot/instance-action";
    static final String GCP_DEFAULT = "http://metadata.google.internal/computeMetadata/v1/instance/preempted";

    private final String cloud;
    private final URI uri;
    private final Duration interval;
    private final Preemption preemption;
    private final PrintStream err;
    private final HttpClient http;
    private final Thread thread;
    private volatile boolean closed;
    private boolean warned;

    SpotNotice(String cloud, String url, Duration interval, Preemption preemption, PrintStream err) {
        this.cloud = cloud;
        this.uri = URI.create(url != null ? url : cloud.equals("aws") ? AWS_DEFAULT : GCP_DEFAULT);
        this.interval = interval;
        this.preemption = preemption;
        this.err = err;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        this.thread = new Thread(this::loop, "ckpt-spot-notice");
        this.thread.setDaemon(true);
    }

    SpotNotice start() {
        thread.start();
        return this;
    }

    private void loop() {
        while (!closed && !preemption.requested()) {
            try {
                String notice = poll();
                if (notice != null) {
                    preemption.request("spot notice (" + cloud + ": " + notice + ")");
                    return;
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (!warned) {
                    warned = true;
                    err.println("ckpt-train: spot notice endpoint " + shown() + " did not answer (" + describe(e)
                            + "); still polling every " + dev.ckpt.store.util.Durations.format(interval));
                }
            }
            try {
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Why a poll failed, in words: the exception's own text named its class
     * ("java.net.ConnectException"), and a refused connection has no message at all.
     */
    String describe(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof java.net.UnknownHostException || c instanceof java.nio.channels.UnresolvedAddressException) {
                return "unknown host " + uri.getHost();
            }
            if (c instanceof java.net.http.HttpConnectTimeoutException) {
                return "no connection within 2 s";
            }
            if (c instanceof java.net.http.HttpTimeoutException) {
                return "no answer within 2 s";
            }
            if (c instanceof java.net.ConnectException) {
                return "connection refused";
            }
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? "no usable answer" : m;
    }

    /** The endpoint as messages show it: a user name and password in it masked (helper-79: shown whole). */
    String shown() {
        String raw = uri.toString();
        String info = uri.getRawUserInfo();
        return info == null ? raw : raw.replace(info + "@", "***@");
    }

    /** One poll: the notice text, or null when there is none. */
    String poll() throws Exception {
        HttpRequest.Builder get = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).GET();
        if (cloud.equals("gcp")) {
            get.header("Metadata-Flavor", "Google");
        } else {
            String token = awsToken();
            if (token != null) {
                get.header("X-aws-ec2-metadata-token", token);
            }
        }
        HttpResponse<String> r = http.send(get.build(), HttpResponse.BodyHandlers.ofString());
        if (cloud.equals("gcp")) {
            if (r.statusCode() == 200) {
                return r.body().trim().equalsIgnoreCase("TRUE") ? "instance is being preempted" : null;
            }
        } else {
            if (r.statusCode() == 404) {
                return null;
            }
            if (r.statusCode() == 200) {
                return r.body().trim();
            }
        }
        throw new java.io.IOException("HTTP " + r.statusCode() + " from " + shown());
    }

    private String awsToken() {
        try {
            URI tokenUri = uri.resolve("/latest/api/token");
            HttpRequest put = HttpRequest.newBuilder(tokenUri).timeout(Duration.ofSeconds(2))
                    .header("X-aws-ec2-metadata-token-ttl-seconds", "300")
                    .PUT(HttpRequest.BodyPublishers.noBody()).build();
            HttpResponse<String> r = http.send(put, HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body().trim() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception e) {
            return null; // IMDSv1 fallback
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}

package dev.ckpt.trainer;

import com.sun.net.httpserver.HttpServer;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Spot notices from a local HTTP server standing in for the AWS and GCP metadata endpoints. */
class SpotNoticeTest {
    @TempDir
    Path tmp;
    private HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    /**
     * Whether the notice may be served yet: once the trainer has trained a step. The notice used to
     * come after a fixed number of polls from the start, which lost to a start-up slower than 0.3 s
     * ("before any step was trained", exit 75 with nothing saved): a timing the test must not need.
     */
    private final java.util.concurrent.atomic.AtomicBoolean trained = new java.util.concurrent.atomic.AtomicBoolean(true);

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    /** AWS IMDSv2: a token, then 404 until the {@code noticeAfter}-th poll, then the instance-action JSON. */
    private String aws(int noticeAfter) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        AtomicInteger polls = new AtomicInteger();
        server.createContext("/latest/api/token", ex -> {
            requests.add(ex.getRequestMethod() + " token ttl=" + ex.getRequestHeaders().getFirst("X-aws-ec2-metadata-token-ttl-seconds"));
            byte[] b = "tok-123".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders("PUT".equals(ex.getRequestMethod()) ? 200 : 405, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.createContext("/latest/meta-data/spot/instance-action", ex -> {
            requests.add(ex.getRequestMethod() + " action token=" + ex.getRequestHeaders().getFirst("X-aws-ec2-metadata-token"));
            if (polls.incrementAndGet() < noticeAfter || !trained.get()) {
                ex.sendResponseHeaders(404, -1);
            } else {
                byte[] b = "{\"action\": \"terminate\", \"time\": \"2026-11-29T08:22:00Z\"}".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
            ex.close();
        });
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/latest/meta-data/spot/instance-action";
    }

    @Test
    void anAwsSpotNoticeStopsTrainingLikeSigterm() throws Exception {
        String url = aws(4);
        trained.set(false);
        Result r = TrainerRuns.inProcess(st -> st, null, line -> {
            if (line.startsWith("step ")) {
                trained.set(true);
            }
        }, "--store", tmp.resolve("store").toString(), "--staging", tmp.resolve("staging").toString(),
                "--run", "spot", "--steps", "1000000", "--save-every", "1000000", "--log-every", "5",
                "--spot-notice", "aws", "--spot-notice-url", url, "--spot-poll-interval", "100ms");
        assertEquals(75, r.code(), r.all());
        assertTrue(r.out().matches("(?s).*preempted: spot notice \\(aws: \\{\"action\": \"terminate\", \"time\": \"2026-11-29T08:22:00Z\"}\\) "
                + "at step \\d+; committed checkpoint spot-s\\d+-\\S+ in [\\d.]+ s from the signal; exiting 75.*"), r.out());
        assertTrue(requests.contains("PUT token ttl=300"), requests.toString());
        assertTrue(requests.stream().filter(q -> q.startsWith("GET action")).allMatch(q -> q.equals("GET action token=tok-123")),
                requests.toString());
        // every poll until the notice, at least the 4 the server answers 404 to first, and none after it
        long polls = requests.stream().filter(q -> q.startsWith("GET action")).count();
        assertTrue(polls >= 4, requests.toString());
        assertEquals(polls, requests.stream().filter(q -> q.startsWith("PUT token")).count(), "a token per poll: " + requests);
        try (CheckpointStore s = CheckpointStore.open(tmp.resolve("store").toString())) {
            assertEquals(1, s.list("spot").size());
        }
    }

    @Test
    void gcpPreemptedFlagIsReadWithTheMetadataFlavorHeader() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        AtomicInteger polls = new AtomicInteger();
        server.createContext("/computeMetadata/v1/instance/preempted", ex -> {
            String flavor = ex.getRequestHeaders().getFirst("Metadata-Flavor");
            byte[] b = (!"Google".equals(flavor) ? "missing header" : polls.incrementAndGet() < 3 ? "FALSE" : "TRUE")
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders("Google".equals(flavor) ? 200 : 403, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/computeMetadata/v1/instance/preempted";
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Preemption p = new Preemption(quiet);
        SpotNotice n = new SpotNotice("gcp", url, Duration.ofMillis(50), p, quiet);
        assertNull(n.poll());
        assertNull(n.poll());
        assertEquals("instance is being preempted", n.poll());
        n.start();
        long end = System.nanoTime() + 5_000_000_000L;
        while (!p.requested() && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        n.close();
        assertEquals("spot notice (gcp: instance is being preempted)", p.reason());
    }

    @Test
    void anUnreachableEndpointIsReportedOnceAndTrainingGoesOn() throws Exception {
        String url = aws(1);
        server.stop(0);
        server = null;
        Result r = TrainerRuns.inProcess("--store", tmp.resolve("store").toString(), "--staging", tmp.resolve("staging").toString(),
                "--run", "spot", "--steps", "1000", "--save-every", "1000", "--spot-notice", "aws", "--spot-notice-url", url,
                "--spot-poll-interval", "50ms");
        assertEquals(0, r.code(), r.all());
        assertEquals(1, r.err().lines().filter(l -> l.contains("spot notice endpoint " + url + " did not answer")).count(), r.err());
        // in words, and the interval as given: it said "(java.net.ConnectException); still polling every 0 s"
        assertTrue(r.err().contains(" did not answer (connection refused); still polling every 50ms"), r.err());
        assertFalse(r.err().contains("java.") || r.err().contains("Exception"), r.err());
        // a password in the URL is masked (helper-79: shown whole)
        String withPassword = url.replace("http://", "http://u:SPOTPW@");
        Result masked = TrainerRuns.inProcess("--store", tmp.resolve("store").toString(), "--staging",
                tmp.resolve("staging").toString(), "--run", "spot2", "--steps", "200", "--save-every", "1000",
                "--spot-notice", "aws", "--spot-notice-url", withPassword, "--spot-poll-interval", "50ms");
        assertEquals(0, masked.code(), masked.all());
        assertTrue(masked.err().contains("spot notice endpoint " + url.replace("http://", "http://***@") + " did not answer"),
                masked.err());
        assertFalse(masked.all().contains("SPOTPW"), masked.all());
    }
}

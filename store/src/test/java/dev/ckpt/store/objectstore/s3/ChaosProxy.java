package dev.ckpt.store.objectstore.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on loopback in front of the test S3 server that drops connections: with
 * probability {@code p} per connection it either closes before forwarding anything (the
 * request never arrives) or forwards the request and cuts the connection as the response
 * starts (the request is stored, the response is lost). Bounded: it only ever talks to
 * the upstream port on 127.0.0.1 and stops with {@link #close()}.
 */
final class ChaosProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int upstreamPort;
    private final double p;
    private final Random random;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "chaos-proxy");
        t.setDaemon(true);
        return t;
    });
    final AtomicInteger droppedBefore = new AtomicInteger();
    final AtomicInteger droppedAfter = new AtomicInteger();
    private volatile boolean closed;

    ChaosProxy(int upstreamPort, double p, long seed) throws IOException {
        this.upstreamPort = upstreamPort;
        this.p = p;
        this.random = new Random(seed);
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        pool.submit(this::acceptLoop);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                pool.submit(() -> serve(client));
            } catch (IOException e) {
                return;
            }
        }
    }

    private double roll() {
        synchronized (random) {
            return random.nextDouble();
        }
    }

    /**
     * Per request from the client: with p/2 the connection is closed before the request is
     * forwarded; with p/2 it is forwarded and the connection is cut as the answer arrives.
     */
    private void serve(Socket client) {
        java.util.concurrent.atomic.AtomicBoolean cutAnswer = new java.util.concurrent.atomic.AtomicBoolean();
        try (client; Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
            pool.submit(() -> {
                try {
                    InputStream in = upstream.getInputStream();
                    OutputStream out = client.getOutputStream();
                    byte[] buf = new byte[64 * 1024];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        if (cutAnswer.get() && enabled) {
                            droppedAfter.incrementAndGet();
                            return; // the server answered, so it processed the request: the answer is lost
                        }
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException ignored) {
                    // closed
                } finally {
                    close(client);
                    close(upstream);
                }
            });
            InputStream in = client.getInputStream();
            OutputStream out = upstream.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                if (enabled && looksLikeRequestStart(buf, n)) {
                    double r = roll();
                    if (r < p / 2) {
                        droppedBefore.incrementAndGet();
                        return; // the request never reaches the server
                    }
                    cutAnswer.set(r < p);
                }
                if (record) {
                    synchronized (recorded) {
                        recorded.write(buf, 0, n);
                    }
                }
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException ignored) {
            // connection ended
        }
    }

    /** When set, every byte the clients send is kept (for tests that look at request headers). */
    volatile boolean record;
    private final java.io.ByteArrayOutputStream recorded = new java.io.ByteArrayOutputStream();

    /** What the clients sent so far, as ISO-8859-1 text (headers readable, bodies as they are). */
    String recorded() {
        synchronized (recorded) {
            return recorded.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    private static boolean looksLikeRequestStart(byte[] buf, int n) {
        String head = new String(buf, 0, Math.min(n, 8), java.nio.charset.StandardCharsets.US_ASCII);
        return head.startsWith("GET ") || head.startsWith("PUT ") || head.startsWith("HEAD ") || head.startsWith("DELETE ")
                || head.startsWith("POST ");
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    volatile boolean enabled = true;

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        pool.shutdownNow();
    }
}

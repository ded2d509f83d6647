package dev.ckpt.store.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A TCP link on loopback in front of a test S3 server that stalls transfers mid-body: a
 * request whose request line ({@code "PUT /bucket/prefix/chunks/.. HTTP/1.1"}) matches the
 * armed predicate is cut off in the middle of its body — a PUT after half of the body bytes
 * that came with its head, a GET's answer after its head and a few body bytes — and from then
 * on the connection carries nothing in either direction, but stays open, as a server or
 * middlebox that hangs does. Only the client closing it ends it ({@link #cut}: the link closes it there instead). {@link #stall} arms it for
 * a number of matching requests (a transient stall) or for all of them (a permanent one).
 * Requests are recognised by their first bytes, as {@code ChaosProxy} does: enough for the
 * S3 clients, which send one request at a time per connection.
 */
public final class StallingLink implements AutoCloseable {
    private final ServerSocket server;
    private final int upstreamPort;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "stalling-link");
        t.setDaemon(true);
        return t;
    });
    private volatile Predicate<String> matches = line -> false;
    private final AtomicInteger left = new AtomicInteger();
    /** Instead of hanging, close the connection where the transfer stops (a reset mid-body). */
    private volatile boolean cutOff;
    private final List<String> stalled = new CopyOnWriteArrayList<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();

    public StallingLink(int upstreamPort) throws IOException {
        this.upstreamPort = upstreamPort;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        pool.submit(this::acceptLoop);
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Stalls the next {@code times} requests whose request line matches (Integer.MAX_VALUE: every one). */
    public void stall(Predicate<String> requestLine, int times) {
        cutOff = false;
        left.set(times);
        matches = requestLine;
    }

    /** Like {@link #stall}, but the connection is closed where the transfer stops instead of hanging. */
    public void cut(Predicate<String> requestLine, int times) {
        cutOff = true;
        left.set(times);
        matches = requestLine;
    }

    /** No more stalls. */
    public void heal() {
        left.set(0);
    }

    /** The request lines of the requests stalled so far. */
    public List<String> stalled() {
        return List.copyOf(stalled);
    }

    /** The request lines of every request that passed or stalled, in order. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** The object path of a request line: {@code PUT /b/p/chunks/ab/.. HTTP/1.1} -> {@code /b/p/chunks/ab/..}. */
    public static String path(String requestLine) {
        String[] parts = requestLine.split(" ");
        String p = parts.length > 1 ? parts[1] : requestLine;
        int q = p.indexOf('?');
        return q < 0 ? p : p.substring(0, q);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                Connection c = new Connection(client, upstream);
                pool.submit(c::requests);
                pool.submit(c::responses);
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
            }
        }
    }

    private boolean take() {
        return left.getAndUpdate(n -> n == Integer.MAX_VALUE ? n : Math.max(0, n - 1)) > 0;
    }

    private final class Connection {
        private final Socket client;
        private final Socket upstream;
        /** Set once the connection hangs: nothing passes any more. */
        private final AtomicBoolean hung = new AtomicBoolean();
        /** The next answer is cut after its head and a few bytes (a GET that matched). */
        private volatile boolean cutAnswer;

        Connection(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        /** Client to server: looks at each request's first bytes. */
        void requests() {
            byte[] buf = new byte[64 << 10];
            try (InputStream in = client.getInputStream(); OutputStream out = upstream.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (hung.get()) {
                        continue; // swallowed until the client gives up and closes
                    }
                    String line = requestLine(buf, n);
                    if (line != null) {
                        requests.add(line);
                        if (matches.test(line) && take()) {
                            stalled.add(line);
                            if (line.startsWith("GET ")) {
                                cutAnswer = true;
                            } else {
                                int head = headEnd(buf, n);
                                int body = head < 0 ? 0 : n - head;
                                out.write(buf, 0, head < 0 ? n : head + body / 2); // half the body, then nothing
                                out.flush();
                                hung.set(true);
                                if (cutOff) {
                                    return;
                                }
                                continue;
                            }
                        }
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // either side went away
            } finally {
                close();
            }
        }

        /** Server to client: cuts an answer that is to stall. */
        void responses() {
            byte[] buf = new byte[64 << 10];
            try {
                // not closed here: closing a socket's stream closes the socket, and a hung connection stays open
                InputStream in = upstream.getInputStream();
                OutputStream out = client.getOutputStream();
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (hung.get()) {
                        continue;
                    }
                    if (cutAnswer) {
                        int head = headEnd(buf, n);
                        out.write(buf, 0, head < 0 ? Math.min(n, 16) : Math.min(n, head + 16));
                        out.flush();
                        hung.set(true);
                        if (cutOff) {
                            close();
                            return;
                        }
                        continue;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // either side went away
            }
            // the client's side decides when the connection ends: it closes after its timeout
        }

        private void close() {
            try {
                client.close();
            } catch (IOException ignored) {
                // closing
            }
            try {
                upstream.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private static String requestLine(byte[] buf, int n) {
        String head = new String(buf, 0, Math.min(n, 8), StandardCharsets.US_ASCII);
        if (!(head.startsWith("GET ") || head.startsWith("PUT ") || head.startsWith("HEAD ")
                || head.startsWith("DELETE ") || head.startsWith("POST "))) {
            return null;
        }
        int end = 0;
        while (end < n && buf[end] != '\r' && buf[end] != '\n') {
            end++;
        }
        return new String(buf, 0, end, StandardCharsets.US_ASCII);
    }

    /** Where the body starts (after the blank line ending the head), or -1. */
    private static int headEnd(byte[] buf, int n) {
        for (int i = 3; i < n; i++) {
            if (buf[i - 3] == '\r' && buf[i - 2] == '\n' && buf[i - 1] == '\r' && buf[i] == '\n') {
                return i + 1;
            }
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        server.close();
        pool.shutdownNow();
    }
}

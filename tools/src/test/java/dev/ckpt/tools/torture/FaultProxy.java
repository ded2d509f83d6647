package dev.ckpt.tools.torture;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * An HTTP/1.1 proxy on loopback in front of a real S3 server that injects the faults S3
 * clients meet in the field, each chosen at random per request with its own rate:
 *
 * <ul>
 * <li>{@link Fault#SLOW_DOWN}: a storm of 503 SlowDown answers (the S3 XML error body) to this
 *     request and the next 0 to {@code stormMax - 1} requests, whichever connection they come on;
 *     the server never sees them;</li>
 * <li>{@link Fault#RESET_REQUEST}: the request is forwarded in part (half its body, or half
 *     its head when it has none) and both connections are reset: the server sees a torn
 *     request, the client a reset;</li>
 * <li>{@link Fault#RESET_RESPONSE}: the request is forwarded, the server answers, and the
 *     client gets only part of the answer (cut at a random byte) before the reset;</li>
 * <li>{@link Fault#LOST_RESPONSE}: the request is forwarded and answered (a write is stored),
 *     and the client's connection is reset without a byte of the answer;</li>
 * <li>{@link Fault#DELAY}: the server's answer is held for a random time between half the
 *     configured delay and all of it, then sent (if the client still waits);</li>
 * <li>{@link Fault#DEAD}: the server stops answering for a random time between half the
 *     configured period and all of it: connections are still accepted and requests read, but
 *     none is forwarded or answered; when the period ends, the held connections are reset.</li>
 * </ul>
 *
 * <p>The Host header and every other byte of a request are forwarded as the client sent them
 * (SigV4 signs the Host header with the proxy's port; the server checks the signature against
 * the header it receives, so that works). A thread per client connection; each forwarded request
 * goes over a new connection to the server, so a server that closes an idle connection never
 * shows up as a fault that was not injected. Requests and answers are framed by Content-Length
 * or chunked encoding (an answer with neither is read to its end); {@code Expect: 100-continue}
 * is answered by the proxy itself.
 */
final class FaultProxy implements AutoCloseable {
    enum Fault { SLOW_DOWN, RESET_REQUEST, RESET_RESPONSE, LOST_RESPONSE, DELAY, DEAD }

    /**
     * Per-request probabilities of each fault (their sum at most 1), the longest storm of 503s,
     * the longest delay of an answer and the longest period the server is dead.
     */
    record Rates(double slowDown, int stormMax, double resetRequest, double resetResponse, double lostResponse,
                 double delay, Duration delayMax, double dead, Duration deadMax) {
        Rates {
            double sum = slowDown + resetRequest + resetResponse + lostResponse + delay + dead;
            if (slowDown < 0 || resetRequest < 0 || resetResponse < 0 || lostResponse < 0 || delay < 0 || dead < 0 || sum > 1) {
                throw new IllegalArgumentException("fault rates must be >= 0 and sum to at most 1, got " + sum);
            }
            if (stormMax < 1) {
                throw new IllegalArgumentException("a storm is at least 1 answer, got " + stormMax);
            }
        }

        static Rates none() {
            return new Rates(0, 1, 0, 0, 0, 0, Duration.ZERO, 0, Duration.ZERO);
        }
    }

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final Random random;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fault-proxy");
        t.setDaemon(true);
        return t;
    });
    private volatile Rates rates;
    private volatile boolean closed;
    private final AtomicInteger stormLeft = new AtomicInteger();
    private final AtomicLong deadUntil = new AtomicLong(); // System.nanoTime() until which nothing is answered
    private final Object deadLock = new Object();
    private final Map<Fault, LongAdder> injected = new EnumMap<>(Fault.class);
    private final Map<Fault, LongAdder> onConditionalWrites = new EnumMap<>(Fault.class);
    final LongAdder requests = new LongAdder();
    private final AtomicLong requestNumber = new AtomicLong();
    final LongAdder storms = new LongAdder();
    final LongAdder heldByDeadServer = new LongAdder();

    FaultProxy(InetSocketAddress upstream, Rates rates, long seed) throws IOException {
        this.upstream = upstream;
        this.rates = rates;
        this.random = new Random(seed);
        for (Fault f : Fault.values()) {
            injected.put(f, new LongAdder());
            onConditionalWrites.put(f, new LongAdder());
        }
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
        pool.submit(this::acceptLoop);
    }

    /** The URL clients use instead of the server's. */
    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Changes the rates from the next request on ({@link Rates#none()}: a plain proxy). */
    void rates(Rates r) {
        this.rates = r;
    }

    /** Faults injected so far, by kind (a storm counts each 503 it answered; a dead period once). */
    Map<Fault, Long> injected() {
        Map<Fault, Long> m = new EnumMap<>(Fault.class);
        injected.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    /**
     * Of the requests that met a fault, the conditional writes ({@code If-Match} or
     * {@code If-None-Match}: ROOT, manifests, chunks), by kind; for a dead server, the ones it held.
     */
    Map<Fault, Long> onConditionalWrites() {
        Map<Fault, Long> m = new EnumMap<>(Fault.class);
        onConditionalWrites.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                pool.submit(() -> serve(client));
            } catch (IOException e) {
                return;
            } catch (java.util.concurrent.RejectedExecutionException e) {
                return;
            }
        }
    }

    private double roll() {
        synchronized (random) {
            return random.nextDouble();
        }
    }

    private long between(long lo, long hi) {
        synchronized (random) {
            return hi <= lo ? lo : lo + (long) (random.nextDouble() * (hi - lo));
        }
    }

    private final Map<Long, Fault> forced = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Injects {@code f} into the {@code n}th request (counting from 1), whatever the rates say, so
     * that a short run meets every kind of fault.
     */
    void force(long n, Fault f) {
        forced.put(n, f);
    }

    private final AtomicInteger rootWritesUntilUnknown = new AtomicInteger();
    private volatile Duration unknownDead = Duration.ZERO;

    /**
     * The {@code nth} conditional write of ROOT from now on is stored, its answer lost, and the
     * server then plays dead for {@code dead}: long enough that the client cannot read ROOT back,
     * the one case where a commit's fate stays unknown to the writer.
     */
    void loseRootWriteThenDie(int nth, Duration dead) {
        unknownDead = dead;
        rootWritesUntilUnknown.set(nth);
    }

    private boolean isRootWrite(Message req) {
        return req.conditional && req.firstLine.startsWith("PUT ") && req.firstLine.split(" ")[1].split("\\?")[0].endsWith("/ROOT");
    }

    /** What happens to request number {@code n}. */
    private Fault decide(long n) {
        Fault f = forced.remove(n);
        if (System.nanoTime() - deadUntil.get() < 0 || stormLeft.getAndUpdate(k -> Math.max(0, k - 1)) > 0) {
            if (f != null) {
                forced.put(n + 1, f); // a forced fault waits for the next request the server would answer
            }
            return System.nanoTime() - deadUntil.get() < 0 ? Fault.DEAD : Fault.SLOW_DOWN;
        }
        Rates r = rates;
        double x = f == null ? roll() : 2;
        if (f == Fault.SLOW_DOWN || (x -= r.slowDown()) < 0) {
            storms.increment();
            stormLeft.set((int) between(0, r.stormMax())); // this request is the storm's first answer
            return Fault.SLOW_DOWN;
        }
        if (f == Fault.DEAD) {
            startDeadPeriod(r);
            return f;
        }
        if (f != null) {
            return f;
        }
        if ((x -= r.resetRequest()) < 0) {
            return Fault.RESET_REQUEST;
        }
        if ((x -= r.resetResponse()) < 0) {
            return Fault.RESET_RESPONSE;
        }
        if ((x -= r.lostResponse()) < 0) {
            return Fault.LOST_RESPONSE;
        }
        if ((x -= r.delay()) < 0) {
            return Fault.DELAY;
        }
        if ((x -= r.dead()) < 0) {
            startDeadPeriod(r);
            return Fault.DEAD;
        }
        return null;
    }

    private void startDeadPeriod(Rates r) {
        synchronized (deadLock) {
            if (System.nanoTime() - deadUntil.get() >= 0) { // not already dead: a new period
                long ms = between(r.deadMax().toMillis() / 2, r.deadMax().toMillis());
                deadUntil.set(System.nanoTime() + ms * 1_000_000);
                injected.get(Fault.DEAD).increment();
            }
        }
    }

    private void serve(Socket client) {
        try (client) {
            client.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(client.getInputStream(), 64 * 1024);
            OutputStream out = client.getOutputStream();
            while (!closed) {
                Message req = Message.read(in, null);
                if (req == null) {
                    return; // the client closed its connection
                }
                requests.increment();
                long n = requestNumber.incrementAndGet();
                if (req.expectsContinue) {
                    out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
                Fault f = decide(n);
                boolean thenDie = f == null && isRootWrite(req)
                        && rootWritesUntilUnknown.getAndUpdate(k -> Math.max(0, k - 1)) == 1;
                if (thenDie) {
                    f = Fault.LOST_RESPONSE;
                }
                if (f != null && req.conditional) {
                    onConditionalWrites.get(f).increment();
                }
                if (f == Fault.DEAD) {
                    heldByDeadServer.increment();
                    long left;
                    while ((left = deadUntil.get() - System.nanoTime()) > 0 && !closed) {
                        Thread.sleep(Math.max(1, Math.min(500, left / 1_000_000)));
                    }
                    reset(client);
                    return;
                }
                if (f == Fault.SLOW_DOWN) {
                    injected.get(f).increment();
                    out.write(slowDown(req.isHead()));
                    out.flush();
                    if (req.closeAfter) {
                        return;
                    }
                    continue;
                }
                if (f == Fault.RESET_REQUEST) {
                    injected.get(f).increment();
                    try (Socket up = connect()) {
                        byte[] raw = req.raw();
                        int cut = req.bodyLength > 0 ? req.headLength + req.bodyLength / 2 : req.headLength / 2;
                        up.getOutputStream().write(raw, 0, Math.max(1, cut));
                        up.getOutputStream().flush();
                        reset(up);
                    }
                    reset(client);
                    return;
                }
                Message resp;
                try (Socket up = connect()) {
                    up.getOutputStream().write(req.raw());
                    up.getOutputStream().flush();
                    InputStream upIn = new BufferedInputStream(up.getInputStream(), 64 * 1024);
                    resp = Message.read(upIn, req);
                    while (resp != null && resp.status >= 100 && resp.status < 200) {
                        resp = Message.read(upIn, req); // no Expect was forwarded; a stray 1xx is dropped
                    }
                }
                if (resp == null) {
                    reset(client); // the server closed without an answer: the client sees what a direct client would
                    return;
                }
                byte[] raw = resp.raw();
                if (f == Fault.LOST_RESPONSE) {
                    injected.get(f).increment();
                    if (thenDie) {
                        synchronized (deadLock) {
                            deadUntil.set(System.nanoTime() + unknownDead.toNanos());
                            injected.get(Fault.DEAD).increment();
                        }
                    }
                    reset(client);
                    return;
                }
                if (f == Fault.RESET_RESPONSE) {
                    injected.get(f).increment();
                    out.write(raw, 0, (int) between(1, raw.length));
                    out.flush();
                    reset(client);
                    return;
                }
                if (f == Fault.DELAY) {
                    injected.get(f).increment();
                    Thread.sleep(between(rates.delayMax().toMillis() / 2, rates.delayMax().toMillis()));
                }
                out.write(raw);
                out.flush();
                if (req.closeAfter || resp.closeAfter) {
                    return;
                }
            }
        } catch (IOException | InterruptedException e) {
            // the connection ended (the client gave up, or the proxy closed)
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(upstream, 5000);
        s.setTcpNoDelay(true);
        return s;
    }

    /** Closes with RST instead of FIN, as a reset connection looks to the other side. */
    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
            s.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    private static byte[] slowDown(boolean head) {
        String body = head ? "" : "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
                + "<Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>";
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head0 = "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: "
                + (head ? 0 : b.length) + "\r\nRetry-After: 1\r\n\r\n";
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(head0.getBytes(StandardCharsets.US_ASCII));
        o.writeBytes(b);
        return o.toByteArray();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        pool.shutdownNow();
    }

    /**
     * One HTTP/1.1 request or response as it came over the wire: its bytes (head and body,
     * framing included) and what the proxy needs to know about it.
     */
    private static final class Message {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        String method;
        int status;
        int headLength;
        int bodyLength;
        boolean closeAfter;
        boolean expectsContinue;
        boolean conditional;
        String firstLine;

        byte[] raw() {
            return bytes.toByteArray();
        }

        boolean isHead() {
            return "HEAD".equals(method);
        }

        /**
         * Reads a request ({@code request} null) or the response to {@code request}; null at the end of
         * the stream before the first byte.
         */
        static Message read(InputStream in, Message request) throws IOException {
            Message m = new Message();
            String first = line(in, m.bytes, true);
            if (first == null) {
                return null;
            }
            m.firstLine = first;
            if (request == null) {
                m.method = first.split(" ", 2)[0];
            } else {
                String[] parts = first.split(" ", 3);
                if (parts.length < 2) {
                    throw new IOException("bad status line " + first);
                }
                m.status = Integer.parseInt(parts[1]);
            }
            long contentLength = -1;
            boolean chunked = false;
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            head.writeBytes(m.bytes.toByteArray());
            m.bytes.reset();
            for (String h; !(h = line(in, head, false)).isEmpty(); ) {
                int colon = h.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = h.substring(colon + 1).trim();
                switch (name) {
                    case "content-length" -> contentLength = Long.parseLong(value);
                    case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                    case "connection" -> m.closeAfter |= value.equalsIgnoreCase("close");
                    case "if-match", "if-none-match" -> m.conditional = request == null;
                    case "expect" -> {
                        if (value.equalsIgnoreCase("100-continue")) {
                            m.expectsContinue = true;
                            continue; // not forwarded: the proxy has answered it
                        }
                    }
                    default -> {
                    }
                }
            }
            byte[] headBytes = head.toByteArray();
            if (m.expectsContinue) {
                headBytes = stripExpect(headBytes);
            }
            m.bytes.writeBytes(headBytes);
            m.headLength = headBytes.length;
            boolean noBody = request != null && (request.isHead() || m.status / 100 == 1 || m.status == 204 || m.status == 304);
            if (noBody) {
                return m;
            }
            if (chunked) {
                while (true) {
                    String size = line(in, m.bytes, false);
                    int semi = size.indexOf(';');
                    long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                    if (n == 0) {
                        for (String t; !(t = line(in, m.bytes, false)).isEmpty(); ) {
                            // trailers
                        }
                        break;
                    }
                    copy(in, m.bytes, n);
                    line(in, m.bytes, false);
                }
            } else if (contentLength >= 0) {
                copy(in, m.bytes, contentLength);
            } else if (request != null) {
                in.transferTo(m.bytes); // a response framed by the end of the connection
                m.closeAfter = true;
            }
            m.bodyLength = m.bytes.size() - m.headLength;
            return m;
        }

        private static byte[] stripExpect(byte[] head) {
            String s = new String(head, StandardCharsets.ISO_8859_1);
            return s.replaceAll("(?im)^expect:[^\r\n]*\r\n", "").getBytes(StandardCharsets.ISO_8859_1);
        }

        /** One CRLF-terminated line, also appended (with its CRLF) to {@code raw}; null at EOF before any byte if allowed. */
        private static String line(InputStream in, ByteArrayOutputStream raw, boolean eofOk) throws IOException {
            StringBuilder sb = new StringBuilder();
            int c;
            boolean any = false;
            while ((c = in.read()) >= 0) {
                any = true;
                raw.write(c);
                if (c == '\n') {
                    int len = sb.length();
                    return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
                }
                sb.append((char) c);
                if (sb.length() > 64 * 1024) {
                    throw new IOException("header line too long");
                }
            }
            if (!any && eofOk) {
                return null;
            }
            throw new EOFException("connection closed in the middle of a message");
        }

        private static void copy(InputStream in, ByteArrayOutputStream out, long n) throws IOException {
            byte[] buf = new byte[64 * 1024];
            while (n > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, n));
                if (r < 0) {
                    throw new EOFException("connection closed in the middle of a body");
                }
                out.write(buf, 0, r);
                n -= r;
            }
        }
    }
}

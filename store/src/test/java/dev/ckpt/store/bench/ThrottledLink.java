package dev.ckpt.store.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;

/**
 * A network link of a fixed bandwidth in front of the benchmark's S3 server: a TCP proxy on
 * loopback whose connections share one byte budget per direction (a token bucket of
 * {@code bytesPerSecond}, 1 MiB deep unless given), as the streams of one machine share its NIC. With it
 * the PUT limit is the link, as it is against S3 over a network, instead of the CPU that a
 * loopback server shares with the client. Benchmark harness, and the trainer's tests of
 * deadline-aware preemption (with a shallow bucket, so that a small save is slow too).
 */
public final class ThrottledLink implements AutoCloseable {
    private final ServerSocket server;
    private final int upstreamPort;
    private final Bucket up;
    private final Bucket down;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "throttled-link");
        t.setDaemon(true);
        return t;
    });

    public ThrottledLink(int upstreamPort, long bytesPerSecond) throws IOException {
        this(upstreamPort, bytesPerSecond, 1 << 20);
    }

    /** A link whose bucket holds {@code depthBytes}: the burst that passes at once after an idle time. */
    public ThrottledLink(int upstreamPort, long bytesPerSecond, long depthBytes) throws IOException {
        this.upstreamPort = upstreamPort;
        this.up = new Bucket(bytesPerSecond, depthBytes);
        this.down = new Bucket(bytesPerSecond, depthBytes);
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        pool.submit(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                pool.submit(() -> pump(client, upstream, up));
                pool.submit(() -> pump(upstream, client, down));
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
            }
        }
    }

    private static void pump(Socket from, Socket to, Bucket bucket) {
        byte[] buf = new byte[64 << 10];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                bucket.take(n);
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            // either side went away: close both
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** A token bucket: {@link #take} waits until the link has carried the bytes at its rate. */
    private static final class Bucket {
        private final double bytesPerNano;
        private final double depth;
        private double tokens;
        private long last = System.nanoTime();

        Bucket(long bytesPerSecond, long depthBytes) {
            this.bytesPerNano = bytesPerSecond / 1e9;
            this.depth = depthBytes;
            this.tokens = depth;
        }

        void take(int n) {
            long waitNanos;
            synchronized (this) {
                long now = System.nanoTime();
                tokens = Math.min(depth, tokens + (now - last) * bytesPerNano);
                last = now;
                tokens -= n; // may go negative: the debt is paid by waiting, in order of arrival
                waitNanos = tokens >= 0 ? 0 : (long) (-tokens / bytesPerNano);
            }
            if (waitNanos > 0) {
                LockSupport.parkNanos(waitNanos);
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        pool.shutdownNow();
    }
}

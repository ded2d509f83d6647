package dev.ckpt.store.bench;

import dev.ckpt.store.objectstore.s3.S3ProxyServer;

import java.nio.file.Path;

/**
 * Runs the test S3 server (S3Proxy, filesystem-backed) as its own process for the S3
 * benchmark: prints {@code READY <port>} and serves until its standard input closes.
 * Usage: {@code S3ProxyMain DIR BUCKET...}; with {@code -DlinkMBps=N} the port is a
 * {@link ThrottledLink} of N MB/s in front of the server.
 */
public final class S3ProxyMain {
    public static void main(String[] args) throws Exception {
        try (S3ProxyServer server = S3ProxyServer.start(Path.of(args[0]))) {
            for (int i = 1; i < args.length; i++) {
                server.createBucket(args[i]);
            }
            int port = server.endpoint().getPort();
            long linkMBps = Long.getLong("linkMBps", 0); // > 0: clients reach the server through a link of this rate
            ThrottledLink link = linkMBps > 0 ? new ThrottledLink(port, linkMBps * 1_000_000) : null;
            System.out.println("READY " + (link != null ? link.port() : port));
            System.out.flush();
            while (System.in.read() >= 0) {
                // serve until the parent goes away
            }
            if (link != null) {
                link.close();
            }
        }
        System.exit(0);
    }
}

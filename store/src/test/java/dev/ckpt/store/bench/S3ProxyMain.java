package dev.ckpt.store.bench;

import dev.ckpt.store.objectstore.s3.S3ProxyServer;

import java.nio.file.Path;

/**
 * Runs the test S3 server (S3Proxy, filesystem-backed) as its own process for the S3
 * benchmark: prints {@code READY <port>} and serves until its standard input closes.
 * Usage: {@code S3ProxyMain DIR BUCKET...}
 */
public final class S3ProxyMain {
    public static void main(String[] args) throws Exception {
        try (S3ProxyServer server = S3ProxyServer.start(Path.of(args[0]))) {
            for (int i = 1; i < args.length; i++) {
                server.createBucket(args[i]);
            }
            System.out.println("READY " + server.endpoint().getPort());
            System.out.flush();
            while (System.in.read() >= 0) {
                // serve until the parent goes away
            }
        }
        System.exit(0);
    }
}

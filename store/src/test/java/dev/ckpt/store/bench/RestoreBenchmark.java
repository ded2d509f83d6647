package dev.ckpt.store.bench;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.FaultInjectingObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.RestoreResult;
import dev.ckpt.store.testing.BigCheckpoint;
import dev.ckpt.store.util.LocalFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

/**
 * Restore on the local-filesystem store: many small files, a large checkpoint of float32
 * shards, and a sparse file of few distinct chunks (GETs counted). Not a test: prints
 * numbers. Run:
 * {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.ckpt.store.bench.RestoreBenchmark -Dsmall=10000 -Dmb=256 -Dsparse=256}
 */
public final class RestoreBenchmark {
    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory(Path.of(System.getProperty("dir", System.getProperty("java.io.tmpdir"))), "ckpt-rbench");
        try {
            int small = Integer.getInteger("small", 10_000);
            int mb = Integer.getInteger("mb", 256);
            int sparse = Integer.getInteger("sparse", 256);
            int rounds = Integer.getInteger("rounds", 3);
            if (small > 0) {
                smallFiles(work.resolve("small"), small, rounds);
            }
            if (mb > 0) {
                big(work.resolve("big"), mb, rounds);
            }
            if (sparse > 0) {
                sparse(work.resolve("sparse"), sparse);
            }
        } finally {
            LocalFiles.deleteTree(work);
        }
    }

    private static StoreConfig config() {
        StoreConfig c = StoreConfig.defaults();
        return c.withIoConcurrency(Integer.getInteger("io", c.ioConcurrency()))
                .withMaxChunksInFlight(Integer.getInteger("inFlight", c.maxChunksInFlight()));
    }

    private static void smallFiles(Path work, int n, int rounds) throws IOException {
        Path src = work.resolve("src");
        Random rnd = new Random(1);
        byte[] data = new byte[100];
        for (int i = 0; i < n; i++) {
            rnd.nextBytes(data);
            Path p = src.resolve("d" + (i / 1000)).resolve("f" + i + ".bin");
            Files.createDirectories(p.getParent());
            Files.write(p, data);
        }
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.local(work.resolve("store")), config())) {
            WriterToken w = store.claimWriter("small");
            long t0 = System.nanoTime();
            SaveResult r = store.save(w, SaveRequest.of(src, "small", 1));
            System.out.printf("small files: %d x 100 B, save %.2f s%n", n, (System.nanoTime() - t0) / 1e9);
            for (int i = 0; i < rounds; i++) {
                Path out = work.resolve("out" + i);
                RestoreResult rr = store.restore(store.resolve(r.checkpointId()), out, List.of());
                System.out.printf("  restore into an empty directory: %.2f s (%d chunks downloaded)%n",
                        rr.time().toNanos() / 1e9, rr.chunksDownloaded());
            }
            RestoreResult again = store.restore(store.resolve(r.checkpointId()), work.resolve("out0"), List.of());
            System.out.printf("  restore over an identical copy: %.2f s (%d reused)%n", again.time().toNanos() / 1e9,
                    again.chunksReused());
        }
    }

    private static void big(Path work, int mb, int rounds) throws IOException {
        Path src = work.resolve("src");
        BigCheckpoint.write(src, mb, false);
        long bytes = BigCheckpoint.bytes(src);
        try (CheckpointStore store = CheckpointStore.open(ObjectStores.local(work.resolve("store")), config())) {
            WriterToken w = store.claimWriter("big");
            SaveResult r = store.save(w, SaveRequest.of(src, "big", 1));
            for (int i = 0; i < rounds; i++) {
                Path out = work.resolve("out" + i);
                RestoreResult rr = store.restore(store.resolve(r.checkpointId()), out, List.of());
                System.out.printf("big: %.0f MiB float32 shards, restore %.2f s (%.0f MiB/s)%n", bytes / 1048576.0,
                        rr.time().toNanos() / 1e9, bytes / 1048576.0 / (rr.time().toNanos() / 1e9));
                LocalFiles.deleteTree(out);
            }
        }
    }

    /** A file of {@code mb} MiB: 8 distinct 8 MiB chunks, the rest zeros (one chunk repeated). */
    private static void sparse(Path work, int mb) throws IOException {
        Path src = work.resolve("src");
        Files.createDirectories(src);
        Random rnd = new Random(2);
        try (FileChannel ch = FileChannel.open(src.resolve("sparse.bin"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] chunk = new byte[8 << 20];
            for (int i = 0; i < 7; i++) {
                rnd.nextBytes(chunk);
                ch.write(ByteBuffer.wrap(chunk), (long) i * mb / 7 << 20);
            }
            ch.truncate((long) mb << 20);
            ch.write(ByteBuffer.wrap(new byte[1]), ((long) mb << 20) - 1);
        }
        FaultInjectingObjectStore counted = new FaultInjectingObjectStore(ObjectStores.local(work.resolve("store")));
        try (CheckpointStore store = CheckpointStore.open(counted, config())) {
            SaveResult r = store.save(store.claimWriter("sparse"), SaveRequest.of(src, "sparse", 1));
            counted.resetCounts();
            RestoreResult rr = store.restore(store.resolve(r.checkpointId()), work.resolve("out"), List.of());
            System.out.printf("sparse: %d MiB file, %d distinct chunks; restore %.2f s, %d GETs (%d chunks downloaded)%n",
                    mb, store.manifest(store.resolve(r.checkpointId())).chunks().size(), rr.time().toNanos() / 1e9,
                    counted.count(FaultInjectingObjectStore.Op.GET), rr.chunksDownloaded());
        }
    }
}

package dev.ckpt.store.bench;

import com.github.luben.zstd.Zstd;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.Hashes;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures what the default zstd level should be: throughput (single core and all cores)
 * and ratio of SHA-256 + zstd on 8 MiB chunks of float32 tensors, as Adam-trained weights
 * and optimizer moments look (normal values, plus a share of exact zeros as in sparse
 * gradients' moments). Not a test: prints numbers. Run:
 * {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.ckpt.store.bench.CodecBenchmark}
 */
public final class CodecBenchmark {
    public static void main(String[] args) throws Exception {
        int chunk = 8 << 20;
        int chunks = Integer.getInteger("chunks", 16);
        List<byte[]> data = new ArrayList<>();
        Random rnd = new Random(42);
        for (int c = 0; c < chunks; c++) {
            ByteBuffer b = ByteBuffer.allocate(chunk).order(ByteOrder.LITTLE_ENDIAN);
            boolean moments = c % 2 == 1;
            for (int i = 0; i < chunk / 4; i++) {
                float v = (float) (rnd.nextGaussian() * 0.02);
                if (moments) {
                    v = rnd.nextInt(10) == 0 ? 0f : v * v; // second moments: small, positive, some zeros
                }
                b.putFloat(v);
            }
            data.add(b.array());
        }
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf("data: %d x 8 MiB float32 chunks (weights and second moments), %d cores, zstd-jni %s%n",
                chunks, cores, Zstd.class.getPackage().getImplementationVersion());
        long total = (long) chunk * chunks;
        // SHA-256 alone
        double shaOne = run(data, 1, d -> Hashes.sha256Hex(d));
        System.out.printf("sha256 only             : %7.1f MB/s on 1 core%n", total / shaOne / 1e6);
        for (int level : new int[]{-1, 1, 3, 6}) {
            ChunkCodec codec = new ChunkCodec(level);
            long[] stored = new long[1];
            double one = run(data, 1, d -> codec.encode(d, 0, d.length));
            double all = run(data, cores, d -> {
                ChunkCodec.Encoded e = codec.encode(d, 0, d.length);
                synchronized (stored) {
                    stored[0] += e.stored().length;
                }
            }) ;
            stored[0] /= 3;
            System.out.printf("sha256+zstd level %2d   : %7.1f MB/s on 1 core, %7.1f MB/s on %d cores, ratio %.3f%n",
                    level, total / one / 1e6, total / all / 1e6, cores, (double) stored[0] / total);
        }
    }

    interface Work {
        void accept(byte[] d) throws Exception;
    }

    /** Best of three runs, in seconds. */
    private static double run(List<byte[]> data, int threads, Work w) throws Exception {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            best = Math.min(best, once(data, threads, w));
        }
        return best;
    }

    private static double once(List<byte[]> data, int threads, Work w) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long t0 = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (byte[] d : data) {
            fs.add(pool.submit(() -> {
                w.accept(d);
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();
        return (System.nanoTime() - t0) / 1e9;
    }
}

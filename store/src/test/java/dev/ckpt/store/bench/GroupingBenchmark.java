package dev.ckpt.store.bench;

import dev.ckpt.store.chunk.ByteGrouping;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Measures byte-grouped compression against plain zstd on a real checkpoint directory, cut
 * as a save cuts it: stored/raw and single-core throughput of SHA-256 + (grouping) + zstd.
 * Not a test: prints numbers. Run (data from bench/gen_ckpt or any safetensors directory):
 * {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.ckpt.store.bench.GroupingBenchmark -Ddir=/tmp/ckpt-perf/data/v1 -Dlevels=1,3}
 */
public final class GroupingBenchmark {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(System.getProperty("dir", "/tmp/ckpt-perf/data/v1"));
        Chunker chunker = new Chunker(Chunker.DEFAULT_CHUNK_SIZE);
        List<byte[]> chunks = new ArrayList<>();
        List<Integer> widths = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                for (Chunker.Piece p : chunker.pieces(f, ch.size())) {
                    ByteBuffer b = ByteBuffer.allocate(p.length());
                    while (b.hasRemaining() && ch.read(b, p.offset() + b.position()) > 0) {
                        // read fully
                    }
                    chunks.add(b.array());
                    widths.add(p.groupWidth());
                }
            }
        }
        long total = chunks.stream().mapToLong(c -> c.length).sum();
        long grouped = widths.stream().filter(w -> w > 1).count();
        System.out.printf("data: %s, %d files, %d chunks (%d byte-grouped), %.1f MB%n", dir, files.size(), chunks.size(),
                grouped, total / 1e6);
        tune(chunks, widths, total);
        byte[] scratch = new byte[Chunker.DEFAULT_CHUNK_SIZE];
        double t = best(() -> {
            for (int i = 0; i < chunks.size(); i++) {
                if (widths.get(i) > 1) {
                    ByteGrouping.group(chunks.get(i), 0, chunks.get(i).length, widths.get(i), scratch);
                }
            }
        });
        System.out.printf("grouping only            : %7.1f MB/s per core-second%n", total / t / 1e6);
        t = best(() -> chunks.forEach(Hashes::sha256Hex));
        System.out.printf("sha256 only              : %7.1f MB/s per core-second%n", total / t / 1e6);
        for (String l : System.getProperty("levels", "1").split(",")) {
            int level = Integer.parseInt(l.trim());
            ChunkCodec codec = new ChunkCodec(level);
            for (boolean group : new boolean[]{false, true}) {
                long[] stored = new long[1];
                double secs = best(() -> {
                    stored[0] = 0;
                    for (int i = 0; i < chunks.size(); i++) {
                        byte[] c = chunks.get(i);
                        String hash = Hashes.sha256Hex(c);
                        stored[0] += codec.encode(hash, c, 0, c.length, group ? widths.get(i) : 1).length();
                    }
                });
                System.out.printf("sha256+zstd %2d %-9s : %7.1f MB/s per core-second, stored/raw %.4f%n", level,
                        group ? "grouped" : "plain", total / secs / 1e6, (double) stored[0] / total);
            }
        }
        stages(chunks, widths, total);
    }

    /**
     * The save's and the restore's CPU stages one by one, with the default codec (zstd 1,
     * grouped where the save groups): compress alone (grouping + zstd, the hash given), and
     * decode (zstd + ungrouping + the SHA-256 check of the chunk), in core-seconds per GB
     * too, the unit of the stage costs in docs/benchmarks.md.
     */
    static void stages(List<byte[]> chunks, List<Integer> widths, long total) throws Exception {
        ChunkCodec codec = new ChunkCodec(ChunkCodec.DEFAULT_LEVEL);
        String anyHash = "0".repeat(64);
        double secs = best(() -> {
            for (int i = 0; i < chunks.size(); i++) {
                byte[] c = chunks.get(i);
                codec.encode(anyHash, c, 0, c.length, widths.get(i));
            }
        });
        System.out.printf("compress (group + zstd)  : %7.1f MB/s per core-second, %.2f core-s/GB%n", total / secs / 1e6,
                secs / (total / 1e9));
        List<ChunkCodec.Encoded> stored = new ArrayList<>();
        for (int i = 0; i < chunks.size(); i++) {
            byte[] c = chunks.get(i);
            ChunkCodec.Encoded e = codec.encode(Hashes.sha256Hex(c), c, 0, c.length, widths.get(i));
            stored.add(new ChunkCodec.Encoded(e.ref(), e.stored(), e.length()));
        }
        secs = best(() -> {
            for (ChunkCodec.Encoded e : stored) {
                ChunkCodec.decodeReusing(e.ref(), e.buffer());
            }
        });
        System.out.printf("decode (zstd + ungroup + sha256 check): %7.1f MB/s per core-second, %.2f core-s/GB%n",
                total / secs / 1e6, secs / (total / 1e9));
    }

    /** zstd parameter variants on grouped chunks: -Dtune=targetLength:minMatch:hashLog,... */
    static void tune(List<byte[]> chunks, List<Integer> widths, long total) throws Exception {
        String spec = System.getProperty("tune", "");
        if (spec.isEmpty()) {
            return;
        }
        byte[] g = new byte[Chunker.DEFAULT_CHUNK_SIZE];
        byte[] dst = new byte[(int) com.github.luben.zstd.Zstd.compressBound(Chunker.DEFAULT_CHUNK_SIZE)];
        for (String v : spec.split(",")) {
            String[] p = v.split(":");
            com.github.luben.zstd.ZstdCompressCtx ctx = new com.github.luben.zstd.ZstdCompressCtx();
            ctx.setLevel(1);
            ctx.setChecksum(true);
            ctx.setContentSize(true);
            if (!p[0].equals("-")) ctx.setTargetLength(Integer.parseInt(p[0]));
            if (p.length > 1 && !p[1].equals("-")) ctx.setMinMatch(Integer.parseInt(p[1]));
            if (p.length > 2 && !p[2].equals("-")) ctx.setHashLog(Integer.parseInt(p[2]));
            long[] stored = new long[1];
            double secs = best(() -> {
                stored[0] = 0;
                for (int i = 0; i < chunks.size(); i++) {
                    byte[] c = chunks.get(i);
                    Hashes.sha256Hex(c);
                    byte[] in = c;
                    if (widths.get(i) > 1) {
                        ByteGrouping.group(c, 0, c.length, widths.get(i), g);
                        in = g;
                    }
                    stored[0] += Math.min(c.length, ctx.compressByteArray(dst, 0, dst.length, in, 0, c.length));
                }
            });
            System.out.printf("grouped tune %-12s: %7.1f MB/s per core-second, stored/raw %.4f%n", v, total / secs / 1e6,
                    (double) stored[0] / total);
        }
    }

    interface Work {
        void run() throws Exception;
    }

    private static double best(Work w) throws Exception {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < Integer.getInteger("reps", 2); i++) {
            // CPU time of this thread, not wall time: the machine is shared, a core's work is what counts
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            long t0 = mx.getCurrentThreadCpuTime();
            w.run();
            best = Math.min(best, (mx.getCurrentThreadCpuTime() - t0) / 1e9);
        }
        return best;
    }
}

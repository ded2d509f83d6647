package dev.ckpt.store.bench;

import dev.ckpt.store.testing.ChildClasspath;
import dev.ckpt.store.chunk.ByteGrouping;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The byte-grouping loop's speed in a fresh JVM (as in a {@code ckpt-tool} run, where the
 * loop runs interpreted and C1-compiled until C2 catches up) and warm, for
 * {@link ByteGrouping} (block by block, one pass per byte position) against the loop it
 * replaced ({@link #ungroupPerElement}: all four bytes of an element stored per iteration). Cold: a new JVM per sample groups or ungroups
 * 1 GiB (128 chunks of 8 MiB) on 2 threads, seconds. Warm: MB/s on one thread after
 * warm-up. Not a test: prints numbers. Run:
 * {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.ckpt.store.bench.GroupingLoopBenchmark}
 * ({@code -Drepeat=3}).
 */
public final class GroupingLoopBenchmark {
    private static final int CHUNK = 8 << 20;

    public static void main(String[] a) throws Exception {
        if (a.length == 2) {
            cold(a[0], a[1]);
            return;
        }
        int repeat = Integer.getInteger("repeat", 3);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        System.out.println("| loop | ungroup cold, 1 GiB on 2 threads (s) | group cold (s) | ungroup warm (MB/s) | group warm (MB/s) |");
        System.out.println("|---|---|---|---|---|");
        for (String loop : List.of("per-element", "blocked per-position")) {
            List<String> cells = new ArrayList<>();
            for (String op : List.of("ungroup", "group")) {
                List<String> s = new ArrayList<>();
                for (int r = 0; r < repeat; r++) {
                    Process p = new ProcessBuilder(java, "-cp", ChildClasspath.get(),
                            GroupingLoopBenchmark.class.getName(), loop, op).redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                    if (p.waitFor() != 0) {
                        throw new IllegalStateException(out);
                    }
                    s.add(out);
                }
                cells.add(String.join(" / ", s));
            }
            cells.add(warm(loop, true));
            cells.add(warm(loop, false));
            System.out.printf("| %s | %s |%n", loop, String.join(" | ", cells));
        }
    }

    private static void cold(String loop, String op) throws Exception {
        byte[] src = new byte[CHUNK];
        new Random(1).nextBytes(src);
        long t0 = System.nanoTime();
        ExecutorService ex = Executors.newFixedThreadPool(2);
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            fs.add(ex.submit(() -> {
                byte[] dst = new byte[CHUNK];
                for (int j = 0; j < 64; j++) {
                    run(loop, op.equals("ungroup"), src, dst);
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        ex.shutdown();
        System.out.printf(Locale.ROOT, "%.2f%n", (System.nanoTime() - t0) / 1e9);
    }

    private static String warm(String loop, boolean ungroup) {
        byte[] src = new byte[CHUNK];
        new Random(2).nextBytes(src);
        byte[] dst = new byte[CHUNK];
        double best = 0;
        for (int r = 0; r < 6; r++) {
            long t0 = System.nanoTime();
            for (int j = 0; j < 32; j++) {
                run(loop, ungroup, src, dst);
            }
            best = Math.max(best, 32.0 * CHUNK / 1e6 / ((System.nanoTime() - t0) / 1e9));
        }
        return String.format(Locale.ROOT, "%.0f", best);
    }

    private static void run(String loop, boolean ungroup, byte[] src, byte[] dst) {
        if (loop.equals("blocked per-position")) {
            if (ungroup) {
                ByteGrouping.ungroup(src, src.length, 4, dst);
            } else {
                ByteGrouping.group(src, 0, src.length, 4, dst);
            }
        } else if (ungroup) {
            ungroupPerElement(src, src.length, dst);
        } else {
            groupPerElement(src, src.length, dst);
        }
    }

    /** The ungroup loop before 2026-12-01, for width 4: the four bytes of an element per iteration. */
    static void ungroupPerElement(byte[] src, int n, byte[] dst) {
        int m = n / 4;
        for (int i = 0, d = 0; i < m; i++, d += 4) {
            dst[d] = src[i];
            dst[d + 1] = src[m + i];
            dst[d + 2] = src[2 * m + i];
            dst[d + 3] = src[3 * m + i];
        }
        System.arraycopy(src, m * 4, dst, m * 4, n - m * 4);
    }

    /** The group loop before 2026-12-01, for width 4. */
    static void groupPerElement(byte[] src, int n, byte[] dst) {
        int m = n / 4;
        for (int i = 0, s = 0; i < m; i++, s += 4) {
            dst[i] = src[s];
            dst[m + i] = src[s + 1];
            dst[2 * m + i] = src[s + 2];
            dst[3 * m + i] = src[s + 3];
        }
        System.arraycopy(src, m * 4, dst, m * 4, n - m * 4);
    }
}

package dev.ckpt.store.bench;

import dev.ckpt.store.testing.ChildClasspath;
import dev.ckpt.store.commit.MemoryBoundChild;
import dev.ckpt.store.util.LocalFiles;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Peak heap of a save and of a restore against the checkpoint's size (issue 12: "peak heap
 * for a 1 GiB and an 8 GiB checkpoint the same, in a 256 MiB heap"). Each repetition is a
 * fresh JVM with {@code -Xmx} (default 256m) running {@link MemoryBoundChild}: a sparse
 * checkpoint of 4 files, every 8 MiB chunk distinct, saved with the default configuration
 * into a local store, then restored into a new directory. Prints, per size, the peak heap
 * of the save and of the restore (the sum of the heap pools' peaks, MB, which counts garbage
 * not yet collected), the largest heap in use just after a collection (MB), and the wall time.
 * Not a test: prints numbers. Run:
 * {@code mvn -q -pl store test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.ckpt.store.bench.HeapBoundBenchmark -Dgib=1,8 -Drepeat=3}
 * ({@code -Dxmx=256m}, {@code -Ddir=} for the scratch directory: it needs 2x the largest
 * size free, as the restore writes the zeros the source held sparse).
 */
public final class HeapBoundBenchmark {
    public static void main(String[] a) throws Exception {
        String xmx = System.getProperty("xmx", "256m");
        int repeat = Integer.getInteger("repeat", 3);
        Path base = Files.createTempDirectory(Path.of(System.getProperty("dir", System.getProperty("java.io.tmpdir"))),
                "ckpt-heap");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        System.out.printf("heap cap -Xmx%s, %d repetitions, each a fresh JVM (G1)%n", xmx, repeat);
        System.out.println("| checkpoint | save: peak heap / after GC (MB) | restore: peak heap / after GC (MB) | save + restore (s) |");
        System.out.println("|---|---|---|---|");
        try {
            for (String g : System.getProperty("gib", "1,8").split(",")) {
                List<String> saves = new ArrayList<>();
                List<String> restores = new ArrayList<>();
                List<String> secs = new ArrayList<>();
                for (int r = 0; r < repeat; r++) {
                    Path run = base.resolve(g + "-" + r);
                    long t0 = System.nanoTime();
                    Process p = new ProcessBuilder(java, "-Xmx" + xmx, "-XX:+UseG1GC", "-cp",
                            ChildClasspath.get(), MemoryBoundChild.class.getName(),
                            run.resolve("src").toString(), run.resolve("store").toString(), g.trim(),
                            run.resolve("back").toString()).redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    if (p.waitFor() != 0) {
                        throw new IllegalStateException("the child for " + g + " GiB failed:\n" + out);
                    }
                    secs.add(String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9));
                    for (String line : out.lines().toList()) {
                        String[] f = line.split(" ");
                        if (f[0].equals("saved")) {
                            saves.add(mb(f[3]) + " / " + mb(f[f.length - 1]));
                        } else if (f[0].equals("restored")) {
                            restores.add(mb(f[2]) + " / " + mb(f[f.length - 1]));
                        }
                    }
                    LocalFiles.deleteTree(run);
                }
                System.out.printf("| %s GiB | %s | %s | %s |%n", g.trim(), String.join(", ", saves),
                        String.join(", ", restores), String.join(" / ", secs));
            }
        } finally {
            LocalFiles.deleteTree(base);
        }
    }

    private static String mb(String bytes) {
        return String.format(Locale.ROOT, "%.1f", Long.parseLong(bytes) / 1e6);
    }
}

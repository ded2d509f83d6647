package dev.ckpt.store.commit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The save pipeline's memory is bounded by the chunks in flight, not by the checkpoint:
 * an 8 GiB checkpoint (sparse, every 8 MiB chunk distinct, so all 1,024 are compressed and
 * uploaded) saves with the default configuration in a JVM whose heap is 128 MiB. A save
 * that kept chunk data per chunk, or sized its buffers by the checkpoint, would run out of
 * memory here.
 */
class PipelineMemoryBoundTest {
    @TempDir
    Path tmp;

    @Test
    void anEightGibCheckpointSavesInA128MibHeap() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseG1GC", "-cp", System.getProperty("java.class.path"),
                MemoryBoundChild.class.getName(), tmp.resolve("src").toString(), tmp.resolve("store").toString(), "8")
                .redirectErrorStream(true).start();
        boolean ended = p.waitFor(10, TimeUnit.MINUTES);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!ended) {
            p.destroyForcibly();
        }
        assertTrue(ended, "the save did not end: " + out);
        assertEquals(0, p.exitValue(), out);
        String[] f = out.lines().filter(l -> l.startsWith("saved ")).findFirst().orElseThrow().split(" ");
        assertEquals(8L << 30, Long.parseLong(f[1]), out);
        assertEquals(1024, Integer.parseInt(f[2]), "every chunk distinct and uploaded: " + out);
        System.out.println("8 GiB save in a 128 MiB heap: " + out.strip());
    }
}

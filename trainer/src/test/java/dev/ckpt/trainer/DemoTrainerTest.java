package dev.ckpt.trainer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoTrainerTest {
    @TempDir
    Path tmp;

    private String run(Path dir, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] all = new String[args.length + 4];
        all[0] = "--store";
        all[1] = dir.resolve("store").toString();
        all[2] = "--staging";
        all[3] = dir.resolve("staging").toString();
        System.arraycopy(args, 0, all, 4, args.length);
        int code = DemoTrainer.run(all, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void resumingGivesBitIdenticalWeightsToAnUninterruptedRun() throws Exception {
        run(tmp.resolve("a"), "--steps", "120", "--save-every", "40", "--width", "32");
        String first = run(tmp.resolve("b"), "--steps", "80", "--save-every", "40", "--width", "32");
        assertTrue(first.contains("step 80"), first);
        String resumed = run(tmp.resolve("b"), "--steps", "120", "--save_every", "40", "--width", "32", "--auto_resume");
        assertTrue(resumed.contains("auto-resume: restored checkpoint demo-s80-"), resumed);
        for (String m : new String[]{"encoder", "adapter_llama", "adapter_qwen"}) {
            byte[] a = Files.readAllBytes(tmp.resolve("a/staging/demo-step120/" + m + ".safetensors"));
            byte[] b = Files.readAllBytes(tmp.resolve("b/staging/demo-step120/" + m + ".safetensors"));
            assertArrayEquals(a, b, m);
        }
    }

    @Test
    void lossDecreasesAndTensorFilesReadBack() throws Exception {
        String out = run(tmp, "--steps", "50", "--save-every", "50", "--width", "16", "--log-every", "10");
        double l10 = Double.parseDouble(out.lines().filter(l -> l.startsWith("step 10 ")).findFirst().orElseThrow().split("loss ")[1]);
        double l50 = Double.parseDouble(out.lines().filter(l -> l.startsWith("step 50 ")).findFirst().orElseThrow().split("loss ")[1]);
        assertTrue(l50 < l10 / 10, out);
        Map<String, float[]> enc = SafeTensors.read(tmp.resolve("staging/demo-step50/encoder.safetensors"));
        assertEquals(16 * 16, enc.get("encoder.weight").length);
    }

    @Test
    void frozenBlockIsUploadedOnceAcrossCheckpoints() {
        String out = run(tmp, "--steps", "30", "--save-every", "10", "--width", "16", "--frozen-mb", "2");
        // the frozen block (2 MiB) is new in the first save only; later saves upload only KiBs
        assertTrue(out.lines().anyMatch(l -> l.contains("saved checkpoint demo-s10-") && l.matches(".*new \\d+ chunks 2\\.\\d MiB.*")), out);
        out.lines().filter(l -> l.contains("saved checkpoint demo-s20-") || l.contains("saved checkpoint demo-s30-"))
                .forEach(l -> assertTrue(l.matches(".*new \\d+ chunks \\d+(\\.\\d)? KiB.*"), "only KiBs are new: " + l));
    }

    @Test
    void badOptionIsAUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = DemoTrainer.run(new String[]{"--steps", "many"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--steps needs a number"));
    }
}

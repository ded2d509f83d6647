package dev.ckpt.tools;

import dev.ckpt.store.chunk.ZstdLibrary;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * The training run of ckpt-tool's class-data-sharing archive (not a command). {@code bin/ckpt-tool}
 * runs it once after it builds the project, with {@code -XX:ArchiveClassesAtExit}: the JVM then
 * writes every class this run loaded into {@code tools/target/ckpt-tool.jsa}, and later runs map
 * them instead of loading, verifying and linking them from the jars. A push to S3 of a small file
 * took 2.4 s and 3.9 CPU seconds without the archive, 1.5 s and 2.3 with it (docs/benchmarks.md).
 *
 * <p>It runs the commands a user runs, in one JVM, on a throw-away local store (push, ls, show,
 * verify, restore, gc) and against an S3 endpoint on a closed loopback port, so that the S3
 * client is built and its requests are signed and sent (they are refused: no server is needed,
 * nothing leaves the machine). Every command's output is discarded; the exit code is 0 unless
 * the local round trip failed, which the launcher treats as "no archive".
 */
final class ClassDataTraining {
    private ClassDataTraining() {
    }

    /**
     * {@code args}: nothing, or zstd-jni's library file that the runs load ({@link ZstdLibrary}),
     * loaded here the way a run loads it (written first when it is missing or not as written), so
     * that the archive holds what a run loads.
     */
    public static void main(String[] args) throws IOException {
        if (args.length > 0) {
            System.setProperty(ZstdLibrary.PROPERTY, args[0]);
        }
        CkptTool.startQuickly();
        System.exit(run(Path.of(System.getProperty("java.io.tmpdir"))));
    }

    /**
     * Runs the commands in a new directory under {@code tmp}, removes it, and returns the exit
     * code (0, or 1 when the local round trip failed). The directory is removed before the JVM
     * exits: {@code System.exit} inside the {@code try} skipped the {@code finally}, and every
     * build left a directory of about 1 MB in /tmp.
     */
    static int run(Path tmp) throws IOException {
        Path work = Files.createTempDirectory(tmp, "ckpt-cds-training");
        try {
            PrintWriter none = new PrintWriter(Writer.nullWriter());
            Map<String, String> env = new HashMap<>(System.getenv());
            Path src = Files.createDirectories(work.resolve("src"));
            writeSafetensors(src.resolve("model.safetensors"));
            Files.writeString(src.resolve("config.json"), "{\"training\": true}\n");
            for (int i = 0; i < 3; i++) { // small files, packed together: a restore reads them in runs
                Files.writeString(src.resolve("rng-" + i + ".txt"), "state " + i + "\n");
            }
            String store = work.resolve("store").toString();
            int failures = 0;
            for (String[] cmd : new String[][]{
                    {"push", store, src.toString(), "--run", "t", "--step", "1", "--progress", "none"},
                    {"push", store, src.toString(), "--run", "t", "--step", "2", "--progress", "none", "--json"},
                    {"ls", store}, {"show", store, "t@2"}, {"verify", store, "--read-data"},
                    {"restore", store, "t@2", work.resolve("out").toString(), "--progress", "none"},
                    {"gc", store, "--grace", "0s"}}) {
                failures += CkptTool.execute(cmd, none, none, env) == 0 ? 0 : 1;
            }
            Map<String, String> s3 = new HashMap<>(env);
            s3.put("AWS_ENDPOINT_URL", "http://127.0.0.1:" + closedPort());
            s3.put("AWS_ACCESS_KEY_ID", "ckpt-class-data-training");
            s3.put("AWS_SECRET_ACCESS_KEY", "not-a-secret");
            s3.put("AWS_REGION", "us-east-1");
            s3.remove("AWS_ENDPOINT_URL_S3");
            for (String client : new String[]{"aws", "minio"}) { // refused connections: fails fast, nothing is sent anywhere
                s3.put("CKPT_S3_CLIENT", client);
                CkptTool.execute(new String[]{"ls", "s3://ckpt-class-data/training"}, none, none, s3);
                CkptTool.execute(new String[]{"push", "s3://ckpt-class-data/training", src.toString(), "--run", "t",
                        "--step", "1", "--progress", "none", "--deadline", "2s"}, none, none, s3);
            }
            return failures == 0 ? 0 : 1;
        } finally {
            try (var s = Files.walk(work)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException | java.io.UncheckedIOException e) {
                // best effort: a directory left in /tmp is no reason to give up the archive
            }
        }
    }

    /** A safetensors file with one F32 tensor and one BF16 tensor, so the grouped codecs load too. */
    private static void writeSafetensors(Path file) throws IOException {
        int n = 64 * 1024;
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[" + n + "],\"data_offsets\":[0," + 4 * n + "]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[" + n + "],\"data_offsets\":[" + 4 * n + "," + 6 * n + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 6 * n).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        Random r = new Random(1);
        while (buf.hasRemaining()) {
            buf.put((byte) r.nextInt(8));
        }
        Files.write(file, buf.array());
    }

    /** A loopback port nothing listens on (bound, then closed). */
    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}

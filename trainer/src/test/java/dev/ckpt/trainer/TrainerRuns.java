package dev.ckpt.trainer;

import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.restore.VerifyReport;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the trainer in this JVM or in a child JVM, and compares what runs committed. */
final class TrainerRuns {
    private TrainerRuns() {
    }

    record Result(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        String all() {
            return "stdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    /** A PrintStream that hands each complete line to {@code onLine} as it is printed. */
    static PrintStream lineWatcher(ByteArrayOutputStream sink, Consumer<String> onLine) {
        OutputStream os = new OutputStream() {
            private final ByteArrayOutputStream line = new ByteArrayOutputStream();

            @Override
            public synchronized void write(int b) {
                sink.write(b);
                if (b == '\n') {
                    onLine.accept(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                } else {
                    line.write(b);
                }
            }
        };
        return new PrintStream(os, true, StandardCharsets.UTF_8);
    }

    /** Runs in this JVM with a store opener (wrapping the object store) and a preemption the test can trigger. */
    static Result inProcess(Function<ObjectStore, ObjectStore> wrap, Preemption preemption, Consumer<String> onLine,
                            String... args) {
        return inProcess(Map.of(), wrap, preemption, onLine, args);
    }

    /** As above, with {@code env} as the trainer's environment (WORLD_SIZE, SLURM_PROCID, ...). */
    static Result inProcess(Map<String, String> env, Function<ObjectStore, ObjectStore> wrap, Preemption preemption,
                            Consumer<String> onLine, String... args) {
        return inProcess(env, wrap, Staging.FILE_STORE, preemption, onLine, args);
    }

    /** As above, with the staging directory's free space read by {@code freeSpace}. */
    static Result inProcess(Map<String, String> env, Function<ObjectStore, ObjectStore> wrap, Staging.FreeSpace freeSpace,
                            Preemption preemption, Consumer<String> onLine, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = lineWatcher(out, onLine == null ? l -> { } : onLine);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        TrainOptions opts;
        try {
            opts = TrainOptions.parse(args, env);
        } catch (IllegalArgumentException ex) {
            throw new AssertionError(ex);
        }
        Preemption p = preemption != null ? preemption : new Preemption(e);
        int code = Trainer.run(opts, o, e, url -> CheckpointStore.open(wrap.apply(ObjectStores.open(url)), StoreConfig.defaults()), p,
                freeSpace);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Result inProcess(String... args) {
        return inProcess(s -> s, null, null, args);
    }

    /** A trainer JVM ({@link TrainerChild}) with stdout and stderr lines in one queue, prefixed "out: " / "err: ". */
    static final class Child {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final StringBuffer transcript = new StringBuffer();

        Child(long writeLatencyMs, String... args) throws IOException {
            this(writeLatencyMs, Map.of(), args);
        }

        Child(long writeLatencyMs, Map<String, String> env, String... args) throws IOException {
            this(List.of(), writeLatencyMs, env, args);
        }

        /** Started by {@code launcher} (e.g. {@code env --default-signal=INT}), then java. */
        Child(List<String> launcher, long writeLatencyMs, Map<String, String> env, String... args) throws IOException {
            List<String> cmd = new ArrayList<>(launcher);
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xmx512m");
            for (Map.Entry<String, String> d : Djl.defaults().entrySet()) {
                cmd.add("-D" + d.getKey() + "=" + System.getProperty(d.getKey(), d.getValue()));
            }
            cmd.add("-Dckpt.test.writeLatencyMs=" + writeLatencyMs);
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(TrainerChild.class.getName());
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("OPT_OUT_TRACKING", "true");
            pb.environment().put("DJL_OFFLINE", "true");
            pb.environment().remove("SLURM_JOB_ID");
            pb.environment().remove("CKPT_ON_PREEMPT");
            pb.environment().putAll(env);
            process = pb.start();
            pump(process.getInputStream(), "out: ");
            pump(process.getErrorStream(), "err: ");
        }

        private void pump(java.io.InputStream in, String prefix) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        transcript.append(prefix).append(l).append('\n');
                        lines.add(prefix + l);
                    }
                } catch (IOException ignored) {
                    // the process was killed
                }
            });
            t.setDaemon(true);
            t.start();
        }

        /** Waits for a line matching {@code test}; fails after {@code seconds}. */
        String await(java.util.function.Predicate<String> test, int seconds, String what) throws InterruptedException {
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            while (System.nanoTime() < end) {
                String l = lines.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (l != null && test.test(l)) {
                    return l;
                }
                if (l == null && !process.isAlive() && lines.isEmpty()) {
                    break;
                }
            }
            throw new AssertionError("no line with " + what + " within " + seconds + " s; transcript:\n" + transcript);
        }

        void signal(String sig) throws IOException, InterruptedException {
            int rc = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start().waitFor();
            assertTrue(rc == 0, "kill -" + sig + " failed");
        }

        int waitFor(int seconds) throws InterruptedException {
            if (!process.waitFor(seconds, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("trainer did not exit within " + seconds + " s; transcript:\n" + transcript);
            }
            // let the pumps drain
            Thread.sleep(50);
            return process.exitValue();
        }
    }

    /** The bytes of every tensor file of the newest checkpoint of {@code run}, restored from the store. */
    static Map<String, byte[]> latestTensors(Path store, String run, Path scratch) throws IOException {
        try (CheckpointStore s = CheckpointStore.open(store.toString())) {
            var cps = s.list(run);
            Path dir = scratch.resolve("restored-" + System.nanoTime());
            s.restore(cps.get(cps.size() - 1), dir, List.of());
            return tensorFiles(dir);
        }
    }

    /** The tensor files (and state.json) of a checkpoint directory, by name. */
    static Map<String, byte[]> tensorFiles(Path dir) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (n.endsWith(".safetensors") || n.equals("state.json")) {
                    m.put(n, Files.readAllBytes(f));
                }
            }
        }
        return m;
    }

    /**
     * Every tensor of a restored checkpoint by name (whichever file and rank held it), and
     * state.json: the same map for a checkpoint of one process and one of N ranks when they
     * hold the same state.
     */
    static Map<String, byte[]> tensorsByName(Path dir) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            String n = f.getFileName().toString();
            if (n.endsWith(".safetensors")) {
                for (SafeTensors.Tensor t : SafeTensors.read(f).values()) {
                    byte[] b = new byte[t.data().remaining()];
                    t.data().duplicate().get(b);
                    org.junit.jupiter.api.Assertions.assertNull(m.put(t.name(), b), "tensor " + t.name() + " saved twice");
                }
            } else if (n.equals("state.json")) {
                org.junit.jupiter.api.Assertions.assertEquals(dir.resolve("state.json"), f, "state.json at the top only");
                m.put(n, Files.readAllBytes(f));
            }
        }
        return m;
    }

    /** {@link #tensorsByName} of the newest checkpoint of {@code run}, all parts restored. */
    static Map<String, byte[]> latestTensorsByName(Path store, String run, Path scratch) throws IOException {
        try (CheckpointStore s = CheckpointStore.open(store.toString())) {
            var cps = s.list(run);
            Path dir = scratch.resolve("restored-" + System.nanoTime());
            s.restore(cps.get(cps.size() - 1), dir, List.of());
            return tensorsByName(dir);
        }
    }

    /** Same file names, and every file byte-identical. */
    static void assertSameFiles(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        org.junit.jupiter.api.Assertions.assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> org.junit.jupiter.api.Assertions.assertArrayEquals(v, actual.get(k), k + " differs"));
    }

    /** Deep-verifies every checkpoint in the store. */
    static VerifyReport deepVerify(Path store) {
        try (CheckpointStore s = CheckpointStore.open(store.toString())) {
            return s.verify(VerifyRequest.deep());
        }
    }
}

package dev.ckpt.tools.torture;

import dev.ckpt.store.testing.ChildClasspath;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.CheckpointStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The torture harness: against one store, processes of every kind ({@link TortureChild}: two
 * writers of one run, a writer of another run, a GC loop with grace 0, a retention loop and a
 * reader) run at once while this process SIGKILLs one of them at a random moment, again and
 * again, and starts it anew. Each kill is a kill point. After every round of kills it pauses
 * them all and checks the store ({@link Checker}). Prints a line per round and a last line with
 * the figures; exits 1 when any invariant was broken, naming the round and its seed.
 *
 * <p>Run it with {@code bin/ckpt-torture --target local --kills 1000} (see docs/reliability.md).
 */
@Command(name = "ckpt-torture", mixinStandardHelpOptions = true,
        description = "SIGKILLs writers, GC, retention and readers of one store at random and checks its promises after every round.")
public final class Torture implements Callable<Integer> {
    @Option(names = "--target", defaultValue = "local", description = "local, s3proxy or rgw (default: ${DEFAULT-VALUE})")
    String target;

    @Option(names = "--kills", defaultValue = "1000", description = "kill points in all (default: ${DEFAULT-VALUE})")
    int kills;

    @Option(names = "--kills-per-round", defaultValue = "10", description = "kill points between two checks (default: ${DEFAULT-VALUE})")
    int killsPerRound;

    @Option(names = "--seed", description = "seed of the data and of every round's schedule (default: random, printed)")
    Long seed;

    @Option(names = "--round-seed", description = "run one round with this schedule seed (printed with a round's violations) on a fresh store")
    Long roundSeed;

    @Option(names = "--min-gap-ms", description = "shortest pause before a kill (default: 100 on local, 500 on S3 targets)")
    Integer minGapMs;

    @Option(names = "--max-gap-ms", description = "longest pause before a kill (default: 1500 on local, 5000 on S3 targets,"
            + " whose processes are slower: a save is a few hundred requests)")
    Integer maxGapMs;

    @Option(names = "--work", description = "working directory: the store, journals, staging (default: a new directory under target/)")
    Path work;

    @Option(names = "--keep", description = "keep the working directory even when no violation was found")
    boolean keep;

    @Option(names = "--sabotage", hidden = true,
            description = "self-test: add a process that deletes chunks of committed checkpoints; the run must report violations")
    boolean sabotage;

    @Option(names = "--classpath", description = "class path of the processes (default: this JVM's)")
    String classpath;

    PrintStream out = System.out;

    /** The figures of a run. */
    public record Report(String target, int rounds, int kills, int commits, int fenced, int claims, int restoresChecked,
                         int readerRestores, long gcDeleted, int gcRuns, int retentionDrops, Map<String, Integer> killsByRole,
                         Map<String, Integer> errors, List<String> violations, long seconds) {
        public String summary() {
            return String.format("torture target=%s rounds=%d kills=%d commits=%d fenced-refusals=%d claims=%d"
                            + " restores-checked=%d reader-restores=%d gc-runs=%d gc-deleted=%d retention-drops=%d"
                            + " violations=%d time=%ds", target, rounds, kills, commits, fenced, claims, restoresChecked,
                    readerRestores, gcRuns, gcDeleted, retentionDrops, violations.size(), seconds);
        }
    }

    /** A slot of the round: one process at a time, started again after each kill. */
    private final class Slot {
        final String role;
        final String slot;
        final String run;
        final int weight;
        int incarnation;
        Process process;
        Path journal;
        long offset;
        StringBuilder partial = new StringBuilder();
        boolean ready;
        long pausedRound = -1;
        String lastEvent = "";

        Slot(String role, String slot, String run, int weight) {
            this.role = role;
            this.slot = slot;
            this.run = run;
            this.weight = weight;
        }

        String name() {
            return slot + "-" + incarnation;
        }

        void start(Target t, long dataSeed, long childSeed) throws IOException {
            incarnation++;
            Path dir = work.resolve("children").resolve(slot);
            Files.createDirectories(dir);
            journal = dir.resolve(incarnation + ".jsonl");
            offset = 0;
            partial.setLength(0);
            ready = false;
            pausedRound = -1;
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = new ArrayList<>(List.of(java, "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Xss512k", "-cp", classpath, TortureChild.class.getName(), role, name(), t.store,
                    Long.toString(dataSeed), Long.toString(childSeed), work.resolve("control").toString(),
                    dir.resolve("work-" + incarnation).toString()));
            if (run != null) {
                cmd.add(run);
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(journal.toFile())
                    .redirectError(dir.resolve(incarnation + ".err").toFile());
            pb.environment().putAll(t.env);
            process = pb.start();
        }

        /** Reads what the current incarnation logged since the last poll. */
        void poll() throws IOException {
            if (journal == null || !Files.exists(journal)) {
                return;
            }
            try (RandomAccessFile f = new RandomAccessFile(journal.toFile(), "r")) {
                long len = f.length();
                if (len <= offset) {
                    return;
                }
                byte[] b = new byte[(int) (len - offset)];
                f.seek(offset);
                f.readFully(b);
                offset = len;
                partial.append(new String(b, StandardCharsets.UTF_8));
            }
            int nl;
            while ((nl = partial.indexOf("\n")) >= 0) {
                String line = partial.substring(0, nl);
                partial.delete(0, nl + 1);
                if (!line.startsWith("{")) {
                    continue;
                }
                JsonNode e = Events.JSON.readTree(line);
                String ev = e.path("ev").asText();
                lastEvent = ev;
                if (ev.equals("ready")) {
                    ready = true;
                } else if (ev.equals("paused")) {
                    pausedRound = e.get("round").asLong();
                }
            }
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Torture()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Report r = run();
        return r.violations().isEmpty() ? 0 : 1;
    }

    /** Runs the torture as configured and returns its figures (also printed). */
    public Report run() throws Exception {
        long started = System.nanoTime();
        if (seed == null) {
            seed = roundSeed != null ? roundSeed : new Random().nextLong();
        }
        if (classpath == null) {
            classpath = ChildClasspath.get();
        }
        boolean local = target.equals("local");
        if (minGapMs == null) {
            minGapMs = local ? 100 : 500;
        }
        if (maxGapMs == null) {
            maxGapMs = local ? 1500 : 5000;
        }
        boolean madeWork = work == null;
        if (work == null) {
            Path base = Path.of("target");
            Files.createDirectories(base);
            work = Files.createTempDirectory(base.toAbsolutePath(), "torture-");
        }
        Files.createDirectories(work.resolve("control"));
        Files.createDirectories(work.resolve("scratch"));
        out.printf("torture: target %s, %d kill points, %d per round, a kill every %d-%d ms, seed %d, work %s%n", target,
                kills, killsPerRound, minGapMs, maxGapMs, seed, work);
        List<Slot> slots = new ArrayList<>(List.of(new Slot("writer", "writer-a1", "a", 3), new Slot("writer", "writer-a2", "a", 3),
                new Slot("writer", "writer-b1", "b", 3), new Slot("gc", "gc", null, 2),
                new Slot("retention", "retention", null, 1), new Slot("reader", "reader", null, 1)));
        if (sabotage) {
            slots.add(new Slot("saboteur", "saboteur", null, 0));
        }
        Set<String> violations = new LinkedHashSet<>();
        Map<String, Integer> killsByRole = new TreeMap<>();
        int done = 0;
        int round = 0;
        int restoresChecked = 0;
        try (Target t = Target.open(target, work, classpath); CheckpointStore store = t.openStore()) {
            store.init();
            Random first = new Random(Content.mix(seed, "start", 0));
            for (Slot s : slots) {
                s.start(t, seed, first.nextLong());
            }
            while (done < kills) {
                round++;
                long rs = roundSeed != null ? roundSeed : Content.mix(seed, "round", round);
                Random rnd = new Random(rs);
                long roundStart = System.nanoTime();
                int roundKills = Math.min(killsPerRound, kills - done);
                for (int k = 0; k < roundKills; k++) {
                    Thread.sleep(minGapMs + rnd.nextInt(Math.max(1, maxGapMs - minGapMs)));
                    Slot victim = pick(slots, rnd, t, violations, round);
                    victim.process.destroyForcibly();
                    victim.process.waitFor();
                    victim.poll();
                    killsByRole.merge(victim.role + " (" + victim.lastEvent + ")", 1, Integer::sum);
                    done++;
                    victim.start(t, seed, rnd.nextLong());
                }
                pause(slots, round, t, violations);
                List<JsonNode> journal = journal();
                Checker.Result c = Checker.check(store, seed, journal, work.resolve("scratch"));
                restoresChecked += c.restores();
                List<String> fresh = new ArrayList<>();
                for (String v : c.violations()) {
                    if (violations.add("round " + round + ": " + v)) {
                        fresh.add(v);
                    }
                }
                Report now = report(journal, round, done, restoresChecked, killsByRole, violations, started);
                out.printf("round %d: %d kills (%d in all), %d commits in all, %d checkpoints in ROOT restored byte-identical,"
                                + " deep verify %s, %d new violation(s), %.1f s, round seed %d%n", round, roundKills, done,
                        now.commits(), c.checkpoints(), c.violations().stream().anyMatch(v -> v.startsWith("deep verify"))
                                ? "NOT clean" : "clean", fresh.size(), (System.nanoTime() - roundStart) / 1e9, rs);
                for (String v : fresh) {
                    out.println("  VIOLATION: " + v);
                }
                if (!fresh.isEmpty()) {
                    out.printf("  replay this round's schedule: ckpt-torture --target %s --round-seed %d --kills %d%n",
                            target, rs, roundKills);
                }
                Files.deleteIfExists(work.resolve("control").resolve("pause"));
                if (roundSeed != null) {
                    break;
                }
            }
            Files.writeString(work.resolve("control").resolve("stop"), "stop");
            for (Slot s : slots) {
                if (!s.process.waitFor(60, TimeUnit.SECONDS)) {
                    s.process.destroyForcibly();
                    s.process.waitFor();
                }
            }
        } finally {
            for (Slot s : slots) {
                if (s.process != null && s.process.isAlive()) {
                    s.process.destroyForcibly();
                }
            }
        }
        Report r = report(journal(), round, done, restoresChecked, killsByRole, violations, started);
        out.println("kills by role (and the last event it reported): " + r.killsByRole());
        out.println("store errors reported by the processes: " + r.errors());
        out.println(r.summary());
        if (!violations.isEmpty()) {
            out.println("violations:");
            violations.forEach(v -> out.println("  " + v));
            out.printf("replay the run: ckpt-torture --target %s --seed %d --kills %d --kills-per-round %d (work kept in %s)%n",
                    target, seed, kills, killsPerRound, work);
        } else if (madeWork && !keep) {
            TortureChild.deleteTree(work);
        }
        return r;
    }

    /** A random process to kill among those that are up; one that died by itself is a violation, and is started again. */
    private Slot pick(List<Slot> slots, Random rnd, Target t, Set<String> violations, int round) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            List<Slot> up = new ArrayList<>();
            int total = 0;
            for (Slot s : slots) {
                s.poll();
                if (!s.process.isAlive()) {
                    violations.add("round " + round + ": " + s.name() + " exited by itself with code " + s.process.exitValue()
                            + "; its errors: " + tail(s.journal.resolveSibling(s.incarnation + ".err")));
                    s.start(t, seed, rnd.nextLong());
                } else if (s.ready && s.weight > 0) {
                    up.add(s);
                    total += s.weight;
                }
            }
            if (!up.isEmpty()) {
                int x = rnd.nextInt(total);
                for (Slot s : up) {
                    x -= s.weight;
                    if (x < 0) {
                        return s;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no torture process became ready in 120 s; see " + work.resolve("children"));
            }
            Thread.sleep(20);
        }
    }

    /** Asks every process to pause and waits until each has; one that does not within 3 minutes is a violation. */
    private void pause(List<Slot> slots, int round, Target t, Set<String> violations) throws Exception {
        Path tmp = work.resolve("control").resolve("pause.tmp");
        Files.writeString(tmp, Integer.toString(round));
        Files.move(tmp, work.resolve("control").resolve("pause"), StandardCopyOption.ATOMIC_MOVE);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        for (Slot s : slots) {
            while (true) {
                s.poll();
                if (s.pausedRound == round) {
                    break;
                }
                if (!s.process.isAlive()) {
                    violations.add("round " + round + ": " + s.name() + " exited by itself with code " + s.process.exitValue()
                            + "; its errors: " + tail(s.journal.resolveSibling(s.incarnation + ".err")));
                    s.start(t, seed, Content.mix(seed, s.slot, s.incarnation));
                    continue;
                }
                if (System.nanoTime() > deadline) {
                    violations.add("round " + round + ": " + s.name() + " did not pause within 3 minutes (last event "
                            + s.lastEvent + "); killed");
                    s.process.destroyForcibly();
                    s.process.waitFor();
                    s.start(t, seed, Content.mix(seed, s.slot, s.incarnation));
                    deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
                    continue;
                }
                Thread.sleep(20);
            }
        }
    }

    private List<JsonNode> journal() throws IOException {
        List<JsonNode> all = new ArrayList<>();
        Path children = work.resolve("children");
        if (Files.exists(children)) {
            try (var files = Files.walk(children)) {
                for (Path p : files.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList()) {
                    all.addAll(Events.read(p));
                }
            }
        }
        return all;
    }

    private Report report(List<JsonNode> journal, int rounds, int done, int restoresChecked, Map<String, Integer> killsByRole,
                          Set<String> violations, long started) {
        int commits = 0;
        int fenced = 0;
        int claims = 0;
        int reads = 0;
        int gcRuns = 0;
        long gcDeleted = 0;
        int drops = 0;
        Map<String, Integer> errors = new TreeMap<>();
        for (JsonNode e : journal) {
            switch (e.path("ev").asText()) {
                case "commit" -> commits++;
                case "fenced" -> fenced++;
                case "claim" -> claims++;
                case "read" -> reads++;
                case "gc" -> {
                    gcRuns++;
                    gcDeleted += e.get("deleted").asLong();
                }
                case "retention" -> drops += e.get("dropped").asInt();
                case "error" -> errors.merge(e.path("kind").asText(), 1, Integer::sum);
                default -> {
                }
            }
        }
        return new Report(target, rounds, done, commits, fenced, claims, restoresChecked, reads, gcDeleted, gcRuns, drops,
                Map.copyOf(killsByRole), Map.copyOf(errors), List.copyOf(violations), (System.nanoTime() - started) / 1_000_000_000L);
    }

    private static String tail(Path file) {
        try {
            String s = Files.exists(file) ? Files.readString(file) : "";
            return s.length() > 2000 ? "..." + s.substring(s.length() - 2000) : s;
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }
}

package dev.ckpt.tools;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/ckpt-tool runs C1 alone (no C2, whose SHA-256 intrinsic the data needs) for commands
 * that read no checkpoint data and for a push of a directory under 16 MiB, and both
 * compilers otherwise (docs/benchmarks.md, "C1 alone for small runs"). Each case reads
 * the JVM's final {@code TieredStopAtLevel} (1: C1 alone, 4: both) through
 * {@code -XX:+PrintFlagsFinal}; every command also has to succeed.
 */
class LauncherJitTest {
    @TempDir
    Path tmp;

    private String launcher;
    private String store;
    private Path small;
    private Path large;

    @BeforeEach
    void setUp() throws Exception {
        launcher = LauncherClassDataTest.checkout(tmp).resolve("bin/ckpt-tool").toString();
        store = tmp.resolve("store").toString();
        small = Files.createDirectories(tmp.resolve("small"));
        for (int i = 0; i < 20; i++) {
            Files.writeString(small.resolve("f" + i + ".txt"), "small file " + i);
        }
        large = Files.createDirectories(tmp.resolve("large"));
        try (RandomAccessFile f = new RandomAccessFile(large.resolve("weights.bin").toFile(), "rw")) {
            f.setLength(16L << 20); // exactly the limit, sparse: du's apparent size counts it
        }
        assertEquals(0, cli("init", store).code());
    }

    private LauncherClassDataTest.Run cli(String... args) throws Exception {
        return cliWith("", args);
    }

    private LauncherClassDataTest.Run cliWith(String javaOpts, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", launcher));
        cmd.addAll(List.of(args));
        return LauncherClassDataTest.run(Map.of("CKPT_CDS", "0", "CKPT_JAVA_OPTS", "-XX:+PrintFlagsFinal " + javaOpts),
                cmd.toArray(String[]::new));
    }

    /** The level the JVM ran at, after checking the command succeeded and the launcher's shell printed no error. */
    private int level(String... args) throws Exception {
        LauncherClassDataTest.Run r = cli(args);
        assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
        assertTrue(!r.err().contains("ckpt-tool: line") && !r.err().contains("expected")
                && !r.err().contains("not found"), "nothing of the launcher's own on stderr: " + r.err());
        return flag(r, "TieredStopAtLevel");
    }

    private static int flag(LauncherClassDataTest.Run r, String name) {
        String line = r.out().lines().filter(l -> l.contains(" " + name + " ")).findFirst().orElseThrow();
        return Integer.parseInt(line.replaceAll(".*= *(-?\\d+).*", "$1"));
    }

    @Test
    void aPushOfASmallDirectoryRunsC1AloneInEverySpellingOfItsArguments() throws Exception {
        assertEquals(1, level("push", store, small.toString(), "--run", "r", "--step", "1", "--progress", "none"));
        assertEquals(1, level("push", "--run", "r", "--step=2", "--progress", "none", "--meta", "k=v", store,
                small.toString()));
        assertEquals(1, level("push", "--run=r", "--step", "3", "-v", store, "--progress=none", small.toString()));
        assertEquals(1, level("push", "--run", "r", "--step", "4", "--progress", "none", "--", store, small.toString()));
    }

    @Test
    void aPushOfSixteenMebibytesOrMoreKeepsBothCompilersAlsoThroughALink() throws Exception {
        assertEquals(4, level("push", store, large.toString(), "--run", "r", "--step", "1", "--progress", "none"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), large);
        assertEquals(4, level("push", store, link.toString(), "--run", "r", "--step", "2", "--progress", "none"));
    }

    @Test
    void commandsThatReadCheckpointDataKeepBothCompilersAndTheOthersRunC1Alone() throws Exception {
        assertEquals(1, level("push", store, small.toString(), "--run", "r", "--step", "1", "--progress", "none"));
        assertEquals(4, level("restore", store, "r@1", tmp.resolve("out").toString(), "--progress", "none"));
        assertEquals(4, level("verify", store));
        assertEquals(1, level("ls", store));
        assertEquals(1, level("show", store, "r@1"));
        assertEquals(1, level("--version"));
        // the shared options before the command name (helper-69: they kept both compilers)
        assertEquals(1, level("--progress", "none", "ls", store));
        assertEquals(1, level("-v", "--json", "show", store, "r@1"));
        assertEquals(1, level("--progress=none", "--stall-timeout", "30s", "push", store, small.toString(), "--run", "r",
                "--step", "9"));
        assertEquals(4, level("--progress", "none", "verify", store));
        assertEquals(4, level("--progress", "none", "push", store, large.toString(), "--run", "r", "--step", "10"));
    }

    /**
     * The runs that get C1 alone go without transparent huge pages; the others ask for them
     * where the kernel gives them on request (docs/benchmarks.md, "No huge pages for small
     * runs"). On a machine whose mode is not "madvise" no run asks for them.
     */
    @Test
    void smallRunsGoWithoutHugePagesAndTheOthersAskForThemWhereTheKernelGivesThemOnRequest() throws Exception {
        Path thp = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        boolean onRequest = Files.isReadable(thp) && Files.readString(thp).contains("[madvise]");
        assertEquals(false, hugePages("push", store, small.toString(), "--run", "r", "--step", "1", "--progress", "none"));
        assertEquals(false, hugePages("ls", store));
        assertEquals(false, hugePages("show", store, "r@1"));
        assertEquals(onRequest, hugePages("restore", store, "r@1", tmp.resolve("out").toString(), "--progress", "none"));
        assertEquals(onRequest, hugePages("push", store, large.toString(), "--run", "r", "--step", "2", "--progress",
                "none"));
        assertEquals(onRequest, hugePages("verify", store));
    }

    /** Whether the JVM ran with transparent huge pages for its heap, after checking the command succeeded. */
    private boolean hugePages(String... args) throws Exception {
        LauncherClassDataTest.Run r = cli(args);
        assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
        String line = r.out().lines().filter(l -> l.contains(" UseTransparentHugePages ")).findFirst().orElseThrow();
        return line.contains("= true");
    }

    /** Push reads every hard link of a file, so the size counts each (du alone counts a file once). */
    @Test
    void hardLinksCountOncePerLinkAsPushReadsThem() throws Exception {
        Path linked = Files.createDirectories(tmp.resolve("linked"));
        Path f = linked.resolve("shard-0.bin");
        Files.write(f, new byte[1 << 20]);
        for (int i = 1; i < 20; i++) {
            Files.createLink(linked.resolve("shard-" + i + ".bin"), f);
        }
        assertEquals(4, level("push", store, linked.toString(), "--run", "r", "--step", "1", "--progress", "none"));
    }

    /**
     * A DIR whose name holds a newline is sized as itself (not a sibling named up to the
     * newline), and the launcher prints nothing of its own.
     */
    @Test
    void aDirectoryNamedWithANewlineIsSizedAsItselfQuietly() throws Exception {
        Path odd = Files.createDirectories(tmp.resolve("a\nb"));
        Files.writeString(odd.resolve("f.txt"), "small");
        assertEquals(1, level("push", store, odd.toString(), "--run", "r", "--step", "1", "--progress", "none"));
        Path bigNewline = Files.createDirectories(tmp.resolve("big\n"));
        try (RandomAccessFile f = new RandomAccessFile(bigNewline.resolve("w.bin").toFile(), "rw")) {
            f.setLength(20L << 20);
        }
        Files.createDirectories(tmp.resolve("big")); // empty: a sibling named without the newline
        assertEquals(4, level("push", store, bigNewline.toString(), "--run", "r", "--step", "2", "--progress", "none"));
    }

    /**
     * The JDK's SHA-256 methods reach C2 at a hundredth of the launcher's thresholds
     * (docs/benchmarks.md, "SHA-256 compiled early"), and the JVM prints nothing of that on
     * stdout (without {@code CompileCommand=quiet} it prints each command there, before a
     * {@code --json} document).
     */
    @Test
    void sha256ReachesC2EarlyAndTheJvmSaysNothingOfIt() throws Exception {
        LauncherClassDataTest.Run r = cli("push", store, large.toString(), "--run", "r", "--step", "1", "--progress", "none");
        assertEquals(0, r.code(), r.err());
        for (String m : List.of("DigestBase::implCompressMultiBlock0,", "DigestBase::engineUpdate,", "SHA2::implCompress,",
                "SHA2::implCompress0,")) {
            assertTrue(r.out().lines().anyMatch(l -> l.contains("CompileCommand") && l.contains("sun.security.provider." + m)
                    && l.contains("CompileThresholdScaling,0.01")), m + ": " + r.out());
        }
        LauncherClassDataTest.Run q = LauncherClassDataTest.run(Map.of("CKPT_CDS", "0"), "bash", launcher, "ls", "--json",
                store);
        assertEquals(0, q.code(), q.err());
        assertTrue(q.out().startsWith("{") && !q.out().contains("CompileCommand"), q.out());
        assertTrue(q.err().isEmpty(), q.err());
    }

    /** CKPT_JAVA_OPTS=-XX:TieredStopAtLevel=4 gives back both compilers with the launcher's C2 thresholds. */
    @Test
    void bothCompilersCanBeAskedForAndKeepTheLaunchersThresholds() throws Exception {
        LauncherClassDataTest.Run r = cliWith("-XX:TieredStopAtLevel=4", "push", store, small.toString(), "--run", "r",
                "--step", "1", "--progress", "none");
        assertEquals(0, r.code(), r.err());
        assertEquals(4, flag(r, "TieredStopAtLevel"));
        assertEquals(500000, flag(r, "Tier4InvocationThreshold"));
    }

    /** Arguments the launcher cannot read plainly (an option it does not know) keep both compilers: slower, never wrong. */
    @Test
    void aPushWhoseArgumentsTheLauncherCannotReadKeepsBothCompilers() throws Exception {
        LauncherClassDataTest.Run r = cli("push", "--no-such-option", "x", store, small.toString(), "--run", "r",
                "--step", "1");
        assertEquals(2, r.code(), "picocli refuses the option: " + r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.contains(" TieredStopAtLevel ") && l.contains("= 4 ")), r.out());
    }

    /**
     * The launcher finds push's DIR by skipping options and their values; it must know every
     * option of push that takes a value, else that value would count as a positional (then it
     * only keeps both compilers, but small pushes lose their speed).
     */
    @Test
    void theLauncherKnowsEveryOptionOfPushThatTakesAValue() throws Exception {
        String script = Files.readString(Path.of(launcherInRepo()));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(--client\\|[^)]*)\\) skip=1").matcher(script);
        assertTrue(m.find(), "the list of push's options with a value in bin/ckpt-tool");
        java.util.Set<String> known = new java.util.TreeSet<>();
        for (String o : m.group(1).split("\\|")) {
            known.add(o.replace("\\", "").trim());
        }
        java.util.Set<String> needed = new java.util.TreeSet<>();
        picocli.CommandLine.Model.CommandSpec push = new picocli.CommandLine(new PushCommand()).getCommandSpec();
        for (picocli.CommandLine.Model.OptionSpec o : push.options()) {
            if (o.typeInfo().isBoolean() || o.arity().max() == 0) {
                continue;
            }
            for (String name : o.names()) {
                needed.add(name);
            }
        }
        assertEquals(needed, known);
    }

    private static String launcherInRepo() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("bin/ckpt-tool"))) {
            dir = dir.getParent();
        }
        assertTrue(dir != null, "bin/ckpt-tool not found");
        return dir.resolve("bin/ckpt-tool").toString();
    }
}

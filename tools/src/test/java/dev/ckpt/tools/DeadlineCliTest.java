package dev.ckpt.tools;

import dev.ckpt.store.objectstore.s3.S3Config;
import dev.ckpt.store.objectstore.s3.S3ProxyServer;
import dev.ckpt.store.testing.StallingLink;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * push and restore with --deadline and --stall-timeout against the in-process S3 server behind
 * a link that stalls every chunk transfer: exit 7 by the deadline with one line naming the
 * stuck chunk and the time spent; nothing committed, the target as it was.
 */
class DeadlineCliTest {
    @TempDir
    Path tmp;
    S3ProxyServer server;
    StallingLink link;
    Cli cli;

    @BeforeEach
    void start() throws Exception {
        server = S3ProxyServer.start(null);
        server.createBucket("deadline");
        link = new StallingLink(server.endpoint().getPort());
        cli = new Cli(server.env(S3Config.Client.AWS, S3Config.Http.APACHE), "--progress", "none");
    }

    @AfterEach
    void stop() throws Exception {
        link.close();
        server.close();
    }

    @Test
    void aPushStalledPastItsDeadlineExits7NamingTheStuckChunkAndCommitsNothing() {
        Path first = TestDirs.checkpoint(tmp.resolve("first"), 1, 3, 100_000);
        Path second = TestDirs.checkpoint(tmp.resolve("second"), 2, 3, 100_000);
        Cli.Result ok = cli.run("push", "s3://deadline/c", first.toString(), "--run", "r", "--step", "1");
        assertEquals(0, ok.code(), ok.toString());

        link.stall(l -> l.startsWith("PUT ") && l.contains("/chunks/"), Integer.MAX_VALUE);
        long t0 = System.nanoTime();
        Cli.Result r = cli.run("push", "s3://deadline/c", second.toString(), "--run", "r", "--step", "2",
                "--endpoint", link.endpoint().toString(), "--stall-timeout", "1s", "--deadline", "3s");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(7, r.code(), r.toString());
        assertTrue(ms < 3_000 + 15_000, "exited after " + ms + " ms");
        String line = r.err().strip();
        assertFalse(line.contains("\n"), "one line: " + line);
        assertTrue(line.contains("did not finish by its deadline") && line.contains("chunks/")
                && line.contains("nothing was committed") && line.endsWith(" (given: --deadline 3s)"), line);
        assertFalse(line.contains("Exception"), line);

        Cli.Result ls = cli.run("ls", "s3://deadline/c", "--json");
        assertEquals(1, ls.json().get("checkpoints").size(), ls.toString());
    }

    @Test
    void aRestoreStalledPastItsDeadlineExits7AndLeavesTheTargetAsItWas() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 3, 100_000);
        assertEquals(0, cli.run("push", "s3://deadline/c", src.toString(), "--run", "r", "--step", "1").code());
        Path target = Files.createDirectories(tmp.resolve("target"));

        link.stall(l -> l.startsWith("GET ") && l.contains("/chunks/"), Integer.MAX_VALUE);
        Cli.Result r = cli.run("restore", "s3://deadline/c", "r:latest", target.toString(),
                "--endpoint", link.endpoint().toString(), "--stall-timeout", "1s", "--deadline", "3s");
        assertEquals(7, r.code(), r.toString());
        assertTrue(r.err().contains("did not finish by its deadline") && r.err().contains("chunks/")
                && r.err().contains(" (given: --deadline 3s)"), r.err());
        try (Stream<Path> all = Files.walk(target)) {
            assertEquals(List.of(target), all.toList(), "nothing left in the target");
        }

        link.heal();
        Cli.Result again = cli.run("restore", "s3://deadline/c", "r:latest", target.toString(), "--deadline", "1m");
        assertEquals(0, again.code(), again.toString());
        TestDirs.assertSameTree(TestDirs.snapshot(src), target);
    }

    /**
     * helper-79: a server that accepts and never answers held {@code restore --deadline 3s} for 151 s, the S3
     * client's own retries of the first read of ROOT (the look-up of the checkpoint), which no deadline covered.
     * Here that read stalls with a stall timeout of 1 minute: without the deadline on it the restore would take
     * at least that long.
     */
    @Test
    void aRestoreWhoseFirstReadOfRootHangsExits7ByItsDeadline() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 4, 2, 10_000);
        assertEquals(0, cli.run("push", "s3://deadline/c", src.toString(), "--run", "r", "--step", "1").code());
        Path target = tmp.resolve("target");
        for (List<String> extra : List.of(List.<String>of(), List.of("--tensors", "t*"))) {
            link.stall(l -> l.startsWith("GET ") && l.contains("/ROOT"), Integer.MAX_VALUE);
            List<String> args = new java.util.ArrayList<>(List.of("restore", "s3://deadline/c", "latest", target.toString(),
                    "--endpoint", link.endpoint().toString(), "--stall-timeout", "1m", "--deadline", "3s"));
            args.addAll(extra);
            long t0 = System.nanoTime();
            Cli.Result r = cli.run(args.toArray(String[]::new));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(7, r.code(), extra + ": " + r);
            assertTrue(ms < 30_000, extra + ": exited after " + ms + " ms");
            String line = r.err().strip();
            assertTrue(line.contains("the look-up of checkpoint 'latest' did not finish by its deadline")
                    && line.contains("the read of ROOT") && line.contains("nothing was changed")
                    && line.endsWith(" (given: --deadline 3s)"), line);
            assertFalse(line.contains("\n") || line.contains("Exception"), line);
            assertFalse(Files.exists(target), "no target made: " + target);
            link.heal();
        }
    }

    /**
     * The same for a push: its claim of the run reads ROOT and writes it; both are bounded by the deadline. A
     * stalled read commits nothing; a stalled write of the claim may still land, and the message says so.
     */
    @Test
    void aPushWhoseClaimOfTheRunHangsExits7ByItsDeadline() {
        Path first = TestDirs.checkpoint(tmp.resolve("first"), 5, 2, 10_000);
        Path second = TestDirs.checkpoint(tmp.resolve("second"), 6, 2, 10_000);
        assertEquals(0, cli.run("push", "s3://deadline/c", first.toString(), "--run", "r", "--step", "1").code());
        record Case(String what, java.util.function.Predicate<String> stall, String says) {
        }
        for (Case c : List.of(
                new Case("the read of ROOT", l -> l.startsWith("GET ") && l.contains("/ROOT"),
                        "nothing was committed (given: --deadline 3s)"),
                new Case("the conditional write of ROOT", l -> l.startsWith("PUT ") && l.contains("/ROOT"),
                        "nothing was committed (the claim's write of ROOT may still land"))) {
            link.stall(c.stall(), Integer.MAX_VALUE);
            long t0 = System.nanoTime();
            Cli.Result r = cli.run("push", "s3://deadline/c", second.toString(), "--run", "r", "--step", "2",
                    "--endpoint", link.endpoint().toString(), "--stall-timeout", "1m", "--deadline", "3s");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            link.heal();
            assertEquals(7, r.code(), c.what() + ": " + r);
            assertTrue(ms < 30_000, c.what() + ": exited after " + ms + " ms");
            String line = r.err().strip();
            assertTrue(line.contains("the claim of run 'r' did not finish by its deadline") && line.contains(c.what())
                    && line.contains(c.says()) && line.endsWith(" (given: --deadline 3s)"), c.what() + ": " + line);
            assertFalse(line.contains("\n") || line.contains("Exception"), line);
            Cli.Result ls = cli.run("ls", "s3://deadline/c", "--json");
            assertEquals(1, ls.json().get("checkpoints").size(), ls.toString());
        }
    }

    /** From a tryout: --deadline 0s was reported as "its deadline (-0.2 s after it started)". */
    @Test
    void aDeadlineThatHadPassedWhenThePushStartedIsSaidSo() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src0"), 3, 1, 1000);
        Cli.Result r = cli.run("push", tmp.resolve("local").toString(), src.toString(), "--run", "r", "--step", "1",
                "--deadline", "0s");
        assertEquals(7, r.code(), r.toString());
        assertTrue(r.err().contains("its deadline (which had already passed when it started, ")
                && !r.err().contains("(-") && r.err().contains(" (given: --deadline 0s)"), r.err());
    }
}

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
                        "nothing was committed; save again, with more time if the store is slow (given: --deadline 3s)"),
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
        // a rank that cannot join its job records nothing: it says that the other ranks wait for its part
        link.stall(l -> l.startsWith("GET ") && l.contains("/ROOT"), Integer.MAX_VALUE);
        String rank = pastItsDeadline("a rank's join", "push", "s3://deadline/c", second.toString(), "--run", "r",
                "--step", "2", "--rank", "1", "--world-size", "2", "--job-id", "c1").err();
        assertTrue(rank.contains("the claim of run 'r' by job c1 did not finish by its deadline") && rank.contains(
                "; rank 1 did not join job c1, so it saves no part of step 2 and the other ranks were not told: they"
                + " wait for its part until their own --deadline or --ranks-timeout"), rank);
    }

    /** Runs {@code args} with --deadline 3s and a stall timeout of 1 minute; asserts exit 7 within 30 s. */
    private Cli.Result pastItsDeadline(String what, String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of("--endpoint", link.endpoint().toString(), "--stall-timeout", "1m", "--deadline", "3s"));
        long t0 = System.nanoTime();
        Cli.Result r = cli.run(all.toArray(String[]::new));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        link.heal();
        assertEquals(7, r.code(), what + ": " + r);
        assertTrue(ms < 30_000, what + ": exited after " + ms + " ms");
        String line = r.err().strip();
        assertFalse(line.contains("\n") || line.contains("Exception"), what + ": " + line);
        assertTrue(line.endsWith(" (given: --deadline 3s)"), what + ": " + line);
        return r;
    }

    /**
     * helper-80: the other requests a push makes before its upload, each of which a hung server held past the
     * deadline for the S3 client's retries (about 150 s each at the default stall timeout): the listing of
     * manifests/ when a new prefix has no ROOT, the probe of conditional writes (which was reported as the write
     * of ROOT), the read of every live manifest for deduplication (one stall timeout per checkpoint), and a rank's
     * read of the step's refusal record.
     */
    @Test
    void everyRequestBeforeAPushsUploadIsBoundedByItsDeadline() {
        Path first = TestDirs.checkpoint(tmp.resolve("first"), 7, 2, 10_000);
        Path second = TestDirs.checkpoint(tmp.resolve("second"), 8, 2, 10_000);
        assertEquals(0, cli.run("push", "s3://deadline/c", first.toString(), "--run", "r", "--step", "1").code());
        assertEquals(0, cli.run("push", "s3://deadline/c", first.toString(), "--run", "r", "--step", "2").code());

        link.stall(l -> l.startsWith("GET /deadline?") && l.contains("list-type"), Integer.MAX_VALUE);
        String listing = pastItsDeadline("listing", "push", "s3://deadline/new", first.toString(), "--run", "r",
                "--step", "1").err();
        assertTrue(listing.contains("the listing of manifests/ in s3://deadline/new/") && listing.contains("nothing was"
                + " committed; save again"), listing);

        link.stall(l -> l.contains("/probe/"), Integer.MAX_VALUE);
        String probe = pastItsDeadline("probe", "push", "s3://deadline/c", second.toString(), "--run", "r", "--step", "3")
                .err();
        assertTrue(probe.contains("the conditional-write probe of probe/ in s3://deadline/c/")
                && !probe.contains("may still land"), probe);

        link.stall(l -> l.startsWith("GET ") && l.contains("/manifests/"), Integer.MAX_VALUE);
        String dedup = pastItsDeadline("manifests", "push", "s3://deadline/c", second.toString(), "--run", "r",
                "--step", "3").err();
        assertTrue(dedup.contains("the read of manifests/") && dedup.contains("nothing was committed"), dedup);

        link.stall(l -> l.startsWith("GET ") && l.contains("refused.json"), Integer.MAX_VALUE);
        String rank = pastItsDeadline("refusal record", "push", "s3://deadline/c", second.toString(), "--run", "j",
                "--step", "1", "--rank", "0", "--world-size", "1", "--job-id", "j1").err();
        assertTrue(rank.contains("refused.json") && rank.contains("nothing was saved; save again"), rank);

        Cli.Result ls = cli.run("ls", "s3://deadline/c", "--json");
        assertEquals(2, ls.json().get("checkpoints").size(), ls.toString());
        assertEquals(0, cli.run("verify", "s3://deadline/c").code());
    }

    /**
     * helper-80: a rank that gives up records why for the other ranks; against a hung store that record took the
     * client's retries past the deadline. It gets 1 s past the deadline, and the message says it was not recorded.
     */
    @Test
    void aRankThatGivesUpRecordsWhyWithinASecondOfItsDeadline() {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 9, 2, 10_000);
        link.stall(l -> l.startsWith("PUT ") && (l.contains("/chunks/") || l.contains("refused.json")), Integer.MAX_VALUE);
        String err = pastItsDeadline("record", "push", "s3://deadline/w", src.toString(), "--run", "w", "--step", "2",
                "--rank", "0", "--world-size", "2", "--job-id", "w1").err();
        assertTrue(err.contains("did not finish by its deadline") && err.contains("rank 0 could not record this for the"
                + " other ranks within 1s past the deadline"), err);
    }

    /** Stalls, from the first PUT of a manifest on, every request that {@code after} matches. */
    private void stallAfterTheManifest(java.util.function.Predicate<String> after) {
        java.util.concurrent.atomic.AtomicBoolean manifestWritten = new java.util.concurrent.atomic.AtomicBoolean();
        link.stall(l -> {
            if (l.startsWith("PUT ") && l.contains("/manifests/")) {
                manifestWritten.set(true);
            }
            return manifestWritten.get() && after.test(l);
        }, Integer.MAX_VALUE);
    }

    /**
     * helper-81: the commit's own requests were not bounded by --deadline: a server that hangs during the commit held
     * a push 30 to 152 s past --deadline 3s. A stalled read of ROOT in the commit exits 7 by the deadline (nothing was
     * written); a stalled conditional write of ROOT exits 6, since that write may land, and says not to clean up.
     * Either way the store keeps what it had and a push of the same step then commits.
     */
    @Test
    void aPushWhoseCommitHangsIsAbandonedByItsDeadline() {
        Path first = TestDirs.checkpoint(tmp.resolve("first"), 10, 2, 10_000);
        Path second = TestDirs.checkpoint(tmp.resolve("second"), 11, 2, 10_000);
        assertEquals(0, cli.run("push", "s3://deadline/k", first.toString(), "--run", "r", "--step", "1").code());

        stallAfterTheManifest(l -> l.startsWith("GET ") && l.contains("/ROOT"));
        Cli.Result read = pastItsDeadline("the commit's read", "push", "s3://deadline/k", second.toString(), "--run", "r",
                "--step", "2");
        assertTrue(read.err().contains("save of run r step 2 did not finish by its deadline")
                && read.err().contains("the read of ROOT") && read.err().contains("nothing was committed"), read.err());

        stallAfterTheManifest(l -> l.startsWith("PUT ") && l.contains("/ROOT"));
        long t0 = System.nanoTime();
        Cli.Result write = cli.run("push", "s3://deadline/k", second.toString(), "--run", "r", "--step", "2",
                "--endpoint", link.endpoint().toString(), "--stall-timeout", "1m", "--deadline", "3s");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        link.heal();
        assertEquals(6, write.code(), write.toString());
        assertTrue(ms < 30_000, "exited after " + ms + " ms");
        String line = write.err().strip();
        assertFalse(line.contains("\n") || line.contains("Exception"), line);
        assertTrue(line.contains("save of run r step 2 did not finish by its deadline")
                && line.contains("the conditional write of ROOT") && line.contains("may or may not be applied")
                && line.contains("do not clean anything up") && !line.contains("nothing was committed")
                && line.endsWith("; it was the commit of step 2 of run r: ckpt-tool ls s3://deadline/k --run r shows"
                + " whether it landed; push the step again only if it did not (given: --deadline 3s)"), line);

        // the stalled write never reached the server whole: ROOT is as it was, and nothing it references is gone
        Cli.Result ls = cli.run("ls", "s3://deadline/k", "--json");
        assertEquals(1, ls.json().get("checkpoints").size(), ls.toString());
        assertEquals(0, cli.run("verify", "s3://deadline/k").code());
        Cli.Result again = cli.run("push", "s3://deadline/k", second.toString(), "--run", "r", "--step", "2",
                "--deadline", "1m");
        assertEquals(0, again.code(), again.toString());
        assertEquals(2, cli.run("ls", "s3://deadline/k", "--json").json().get("checkpoints").size());
    }

    /**
     * The same for the ranks' waits after their parts: rank 0 gathering the parts reads ROOT between rounds, and
     * another rank polls ROOT for rank 0's commit. A hung read there was not bounded either. Rank 1's message says
     * its part is written and rank 0 may still commit the step, not that nothing was committed.
     */
    @Test
    void aRankWhoseWaitForTheOthersHangsIsAbandonedByItsDeadline() {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 12, 2, 10_000);
        stallAfterTheManifest(l -> l.startsWith("GET ") && l.contains("/ROOT"));
        String rank1 = pastItsDeadline("rank 1's wait", "push", "s3://deadline/m", src.toString(), "--run", "m",
                "--step", "1", "--rank", "1", "--world-size", "2", "--job-id", "m1").err();
        assertTrue(rank1.contains("the read of ROOT") && rank1.contains("part-00001.json is written, and rank 0 may"
                + " still commit the step") && !rank1.contains("nothing was committed"), rank1);

        stallAfterTheManifest(l -> l.startsWith("GET ") && l.contains("/ROOT"));
        String rank0 = pastItsDeadline("rank 0's gathering", "push", "s3://deadline/m", src.toString(), "--run", "m",
                "--step", "2", "--rank", "0", "--world-size", "2", "--job-id", "m1").err();
        assertTrue(rank0.contains("the read of ROOT") && rank0.contains("nothing was committed"), rank0);

        // helper-82: a part's write abandoned in flight may land, and rank 0 then commits the step: not "nothing"
        link.stall(l -> l.startsWith("PUT ") && l.contains("/part-00001.json"), Integer.MAX_VALUE);
        Cli.Result partLate = cli.run("push", "s3://deadline/m", src.toString(), "--run", "m", "--step", "3", "--rank",
                "1", "--world-size", "2", "--job-id", "m1", "--endpoint", link.endpoint().toString(), "--stall-timeout",
                "1m", "--deadline", "3s");
        link.heal();
        // 1, not 7: the rank recorded that it gave up, which closes the step for this job (save a later step)
        assertEquals(1, partLate.code(), partLate.toString());
        String part = partLate.err().strip();
        assertTrue(part.contains("the write of manifests/") && !part.contains("part-00001.json is written")
                && part.contains("part-00001.json may have been written (its write was under way), and rank 0 commits"
                + " the step if it finds every part") && part.contains("save a later step")
                && part.endsWith("(given: --deadline 3s)"), part);
        assertEquals(0, cli.run("ls", "s3://deadline/m", "--json").json().get("checkpoints").size());
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

    @Test
    void eachCommandsHelpSaysWhatItsOwnDeadlineLeaves() {
        // one text served both: restore's --help spoke of "a push's commit" (restore has none)
        String push = deadlineHelp("push");
        String restore = deadlineHelp("restore");
        assertTrue(push.contains("nothing is committed; exit 6 if the commit was in flight"), push);
        assertFalse(push.contains("target"), push);
        assertTrue(restore.contains("exit 7 naming the stuck object, and the target is left as it was"), restore);
        assertFalse(restore.contains("exit 6") || restore.contains("commit"), restore);
    }

    /** The --deadline option's paragraph of {@code command --help}, its lines joined. */
    private String deadlineHelp(String command) {
        String help = String.join(" ", cli.run(command, "--help").out().split("\\s+"));
        int from = help.indexOf("--deadline=DURATION give up");
        assertTrue(from >= 0, help);
        return help.substring(from, help.indexOf(" --endpoint=URL", from));
    }
}

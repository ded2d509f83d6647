package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rank's push from the command line, beyond what {@link CkptToolTest} runs on both
 * backends: the rank options go together, a missing rank fails every other rank's push
 * after --ranks-timeout and commits nothing, and a later step commits.
 */
class CkptToolRanksTest {
    @TempDir
    Path tmp;
    Cli cli = new Cli(Map.of(), "--progress", "none");
    String store;

    @BeforeEach
    void setUp() {
        store = tmp.resolve("store").toString();
    }

    private Path rankSrc(String name, int rank) {
        return CkptToolTest.rankSrc(tmp, name, rank);
    }

    private List<Cli.Result> pushRanks(String name, String run, long step, String job, List<Integer> ranks, int worldSize,
                                       String... extra) throws Exception {
        return CkptToolTest.pushRanks(cli, store, tmp, name, run, step, job, ranks, worldSize, extra);
    }

    @Test
    void theRankOptionsGoTogether() {
        Cli.Result r = cli.run("push", store, rankSrc("u", 0).toString(), "--run", "r", "--step", "1", "--rank", "0");
        assertEquals(ExitCode.USAGE, r.code(), r.toString());
        assertTrue(r.err().contains("--rank, --world-size and --job-id together")
                && r.err().contains("missing: --world-size, --job-id"), r.err());
        Cli.Result outside = cli.run("push", store, rankSrc("u", 0).toString(), "--run", "r", "--step", "1", "--rank", "4",
                "--world-size", "4", "--job-id", "j");
        assertEquals(ExitCode.USAGE, outside.code(), outside.toString());
        assertTrue(outside.err().contains("rank 4 is not within world size 4"), outside.err());
        Cli.Result badJob = cli.run("push", store, rankSrc("u", 0).toString(), "--run", "r", "--step", "1", "--rank", "0",
                "--world-size", "1", "--job-id", "../x");
        assertEquals(ExitCode.USAGE, badJob.code(), badJob.toString());
        assertTrue(badJob.err().contains("invalid job id '../x'"), badJob.err());
    }

    @Test
    void aMissingRankFailsTheOthersAfterTheTimeoutAndTheNextStepCommits() throws Exception {
        List<Cli.Result> partial = pushRanks("p", "r", 1, "job-1", List.of(0, 2), 3, "--ranks-timeout", "1s");
        for (Cli.Result r : partial) {
            assertEquals(ExitCode.FENCED_OR_CONFLICT, r.code(), r.toString());
            assertTrue(r.err().contains("rank") && r.err().toLowerCase().contains("1"), r.err());
        }
        assertEquals(0, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing committed");

        List<Cli.Result> full = pushRanks("p", "r", 2, "job-1", List.of(0, 1, 2), 3);
        for (Cli.Result r : full) {
            assertEquals(0, r.code(), r.toString());
        }
        JsonNode ls = cli.run("ls", store, "--json").json().get("checkpoints");
        assertEquals(1, ls.size());
        assertEquals(2, ls.get(0).get("step").asLong());
        assertEquals(3, ls.get(0).get("ranks").asInt());
    }
}

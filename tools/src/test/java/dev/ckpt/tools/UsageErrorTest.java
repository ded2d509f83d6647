package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A usage error (exit 2) is the reason on the first line, the command's synopsis and where
 * the rest is, not the whole help page: the reason used to be lost above 35 lines of
 * options (found by a new-user tryout).
 */
class UsageErrorTest {
    @TempDir
    Path tmp;

    @Test
    void aUsageErrorIsTheReasonAndTheSynopsisNotTheWholeHelp() {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        String store = tmp.resolve("s").toString();
        assertEquals(0, cli.run("init", store).code());
        for (List<String> args : List.of(List.of("forget", store, "--keep-lats", "2"), List.of("forget", store, "--keep-last", "0"),
                List.of("gc", store, "--grace", "soon"), List.of("restore", store))) {
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), args + ": " + r);
            List<String> lines = r.err().lines().toList();
            assertTrue(lines.get(0).startsWith("ckpt-tool " + args.get(0) + ": "), r.err());
            assertTrue(r.err().contains("usage: ckpt-tool " + args.get(0)), r.err());
            assertTrue(r.err().contains("'ckpt-tool " + args.get(0) + " --help'"), r.err());
            assertTrue(lines.size() <= 12, "short: " + r.err());
            assertFalse(r.err().contains("Example:"), "no help page: " + r.err());
        }
    }
}

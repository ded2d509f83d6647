package dev.ckpt.store.util;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NearNamesTest {
    private static final List<String> COMMANDS = List.of("init", "push", "ls", "restore", "verify", "forget", "gc",
            "doctor", "recover", "stats", "import", "export", "diff", "pin", "help");
    private static final List<String> OPTIONS = List.of("--json", "--run", "--step", "--steps", "--seed", "--progress",
            "--verbose", "--stall-timeout", "--dry-run", "--save-every", "--help", "--keep-last", "--keep-best",
            "--keep-every-steps");

    /** What picocli's suggestions got wrong (bogus: push; --stepp: --stall-timeout; psuh, --jason: nothing), and more. */
    @Test
    void onlyTheNearestNamesWithinAnEditOrTwoOrByPrefix() {
        Map<String, List<String>> commands = Map.ofEntries(
                Map.entry("bogus", List.of()), Map.entry("xyz", List.of()), Map.entry("x", List.of()),
                Map.entry("psuh", List.of("push")), Map.entry("puhs", List.of("push")), Map.entry("pus", List.of("push")),
                Map.entry("restor", List.of("restore")), Map.entry("recovr", List.of("recover")),
                Map.entry("verfy", List.of("verify")), Map.entry("lss", List.of("ls")), Map.entry("LS", List.of("ls")),
                Map.entry("gcc", List.of("gc")), Map.entry("statuss", List.of("stats")), Map.entry("ver", List.of("verify")),
                Map.entry("expor", List.of("export")), Map.entry("pn", List.of("pin")), Map.entry("push", List.of()),
                Map.entry("sl", List.of("ls")), Map.entry("cg", List.of("gc")), Map.entry("upsh", List.of("push")));
        commands.forEach((typed, near) -> assertEquals(near, NearNames.near(typed, COMMANDS), typed));
        Map<String, List<String>> options = Map.ofEntries(
                Map.entry("--jsn", List.of("--json")), Map.entry("--jason", List.of("--json")),
                Map.entry("-json", List.of("--json")), Map.entry("--JSON", List.of("--json")),
                Map.entry("--jason=1", List.of("--json")), Map.entry("--run-id", List.of("--run")),
                Map.entry("--prog", List.of("--progress")), Map.entry("--verbos", List.of("--verbose")),
                Map.entry("--stepp", List.of("--step", "--steps")), Map.entry("--stepz", List.of("--step", "--steps")),
                Map.entry("--stp", List.of("--step")), Map.entry("--sed", List.of("--seed")),
                Map.entry("--bogus", List.of()), Map.entry("--stall", List.of("--stall-timeout")),
                Map.entry("--save-evry", List.of("--save-every")), Map.entry("--dryrun", List.of("--dry-run")),
                // helper-139: a prefix ahead of a name two letters away, and swapped neighbours
                Map.entry("--keep", List.of("--keep-best", "--keep-every-steps", "--keep-last")),
                Map.entry("--rnu", List.of("--run")), Map.entry("--jsno", List.of("--json")));
        options.forEach((typed, near) -> assertEquals(near, NearNames.near(typed, OPTIONS), typed));
        assertEquals(List.of("--steps"), NearNames.near("--step", List.of("--seed", "--steps")),
                "ckpt-train's --step: --seed is two letters changed, --steps one");
        assertTrue(NearNames.swapped("abcd", "abdc") && NearNames.swapped("ba", "ab") && !NearNames.swapped("abcd", "badc")
                && !NearNames.swapped("abc", "abc") && !NearNames.swapped("abc", "acbd"));
        assertEquals(List.of("--aa", "--ab", "--ac"), NearNames.near("--a", List.of("--ad", "--ac", "--ab", "--aa")),
                "at most three, by name");
    }
}

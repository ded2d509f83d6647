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
            assertFalse(r.err().contains("Example"), "no help page: " + r.err());
        }
    }

    /**
     * A mistyped command or option is offered the names near it only: picocli's own suggestions
     * asked "Did you mean: ckpt-tool push?" of {@code bogus}, offered {@code --stall-timeout} for
     * {@code --stepp}, and nothing for {@code psuh} or {@code --jason}. Every command's options,
     * and the shared ones before the command name, alike.
     */
    @Test
    void aMistypedCommandOrOptionIsOfferedTheNearNamesOnly() {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        String store = tmp.resolve("s").toString();
        assertEquals(0, cli.run("init", store).code());
        Map<List<String>, String> cases = new java.util.LinkedHashMap<>();
        cases.put(List.of("bogus", store), null);
        cases.put(List.of("psuh", store), "Did you mean: ckpt-tool push?");
        cases.put(List.of("restor", store), "Did you mean: ckpt-tool restore?"); // not doctor, stats
        cases.put(List.of("recovr", store), "Did you mean: ckpt-tool recover?"); // not restore
        cases.put(List.of("LS", store), "Did you mean: ckpt-tool ls?");
        cases.put(List.of("ls", store, "--stepp"), null); // picocli: --stall-timeout
        cases.put(List.of("ls", store, "--jason"), "Possible solutions: --json");
        cases.put(List.of("gc", store, "--dryrun"), "Possible solutions: --dry-run");
        cases.put(List.of("verify", store, "--read-dat"), "Possible solutions: --read-data");
        cases.put(List.of("ls", store, "-x"), null);
        cases.put(List.of("help", "lss"), "Did you mean: ckpt-tool help ls?"); // help's own refusal (helper-139)
        for (Map.Entry<List<String>, String> c : cases.entrySet()) {
            Cli.Result r = cli.run(c.getKey().toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), c.getKey() + ": " + r);
            List<String> hints = r.err().lines().filter(l -> l.startsWith("Did you mean") || l.startsWith("Possible")).toList();
            assertEquals(c.getValue() == null ? List.of() : List.of(c.getValue()), hints, c.getKey() + ": " + r);
        }
        // a required option mistyped is missing, and the word given for it is no name to put after --
        Cli.Result required = cli.run("push", store, tmp.toString(), "--run", "r", "--stepp", "1");
        assertTrue(required.err().startsWith("ckpt-tool push: Missing required option: '--step=STEP' ('--stepp' is not an"
                + " option of this command: did you mean --step?)"), required.toString());
        Cli.Result dashed = cli.run("push", store, "--run", "r", "--step", "1", "-ddir");
        assertTrue(dashed.err().contains("('-ddir' was read as an option: a name that starts with '-' goes after --"),
                dashed.toString());
        // helper-139: a swapped pair (--rnu) for a required option; a mistyped option after a value is no value with
        // spaces; --help and --version before the command are near too
        Cli.Result swapped = cli.run("push", store, tmp.toString(), "--step", "1", "--rnu", "r");
        assertTrue(swapped.err().contains("('--rnu' is not an option of this command: did you mean --run?)"), swapped.toString());
        Cli.Result afterValue = cli.run("push", store, tmp.toString(), "--step", "1", "--run", "r", "--alow-empty");
        assertFalse(afterValue.err().contains("needs quotes"), afterValue.toString());
        assertTrue(afterValue.err().contains("\nPossible solutions: --allow-empty\n"), afterValue.toString());
        assertTrue(cli.run("--hlep", "ls", store).err().startsWith("ckpt-tool: Unknown option: '--hlep' (did you mean --help?)"));
        Cli.Result keep = cli.run("forget", store, "--keep", "1");
        assertTrue(keep.err().contains("\nPossible solutions: --keep-best, --keep-every-steps, --keep-last\n"), keep.toString());
        Cli.Result shared = cli.run("--jason", "ls", store); // a shared option before the command
        assertTrue(shared.err().startsWith("ckpt-tool: Unknown option: '--jason' (did you mean --json?)"), shared.toString());
        Cli.Result far = cli.run("--stepp", "ls", store);
        assertTrue(far.err().startsWith("ckpt-tool: Unknown option: '--stepp' (only the options every command has"),
                far.toString());
    }

    /**
     * A checkpoint argument of the wrong shape ({@code RUN@x}) is a usage error in every command
     * that takes one, said before the store is read, naming the argument and the shapes there are;
     * it was exit 1, as for a checkpoint the store does not hold (helper-105), which stays 1. For
     * the commands that take a list, the reason too (picocli said only "Unmatched argument").
     */
    @Test
    void aCheckpointOfTheWrongShapeIsAUsageErrorInEveryCommandThatTakesOne() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        String store = tmp.resolve("s").toString();
        assertEquals(0, cli.run("init", store).code());
        String out = tmp.resolve("out").toString();
        for (List<String> args : List.of(List.of("restore", store, "r@abc", out), List.of("show", store, "r@"),
                List.of("diff", store, "r@1", "r@x"), List.of("diff", store, "r@1.5", "r@1"), List.of("pin", store, "r@q"),
                List.of("unpin", store, "r@q"), List.of("export", store, "r@q", tmp.resolve("x.tar.zst").toString()),
                List.of("verify", store, "latest", "r@1.5"), List.of("forget", store, "r@2", "r@-"))) {
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), args + ": " + r);
            String bad = args.stream().filter(a -> a.matches("r@.*") && !a.matches("r@[0-9]+")).findFirst().orElseThrow();
            // the same words in every command, without picocli's "positional parameter at index 1" (helper-117)
            String label = args.get(0).equals("diff") ? (args.get(2).equals(bad) ? "A" : "B") : "CKPT";
            assertTrue(r.err().lines().findFirst().orElseThrow().startsWith("ckpt-tool " + args.get(0) + ": Invalid value"
                    + " for " + label + ": '" + bad + "'")
                    && r.err().contains("'" + bad + "': the step after '@' must be a whole number, 0 or more (a checkpoint"
                    + " is named by its id, latest, RUN:latest or RUN@STEP)"), args + ": " + r);
        }
        // shapes no push can make (helper-115: "+400" and Arabic-Indic digits were step 400, "@5" was looked up and
        // "may have been dropped by retention"); said on one line, escaped
        Map<String, String> shapes = new java.util.LinkedHashMap<>();
        shapes.put("r@+4", "'r@+4': the step after '@' must be a whole number, 0 or more");
        shapes.put("r@\u0664", "'r@\u0664': the step after '@' must be a whole number, 0 or more");
        shapes.put("r@-1", "'r@-1': the step after '@' must be a whole number, 0 or more");
        // a step push takes is a step a selector takes: up to 19 digits (helper-120: 19 were "no whole number")
        shapes.put("r@9223372036854775808", "'r@9223372036854775808': the step after '@' must be at most"
                + " 9223372036854775807, the largest a push takes");
        shapes.put("r@12345678901234567890", "the step after '@' must be at most 9223372036854775807");
        shapes.put("a b@1", "'a b@1': the run before '@' must be 1-100 ASCII letters, digits, '.', '_' or '-'");
        shapes.put("@5", "'@5': a checkpoint id is 1-100 ASCII letters");
        shapes.put("latest:x", "'latest:x': a checkpoint id is 1-100 ASCII letters");
        shapes.put(":latest", "':latest': the run before ':latest' must be 1-100 ASCII letters");
        shapes.put("a\nb", "'a\\u000Ab': a checkpoint id is 1-100 ASCII letters");
        for (Map.Entry<String, String> c : shapes.entrySet()) {
            Cli.Result r = cli.run("show", store, c.getKey());
            assertEquals(ExitCode.USAGE, r.code(), c.getKey() + ": " + r);
            assertTrue(r.err().lines().findFirst().orElseThrow().contains(c.getValue()), c.getKey() + ": " + r);
        }
        // a dashed word read as an option moves the next argument up into CKPT: the message names it (helper-117)
        Cli.Result dashed = cli.run("restore", store, "-x", "rt/q1");
        assertEquals(ExitCode.USAGE, dashed.code(), dashed.toString());
        assertTrue(dashed.err().lines().findFirst().orElseThrow().contains("'-x' was read as an option"), dashed.toString());
        for (String fine : List.of("latest", "r:latest", "r@0", "r-s1-0a1b2c3d", "r.x_y-1@12", "r@9223372036854775807")) {
            assertEquals(ExitCode.ERROR, cli.run("show", store, fine).code(), fine + ": a shape the store is asked about");
        }
        java.nio.file.Path big = java.nio.file.Files.createDirectories(tmp.resolve("big"));
        java.nio.file.Files.writeString(big.resolve("a"), "a");
        assertEquals(0, cli.run("push", store, big.toString(), "--run", "huge", "--step", "9223372036854775807").code());
        Cli.Result shown = cli.run("show", store, "huge@9223372036854775807");
        assertEquals(0, shown.code(), shown.toString());
        Cli.Result zeros = cli.run("show", store, "huge@0009223372036854775807"); // as push takes it (helper-121)
        assertEquals(0, zeros.code(), zeros.toString());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("out")) || java.nio.file.Files.exists(tmp.resolve("x.tar.zst")));
        Cli.Result missing = cli.run("restore", store, "r@7", out);
        assertEquals(ExitCode.ERROR, missing.code(), "a checkpoint the store does not hold: " + missing);
        assertEquals(ExitCode.ERROR, cli.run("show", store, "nosuch").code(), "an id it does not hold");
    }

    /** An unquoted value with a space ({@code --run my run}) gets a hint to quote it (helper-98). */
    @Test
    void anUnquotedValueWithASpaceSaysToQuoteIt() {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Cli.Result r = cli.run("push", tmp.resolve("s").toString(), tmp.toString(), "--run", "my", "run", "--step", "1");
        assertEquals(ExitCode.USAGE, r.code(), r.toString());
        assertTrue(r.err().contains("'run' (it follows --run my: a value with spaces needs quotes, --run 'my run')"),
                r.toString());
        Cli.Result other = cli.run("ls", tmp.resolve("s").toString(), "extra");
        assertTrue(!other.err().contains("needs quotes"), "not after an option's value: " + other);
    }

    @Test
    void badPushAndImportArgumentsAreUsageErrorsThatCreateNoStore() throws java.io.IOException {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path src = java.nio.file.Files.createDirectories(tmp.resolve("src"));
        java.nio.file.Files.writeString(src.resolve("w.bin"), "w");
        String store = tmp.resolve("never").toString();
        String dir = src.toString();
        Map<List<String>, String> cases = new java.util.LinkedHashMap<>();
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "=0.3"), "has no key");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "loss=1", "--meta", "loss=2"),
                "--meta key 'loss' given twice ('1' and '2')");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "loss"), "takes KEY=VALUE, got 'loss'");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k".repeat(100_000) + "=v"),
                "is 100000 bytes long; keys may have at most 256 bytes");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "\u00a0=x"), "has no key");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k =4"), "starts or ends with a space");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\nx=v"), "--meta key 'k\\u000Ax' holds a control character");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "\u200b=x"), "has no key");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\u200b=x"),
                "holds an invisible, space-like or line-breaking character (U+200B)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\u2028x=v"), "--meta key 'k\\u2028x' holds an invisible");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\ufe0f=v"), "(U+FE0F)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\u034f=v"), "(U+034F)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\u3164=v"), "(U+3164)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\u2800=v"), "(U+2800)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "a\u00a0b=v"), "(U+00A0)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\u2028=v"), "(U+2028)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "\u0301=v"), "starts with a combining mark");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "\ufeffk=v"), "(U+FEFF)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k\ufffd=v"), "is not valid UTF-8");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "k=v\ufffd"), "is not valid UTF-8");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--meta", "caf\u00e9=1", "--meta", "cafe\u0301=2"),
                "--meta key 'caf\u00e9' given twice ('1' and '2')");
        cases.put(List.of("push", store, dir, "--run", "r/x", "--step", "1"), "--run: invalid run name 'r/x'");
        cases.put(List.of("push", store, dir, "--run", "a..b", "--step", "1"), "--run: invalid run name 'a..b'");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "-1"), "--step must be 0 or more, got -1");
        // a name that starts with '-' is read as an option: the missing name's error says so (helper-91)
        cases.put(List.of("push", store, "-ddir", "--run", "r", "--step", "1"),
                "Missing required parameter: 'DIR' ('-ddir' was read as an option: a name that starts with '-' goes after --");
        cases.put(List.of("ls", "-store"), "('-store' was read as an option");

        // numbers in words, not Java's type names ("'abc' is not a long": helper-91)
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "abc"), "--step': 'abc' is not a whole number");
        // digits of another script, which Java's parsers take (helper-127: push --step \u0663 saved step 3)
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "\u0663"),
                "--step': '\u0663' is not a whole number (write it with the digits 0-9)");
        cases.put(List.of("forget", store, "--keep-last", "\uFF12"), "'\uFF12' is not a whole number (write it with the digits 0-9)");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1_000"), "--step': '1_000' is not a whole number");
        // a control character before the digits is no blank (helper-130: ESC 7 saved step 7); --read-data's percentage too
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "\u001b7"), "--step': '\\u001B7' is not a whole number");
        cases.put(List.of("verify", store, "--read-data=\u0665\u0660"), "'\u0665\u0660' is not a whole percentage");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "99999999999999999999"),
                "--step': '99999999999999999999' is too large");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--keep-last", "3000000000"),
                "--keep-last': '3000000000' is too large");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--keep-last=-99999999999"),
                "--keep-last': '-99999999999' is too small");
        // a name the JVM decoded with U+FFFD for bytes that are not UTF-8: it would name another file (helper-128: a
        // restore into new\xfe made and filled new\uFFFD, exit 0)
        cases.put(List.of("restore", store, "latest", tmp.resolve("new\uFFFD").toString()),
                "new\uFFFD' holds bytes that are not UTF-8");
        cases.put(List.of("push", store, tmp.resolve("src\uFFFD").toString(), "--run", "r", "--step", "1"),
                "src\uFFFD' holds bytes that are not UTF-8");
        cases.put(List.of("ls", tmp.resolve("st\uFFFDre").toString()), "st\uFFFDre' holds bytes that are not UTF-8");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--world-size", "two", "--rank", "0"),
                "--world-size': 'two' is not a whole number");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--epoch", "-3"), "--epoch must be 0 or more, got -3");
        cases.put(List.of("push", store, dir, "--run", "r", "--step", "1", "--keep-last", "0"), "--keep-last");
        cases.put(List.of("import", store, tmp.resolve("a.tar.zst").toString(), "--run", "r", "--step", "-5"),
                "--step must be 0 or more, got -5");
        cases.forEach((args, reason) -> {
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), args + ": " + r);
            String first = r.err().lines().findFirst().orElse("");
            assertTrue(first.startsWith("ckpt-tool " + args.get(0) + ": ") && first.contains(reason), args + ": " + r.err());
            assertFalse(java.nio.file.Files.exists(Path.of(store)), args + " created the store");
        });
        // an option's value that starts with '-' is no name: no hint for it (helper-92's --run -x)
        Cli.Result valued = cli.run("push", store, "--run", "-x", "--step", "1");
        assertEquals(ExitCode.USAGE, valued.code(), valued.toString());
        assertEquals("ckpt-tool push: Missing required parameter: 'DIR'", valued.err().lines().findFirst().orElse(""));
        // not usage errors, but found before the store is opened: nothing is created either
        for (List<String> args : List.of(List.of("push", store, tmp.resolve("no-such-dir").toString(), "--run", "r", "--step", "1"),
                List.of("import", store, tmp.resolve("no-such.tar.zst").toString(), "--run", "r", "--step", "1"))) {
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(ExitCode.ERROR, r.code(), args + ": " + r);
            assertTrue(r.err().contains("no-such"), r.err());
            assertFalse(java.nio.file.Files.exists(Path.of(store)), args + " created the store");
        }
        // refused once the store is open (an archive that is not an export): the store it created is removed again
        Path garbage = tmp.resolve("garbage.tar.zst");
        java.nio.file.Files.write(garbage, com.github.luben.zstd.Zstd.compress("not a tar".getBytes()));
        Cli.Result refused = cli.run("import", store, garbage.toString(), "--run", "r", "--step", "1");
        assertEquals(ExitCode.ERROR, refused.code(), refused.toString());
        assertFalse(java.nio.file.Files.exists(Path.of(store)), "a refused import left the store it created: " + refused);
        Path nested = tmp.resolve("a/b/store");
        assertEquals(ExitCode.ERROR, cli.run("import", nested.toString(), garbage.toString(), "--run", "r", "--step", "1").code());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("a")), "nor the parents it created for it");
        Path existing = java.nio.file.Files.createDirectories(tmp.resolve("existing-empty"));
        assertEquals(ExitCode.ERROR, cli.run("import", existing.toString(), garbage.toString(), "--run", "r", "--step", "1").code());
        assertTrue(java.nio.file.Files.isDirectory(existing), "a directory that was there before is left alone");
        Cli.Result ok = cli.run("push", store, dir, "--run", "r", "--step", "0", "--epoch", "0", "--meta", "note=a=b",
                "--meta", "loss=", "--meta", "cafe\u0301=latte", "--meta", "learning rate=0.1",
                "--meta", "log=a\nb\u001b[31m\u202e", "--json");
        assertEquals(0, ok.code(), ok.toString());
        Cli.Result text = cli.run("show", store, "r@0");
        assertTrue(text.out().contains("    log=a\\u000Ab\\u001B[31m\\u202E\n") && text.out().contains("    note=a=b\n")
                && !text.out().contains("\u001b") && !text.out().contains("\u202e"), "escaped, one pair a line: " + text.out());
        Cli.Result show = cli.run("show", store, "r@0", "--json");
        assertEquals("latte", show.json().get("metadata").get("caf\u00e9").asText(), "stored under the NFC key: " + show.out());
        assertEquals("a=b", show.json().at("/metadata/note").asText(), show.out());
        assertEquals("", show.json().at("/metadata/loss").asText(), show.out());
    }

    @Test
    void aPushRefusedForItsSourceNeitherCreatesAStoreNorClaimsTheRun() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path good = java.nio.file.Files.createDirectories(tmp.resolve("good"));
        java.nio.file.Files.writeString(good.resolve("w.bin"), "w");
        Path bad = java.nio.file.Files.createDirectories(tmp.resolve("bad"));
        java.nio.file.Files.writeString(bad.resolve("w.bin"), "w");
        java.nio.file.Files.createSymbolicLink(bad.resolve("link"), good.resolve("w.bin"));

        String fresh = tmp.resolve("fresh").toString();
        Cli.Result r = cli.run("push", fresh, bad.toString(), "--run", "r", "--step", "1");
        assertEquals(ExitCode.ERROR, r.code(), r.toString());
        assertTrue(r.err().contains("link") && r.err().contains("nothing was saved"), r.err());
        assertFalse(java.nio.file.Files.exists(Path.of(fresh)), "no store created");

        String store = tmp.resolve("s").toString();
        assertEquals(0, cli.run("push", store, good.toString(), "--run", "r", "--step", "1").code());
        byte[] root = java.nio.file.Files.readAllBytes(Path.of(store, "ROOT"));
        Cli.Result again = cli.run("push", store, bad.toString(), "--run", "r", "--step", "2");
        assertEquals(ExitCode.ERROR, again.code(), again.toString());
        org.junit.jupiter.api.Assertions.assertArrayEquals(root, java.nio.file.Files.readAllBytes(Path.of(store, "ROOT")),
                "ROOT untouched: the run's writer (a trainer, say) is not fenced by a refused push");
    }

    /**
     * Options after {@code --} are names, and a usage error says so (helper-119: {@code gc -- S
     * --dry-run} said "Unknown option: '--dry-run'" and suggested '--dry-run'; {@code push S --
     * SRC --run r} said only "Missing required options"). A dashed checkpoint name is told to drop
     * its dashes ({@code verify S -latest}: a bare "Unknown option"), and a switch given a value
     * says it takes none ("'x' is not a boolean").
     */
    @Test
    void optionsAfterDoubleDashDashedCheckpointsAndSwitchValuesAreSaidInWords() {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        String store = tmp.resolve("s").toString();
        String src = tmp.resolve("src").toString();
        assertEquals(0, cli.run("init", store).code());
        String out = tmp.resolve("out").toString();
        Map<List<String>, String> cases = new java.util.LinkedHashMap<>();
        cases.put(List.of("gc", "--", store, "--dry-run"),
                "('--dry-run' follows --, so it was read as a name, not an option: every option goes before --)");
        cases.put(List.of("push", store, "--", src, "--run", "r", "--step", "1"),
                "Missing required options: '--run=RUN', '--step=STEP' ('--run' follows --, so it was read as a name");
        cases.put(List.of("push", store, "--run", "r", "--", src, "--step=1"), "('--step=1' follows --");
        cases.put(List.of("verify", store, "-latest"),
                "Unknown option: '-latest' ('-latest' was read as an option: a checkpoint is named without dashes, as latest)");
        cases.put(List.of("show", store, "--r:latest"), "('--r:latest' was read as an option: a checkpoint is named"
                + " without dashes, as r:latest)");
        cases.put(List.of("restore", store, "--r@3", out), "a checkpoint is named without dashes, as r@3)");
        cases.put(List.of("diff", store, "r@1", "--latest"), "a checkpoint is named without dashes, as latest)");
        cases.put(List.of("verify", store, "--record=x"), "'x': this option is a switch and takes no value");
        cases.put(List.of("ls", store, "--json=maybe"), "'maybe': this option is a switch and takes no value");
        // with = and nothing after it: picocli read it as =false (helper-121: ls S --json= printed text, exit 0)
        cases.put(List.of("ls", store, "--json="), "'--json=': this option is a switch and takes no value (give --json alone");
        cases.put(List.of("gc", store, "--dry-run="), "'--dry-run=': this option is a switch");
        cases.put(List.of("verify", store, "-v="), "'-v=': this option is a switch");
        // --help with a value: picocli counted it as asking, so --help=false printed the help and ran nothing (helper-143)
        cases.put(List.of("ls", store, "--help=false"), "'--help=false': --help takes no value (give it alone for the help,"
                + " or leave it out)");
        cases.put(List.of("gc", "-h=1", store), "'-h=1': -h takes no value");
        cases.put(List.of("help", "ls", "--help=true"), "'--help=true': --help takes no value");
        // with -v before it (helper-147: push's help, exit 0, nothing pushed), or nothing after '='
        cases.put(List.of("push", store, src, "--run", "r", "--step", "9", "-vh=false"), "'-vh=false': -h takes no value"
                + " (give it alone for the help, or leave it out)");
        cases.put(List.of("ls", "-vh=1", store), "'-vh=1': -h takes no value");
        cases.put(List.of("ls", store, "-vh="), "'-vh=': -h takes no value (give it alone for the help, or leave it out)");
        cases.put(List.of("ls", store, "--help="), "'--help=': --help takes no value");
        cases.put(List.of("ls", store, "-h="), "'-h=': -h takes no value");
        for (Map.Entry<List<String>, String> c : cases.entrySet()) {
            Cli.Result r = cli.run(c.getKey().toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), c.getKey() + ": " + r);
            String first = r.err().lines().findFirst().orElseThrow();
            assertTrue(first.contains(c.getValue()), c.getKey() + ": " + r);
            assertFalse(r.err().contains("Possible solutions") || r.err().contains("boolean"), c.getKey() + ": " + r);
        }
        // helper-121's cases: the -- hint where a checkpoint is refused too; the dashes hint only where a checkpoint is
        // what is missing, refused or may be added; a dashed id; no "quotes" hint for a number
        Map<List<String>, String> more = new java.util.LinkedHashMap<>();
        more.put(List.of("forget", store, "--run", "r", "--", "--keep-last", "1"), "('--keep-last' follows --, so it was"
                + " read as a name, not an option: every option goes before --)");
        more.put(List.of("show", store, "--", "--json"), "('--json' follows --");
        more.put(List.of("restore", store, "latest", "-latest"), "Missing required parameter: 'DIR' ('-latest' was read as"
                + " an option: a name that starts with '-' goes after --");
        more.put(List.of("show", store, "-abc123"), "('-abc123' was read as an option; a checkpoint's name never starts"
                + " with '-')");
        more.put(List.of("verify", store, "-r-s1-663f7907"), "a checkpoint is named without dashes, as r-s1-663f7907)");
        for (Map.Entry<List<String>, String> c : more.entrySet()) {
            Cli.Result r = cli.run(c.getKey().toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), c.getKey() + ": " + r);
            assertTrue(r.err().lines().findFirst().orElseThrow().contains(c.getValue()), c.getKey() + ": " + r);
        }
        for (List<String> args : List.of(List.of("restore", store, "latest", out, "-latest"), List.of("verify", store, "-hlatest"),
                List.of("forget", store, "-vlatest"),
                List.of("export", store, "latest", tmp.resolve("o.tar.zst").toString(), "-latest"),
                List.of("push", store, src, "--run", "r", "--step", "1", "-latest"))) {
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.code(), args + ": " + r);
            assertFalse(r.err().contains("without dashes") || r.err().contains("needs quotes"), args + ": " + r);
        }
        // a switch's value read as before; an option before -- is no name
        assertEquals(0, cli.run("ls", store, "--json=true").code());
        assertEquals(0, cli.run("ls", store, "--json=FALSE").code());
        Cli.Result mistyped = cli.run("gc", store, "--dry-rn");
        assertTrue(mistyped.err().contains("Possible solutions: --dry-run") && !mistyped.err().contains("follows --"),
                mistyped.toString());
    }

    /**
     * A STORE of the wrong shape is a usage error (exit 2) in every command, said before anything
     * is opened or made, as a blank STORE and a CKPT of the wrong shape are: a mistyped S3 URL
     * exited 1 (helper-119). A store that is missing stays exit 1.
     */
    @Test
    void aStoreOfTheWrongShapeIsAUsageErrorInEveryCommand() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path src = java.nio.file.Files.createDirectories(tmp.resolve("src"));
        java.nio.file.Files.writeString(src.resolve("a"), "a");
        Map<String, String> stores = new java.util.LinkedHashMap<>();
        stores.put("s3:/bucket/x", "write s3://bucket/x (two slashes after 's3:')");
        stores.put("s3://", "S3 URL 's3://' names no bucket");
        stores.put("s3:///x", "names no bucket");
        stores.put("S3://bucket/x", "write s3://bucket/x, the scheme in lower case");
        stores.put("s3://Bad_Bucket/x", "invalid S3 bucket name 'Bad_Bucket'");
        stores.put("s3://bucket/a//b", "has an empty segment ('//') in its prefix");
        stores.put("s4://bucket", "unknown scheme 's4'");
        stores.put("file://host/x", "is not a valid file URL");
        String out = tmp.resolve("out").toString();
        for (Map.Entry<String, String> c : stores.entrySet()) {
            String st = c.getKey();
            for (List<String> args : List.of(List.of("init", st), List.of("ls", st), List.of("push", st, src.toString(),
                    "--run", "r", "--step", "1"), List.of("restore", st, "latest", out), List.of("gc", st),
                    List.of("verify", st), List.of("doctor", st), List.of("recover", st))) {
                Cli.Result r = cli.run(args.toArray(String[]::new));
                assertEquals(ExitCode.USAGE, r.code(), args + ": " + r);
                assertTrue(r.err().startsWith("ckpt-tool " + args.get(0) + ": Invalid value for STORE: ")
                        && r.err().lines().findFirst().orElseThrow().contains(c.getValue()), args + ": " + r);
            }
        }
        assertFalse(java.nio.file.Files.exists(Path.of(out)), "nothing made");
        assertFalse(java.nio.file.Files.exists(Path.of("s3:")), "no directory ./s3: made");
        Cli.Result missing = cli.run("ls", tmp.resolve("none").toString());
        assertEquals(1, missing.code(), missing.toString());
    }
}

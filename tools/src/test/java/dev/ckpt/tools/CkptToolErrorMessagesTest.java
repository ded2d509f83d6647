package dev.ckpt.tools;

import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Errors a user can cause say what, where and what to do, in one line, without Java class
 * names (those only with --verbose): every command driven with bad inputs.
 */
class CkptToolErrorMessagesTest {
    /** A Java class or package name in a message. */
    static final Pattern JAVA = Pattern.compile("\\b[A-Z][a-zA-Z]+(Exception|Error)\\b|\\bjavax?\\.[a-z]");

    @TempDir
    Path tmp;

    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    private String store;
    private String id;
    private Path archive;

    private void setUpStore() throws Exception {
        store = tmp.resolve("store").toString();
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 10_000);
        Cli.Result p = cli.run("push", store, src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, p.code(), p.toString());
        id = p.out().trim();
        archive = tmp.resolve("r.tar.zst");
        Cli.Result e = cli.run("export", store, id, archive.toString());
        assertEquals(0, e.code(), e.toString());
    }

    private final List<String> problems = new ArrayList<>();

    /** Runs a command that must fail; returns its stderr, noting any exit 0, Java name or second line in {@link #problems}. */
    private String fails(String... args) {
        Cli.Result r = cli.run(args);
        String what = String.join(" ", args).replace('\0', '@') + "\n" + r;
        if (r.code() == 0) {
            problems.add("exit 0: " + what);
        }
        if (JAVA.matcher(r.err()).find()) {
            problems.add("Java class name: " + what);
        }
        if (r.code() == 1 && r.err().strip().lines().count() != 1) {
            problems.add("not one line: " + what);
        }
        return r.err();
    }

    /**
     * helper-105: {@code restore STORE CKPT "$OUT"} with OUT unset restored into the current directory, replacing
     * files there, and push saved it. Every argument given as the empty string is refused, naming it, before the
     * store is opened.
     */
    @Test
    void anEmptyArgumentIsRefusedNotReadAsTheCurrentDirectory() throws Exception {
        setUpStore();
        String out = tmp.resolve("o").toString();
        for (String[] c : List.of(new String[]{"restore", store, id, ""}, new String[]{"restore", store, "", out},
                new String[]{"restore", store, id, out, "--reuse", ""}, new String[]{"push", store, "", "--run", "q",
                        "--step", "1"}, new String[]{"import", store, "", "--run", "q", "--step", "2"},
                new String[]{"export", store, id, ""}, new String[]{"show", store, ""}, new String[]{"ls", store, "--run", ""}, new String[]{"ls", store, "--run", " "},
                new String[]{"verify", store, ""}, new String[]{"forget", store, ""}, new String[]{"diff", store, id, ""},
                // blank: "$A $B" with A unset; the same words in every command (helper-115)
                new String[]{"restore", store, "  ", out}, new String[]{"show", store, " "}, new String[]{"diff", store, " ", id},
                new String[]{"verify", store, "  "}, new String[]{"forget", store, id, " "}, new String[]{"pin", store, " "},
                new String[]{"unpin", store, "\t"}, new String[]{"export", store, " ", out + ".tar.zst"},
                // a blank STORE as well (it exited 1, "no store given"; helper-117)
                new String[]{"verify", "  "}, new String[]{"ls", " "}, new String[]{"pin", "\t", "latest"},
                new String[]{"restore", "", id, out})) {
            Cli.Result r = cli.run(c);
            assertEquals(2, r.code(), String.join(" ", c) + " -> " + r);
            String first = r.err().lines().findFirst().orElse("");
            assertTrue(first.matches("ckpt-tool \\S+: \\S+ is empty \\(an unset variable\\?\\): give \\S+ a value( \\([^()]*\\)|: .*)?;"
                    + " nothing was changed"), String.join(" ", c) + " -> " + r.err());
        }
        // a mistyped --reuse restored with "0 reused" and no word; a negative --rank went to the store (helper-105)
        Cli.Result reuse = cli.run("restore", store, id, out, "--reuse", tmp.resolve("nope").toString());
        assertEquals(1, reuse.code(), reuse.toString());
        assertTrue(reuse.err().contains("--reuse " + tmp.resolve("nope") + " is not a directory (it does not exist)"),
                reuse.err());
        Cli.Result rank = cli.run("restore", store, id, out, "--rank", "-1");
        assertEquals(2, rank.code(), rank.toString());
        assertTrue(rank.err().contains("--rank must be 0 or more, got -1"), rank.err());
        assertEquals(List.of(), problems);
        assertTrue(cli.run("restore", store, id, "").err().startsWith("ckpt-tool restore: DIR is empty (an unset"
                + " variable?): give DIR a value (the target directory)"));
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing pushed or imported");
        assertTrue(!Files.exists(tmp.resolve("o")), "nothing restored");
    }

    /**
     * helper-105: show and diff printed file names as they are, so a name with an escape sequence (from an imported
     * archive) drove the operator's terminal, and one with a line break split its row; metadata was escaped already.
     * Error messages, which name files and selectors, escape them too, and keep their own line breaks.
     */
    /**
     * A path the system cannot take (over 4096 bytes) given to any command that reads or makes a
     * local path is said to be too long, never "does not exist" (helper-127: push's DIR and
     * import's archive were said not to exist; the checks of Java say that of such a path).
     */
    @Test
    void aPathTooLongForTheSystemIsSaidToBeSoByEveryCommand() throws Exception {
        store = tmp.resolve("store").toString();
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "r", "--step", "1").code());
        assertEquals(0, cli.run("export", store, "r@1", tmp.resolve("a.tar.zst").toString()).code());
        try (dev.ckpt.store.testing.TestDirs.LongPath deep = dev.ckpt.store.testing.TestDirs.longPath(tmp, lower -> {
            Files.createDirectories(lower.resolve("dir"));
            Files.writeString(lower.resolve("dir").resolve("w.bin"), "weights");
            Files.copy(tmp.resolve("a.tar.zst"), lower.resolve("a.tar.zst"));
            assertEquals(0, cli.run("init", lower.resolve("st").toString()).code());
        })) {
            Path d = deep.deepest();
            List<Cli.Result> results = List.of(
                    cli.run("push", store, d.resolve("dir").toString(), "--run", "r", "--step", "2"),
                    cli.run("push", d.resolve("st").toString(), src.toString(), "--run", "r", "--step", "2"),
                    cli.run("import", store, d.resolve("a.tar.zst").toString(), "--run", "i", "--step", "1"),
                    cli.run("export", store, "r@1", d.resolve("b.tar.zst").toString()),
                    cli.run("restore", store, "r@1", d.resolve("out").toString()),
                    cli.run("restore", store, "r@1", tmp.resolve("out").toString(), "--reuse", d.resolve("dir").toString()),
                    cli.run("init", d.resolve("new").toString()),
                    cli.run("ls", d.resolve("st").toString()));
            for (Cli.Result r : results) {
                assertTrue(r.code() != 0, r.toString());
                assertTrue((r.err().contains("bytes long, and the system takes at most 4095")
                        || r.err().contains("a path is limited to 4096 bytes")) && !r.err().contains("does not exist")
                        && !r.err().contains("Exception"), r.toString());
            }
        }
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing was saved");
    }

    /**
     * The paths given on the command line (the store, push's DIR, restore's target, the archive of
     * export and import) appear in progress lines, results, notes and suggested commands as a
     * terminal shows them: an escape sequence or a line break in a name is escaped, in a suggested
     * command as bash's $'...' quoting. restore's result printed its target raw, and forget's
     * "ckpt-tool gc STORE" quoted a name with an escape sequence in it as it was.
     */
    @Test
    void pathsGivenOnTheCommandLineCannotDriveTheTerminal() throws Exception {
        String esc = "\u001b[31m\r\n";
        Cli plain = cli.withCommon("--progress", "plain");
        Path dir = Files.createDirectories(tmp.resolve("src" + esc));
        Files.writeString(dir.resolve("w.bin"), "weights");
        String escStore = tmp.resolve("store" + esc).toString();
        List<Cli.Result> results = new java.util.ArrayList<>();
        results.add(plain.run("init", escStore));
        results.add(plain.run("push", escStore, dir.toString(), "--run", "e", "--step", "1"));
        results.add(plain.run("push", escStore, dir.toString(), "--run", "e", "--step", "2", "--keep-last", "1"));
        results.add(plain.run("restore", escStore, "e@2", tmp.resolve("out" + esc).toString()));
        String archive = tmp.resolve("a" + esc + ".tar.zst").toString();
        results.add(plain.run("export", escStore, "e@2", archive));
        results.add(plain.run("import", escStore, archive, "--run", "i", "--step", "1"));
        results.add(plain.run("forget", escStore, "i@1"));
        Path beside = Files.createDirectories(tmp.resolve("beside" + esc));
        Files.writeString(beside.resolve("other"), "x");
        results.add(plain.run("init", beside.toString())); // the note of a store made among other entries
        // helper-130's: names inside DIR in push's warnings, export's progress and its note on a name without
        // .tar.zst, a --json result with C1 controls and a line separator
        Files.createDirectories(dir.resolve("empty" + esc).resolve("sub"));
        results.add(plain.run("push", escStore, dir.toString(), "--run", "e", "--step", "3"));
        results.add(plain.run("export", escStore, "e@2", tmp.resolve("b" + esc + "\t.bin").toString()));
        Cli.Result json = cli.run("restore", escStore, "e@2", tmp.resolve("j\u009b\u2028\u202e").toString(), "--json");
        results.add(json);
        for (Cli.Result r : results) {
            assertEquals(0, r.code(), r.toString());
            // nothing a terminal would act on: every line as it would be shown escaped (line breaks and tabs kept)
            assertEquals(dev.ckpt.store.util.Printable.of(r.out(), true), r.out(), r.toString());
            assertEquals(dev.ckpt.store.util.Printable.of(r.err(), true), r.err(), r.toString());
        }
        assertEquals(tmp.resolve("j\u009b\u2028\u202e").toString(), json.json().get("directory").asText(),
                "JSON's escape of the same characters: " + json.out());
        assertTrue(results.get(9).err().lines().noneMatch(l -> l.startsWith("\t") || l.startsWith(".bin")),
                "export's progress on one line: " + results.get(9).err());
        assertTrue(results.get(3).out().contains("into " + tmp.resolve("out") + "\\u001B[31m\\u000D\\u000A;"), results.get(3).out());
        assertTrue(results.get(1).err().contains("push " + tmp.resolve("src") + "\\u001B[31m\\u000D\\u000A ..."),
                results.get(1).err());
        assertTrue(results.get(2).err().contains("(ckpt-tool gc $'" + escStore.replace(esc, "") + "\\x1B[31m\\x0D\\x0A'"),
                results.get(2).err());
    }

    /**
     * A line break in a name (a file of the checkpoint, a link's target, an archive's entry) is escaped in an error
     * like any other control character: it split the message, so the user could not tell where the name ended and a
     * name could fake a line after it (helper-131's survey: about 70 messages). Only a listing error keeps its lines,
     * one per refused entry, each entry's own line breaks escaped.
     */
    @Test
    void aLineBreakInANameCannotSplitAnError() throws Exception {
        store = tmp.resolve("store").toString();
        Path src = Files.createDirectories(tmp.resolve("nl"));
        Files.writeString(src.resolve("a\nb.txt"), "y");
        Files.writeString(src.resolve("c.txt"), "z");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "n", "--step", "1").code());
        // restore: a directory where the checkpoint has the file "a\nb.txt" (a name from the manifest)
        Path out = Files.createDirectories(tmp.resolve("out").resolve("a\nb.txt"));
        Files.writeString(out.resolve("keep"), "k");
        Cli.Result restore = cli.run("restore", store, "n@1", tmp.resolve("out").toString());
        // push: one refused entry, a link whose target holds a line break; then two: a listing
        Path links = Files.createDirectories(tmp.resolve("links"));
        Files.createSymbolicLink(links.resolve("l.bin"), Path.of("gone\nckpt-tool push: fake"));
        Cli.Result pushOne = cli.run("push", store, links.toString(), "--run", "n", "--step", "2");
        Files.createSymbolicLink(links.resolve("m.bin"), Path.of("x"));
        Cli.Result pushTwo = cli.run("push", store, links.toString(), "--run", "n", "--step", "2");
        // import: an archive whose entries (names with line breaks) lead out of it: one, then two
        Cli.Result importOne = cli.run("import", store, archive("one", "files/../x\nfake: line").toString(), "--run", "i",
                "--step", "1");
        Cli.Result importTwo = cli.run("import", store, archive("two", "files/../x\nfake: line", "files/../../y\nz")
                .toString(), "--run", "i", "--step", "1");
        for (Cli.Result r : List.of(restore, pushOne, importOne)) {
            assertEquals(1, r.code(), r.toString());
            List<String> said = r.err().lines().filter(l -> l.startsWith("ckpt-tool ") || !l.contains(" ...")).toList();
            assertEquals(1, said.size(), "one line: " + r.err());
            assertTrue(said.get(0).contains("\\u000A"), r.err());
        }
        assertTrue(restore.err().contains("a\\u000Ab.txt is a directory where the checkpoint has the file a\\u000Ab.txt"),
                restore.err());
        for (Cli.Result r : List.of(pushTwo, importTwo)) {
            assertEquals(1, r.code(), r.toString());
            List<String> said = r.err().lines().filter(l -> !l.endsWith(" ...")).toList();
            assertEquals(3, said.size(), "a heading and two entries: " + r.err());
            assertTrue(said.get(0).startsWith("ckpt-tool ") && said.get(0).endsWith(":"), r.err());
            assertTrue(said.get(1).startsWith("  ") && said.get(2).startsWith("  "), r.err());
            assertTrue(said.get(1).contains("\\u000A") && (r == importTwo ? said.get(2).contains("y\\u000Az") : true), r.err());
        }
        assertTrue(pushTwo.err().contains("(to gone\\u000Ackpt-tool push: fake, which"), pushTwo.err());
        assertEquals(0, cli.run("ls", store, "--run", "i", "--json").json().get("checkpoints").size(), "nothing imported");
        // push's warnings name the entries it left out on one line too
        Files.createDirectories(src.resolve("empty\nckpt-tool: fake"));
        Files.writeString(Files.createDirectories(src.resolve("sub\nckpt-tool: fake")).resolve(".ckpt-0123456789ab.tmp"),
                "a restore's temporary, as named");
        Cli.Result warned = cli.run("push", store, src.toString(), "--run", "n", "--step", "3");
        assertEquals(0, warned.code(), warned.toString());
        assertTrue(warned.err().lines().noneMatch(l -> l.startsWith("ckpt-tool: fake")), warned.err());
        assertTrue(warned.err().contains("empty\\u000Ackpt-tool: fake"), warned.err());
        assertTrue(warned.err().contains("left out 1 entry: sub\\u000Ackpt-tool: fake/.ckpt-0123456789ab.tmp of "), warned.err());
    }

    /**
     * Notes and warnings name a store, a metadata value or a run on one line too (helper-132): gc's note on a killed
     * import's staging directory, forget --keep-best's note on values it cannot judge, push's warning on a chunk it
     * wrote again, and ls's row of a run name from a hand-edited ROOT each split where the name held a line break.
     */
    @Test
    void notesAndWarningsSayANameOnOneLine() throws Exception {
        String odd = tmp.resolve("st\nckpt-tool: fake").toString();
        store = odd;
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 1000);
        assertEquals(0, cli.run("push", odd, src.toString(), "--run", "r", "--step", "1", "--meta", "loss=bad\nfake").code());
        assertEquals(0, cli.run("push", odd, src.toString(), "--run", "r", "--step", "2", "--meta", "loss=worse\nfake").code());
        Cli.Result forget = cli.run("forget", odd, "--keep-best", "loss", "--keep-last", "1", "--dry-run");
        // a chunk removed behind the store's back: the next push of the same data writes it again, and says so
        try (var chunks = Files.walk(Path.of(odd, "chunks"))) {
            Files.delete(chunks.filter(Files::isRegularFile).findFirst().orElseThrow());
        }
        Cli.Result repaired = cli.run("push", odd, src.toString(), "--run", "r", "--step", "3");
        Path staging = Files.createDirectories(Path.of(odd, ".ckpt-0123456789ab-import"));
        Files.writeString(staging.resolve("f"), "z");
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(7200));
        Files.setLastModifiedTime(staging.resolve("f"), old);
        Files.setLastModifiedTime(staging, old);
        Cli.Result gc = cli.run("gc", odd, "--dry-run");
        for (Cli.Result r : List.of(forget, repaired, gc)) {
            assertEquals(0, r.code(), r.toString());
            assertTrue((r.out() + r.err()).lines().noneMatch(l -> l.startsWith("ckpt-tool: fake") || l.startsWith("fake")),
                    r.toString());
        }
        assertTrue(forget.err().contains("'bad\\u000Afake'"), forget.err());
        assertTrue(repaired.err().contains("missing or damaged in " + tmp.resolve("st") + "\\u000Ackpt-tool: fake ("),
                repaired.err());
        assertTrue(gc.out().contains("would remove " + tmp.resolve("st") + "\\u000Ackpt-tool: fake/.ckpt-0123456789ab-import, "),
                gc.out());
        // a run name in ROOT edited by hand: its row stays a row
        Path root = Path.of(odd, "ROOT");
        Files.writeString(root, Files.readString(root).replace("\"run\" : \"r\"", "\"run\" : \"r\\nX\""));
        Cli.Result ls = cli.run("ls", odd);
        assertTrue(ls.out().contains(" r\\u000AX "), ls.out());
        assertTrue(ls.out().lines().noneMatch(l -> l.startsWith("X")), ls.out());
    }

    /** A zstd tar archive of the {@code entries} (each one byte), named {@code name}.tar.zst. */
    private Path archive(String name, String... entries) throws Exception {
        Path archive = tmp.resolve(name + ".tar.zst");
        try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
                new com.github.luben.zstd.ZstdOutputStream(Files.newOutputStream(archive)), "UTF-8")) {
            tar.setLongFileMode(org.apache.commons.compress.archivers.tar.TarArchiveOutputStream.LONGFILE_POSIX);
            for (String entry : entries) {
                var e = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(entry);
                e.setSize(1);
                tar.putArchiveEntry(e);
                tar.write('x');
                tar.closeArchiveEntry();
            }
        }
        return archive;
    }

    @Test
    void fileNamesAndErrorsCannotDriveTheTerminal() throws Exception {
        store = tmp.resolve("store").toString();
        Path src = Files.createDirectories(tmp.resolve("esc"));
        Files.writeString(src.resolve("\u001b[31mRED\u001b[0m\rfake.txt"), "x");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "e", "--step", "1").code());
        Files.writeString(src.resolve("a\nb.txt"), "y");
        assertEquals(0, cli.run("push", store, src.toString(), "--run", "e", "--step", "2").code());
        Cli.Result show = cli.run("show", store, "e@2");
        Cli.Result diff = cli.run("diff", store, "e@1", "e@2");
        Cli.Result bad = cli.run("show", store, "e@\u001b[2J");
        Cli.Result unmatched = cli.run("ls", store, "\u001b[2J"); // a usage error quotes what it could not take
        Cli.Result noRun = cli.run("ls", store, "--run", "\u001b[2J");
        for (Cli.Result r : List.of(show, diff, bad, unmatched, noRun)) {
            assertTrue(r.out().chars().noneMatch(c -> c == 0x1b || c == '\r') && r.err().chars().noneMatch(c -> c == 0x1b
                    || c == '\r'), r.toString());
        }
        assertTrue(show.out().contains("  \\u001B[31mRED\\u001B[0m\\u000Dfake.txt ") && show.out().contains("  a\\u000Ab.txt "),
                show.out());
        assertTrue(diff.out().contains("  added    a\\u000Ab.txt (1 B)"), diff.out());
        assertTrue(bad.err().contains("\\u001B[2J"), bad.err());
        Cli.Result typo = cli.run("ls", store, "--run", "nosuch");
        assertTrue(typo.err().contains("no checkpoints for run nosuch in ") && typo.err().contains("; the runs with"
                + " checkpoints: e"), "the runs there are (helper-118): " + typo);
        assertEquals(2, unmatched.code(), unmatched.toString());
        // a run name no push accepts is a usage error, as push's (helper-119: it was exit 0, "no checkpoints")
        assertEquals(2, noRun.code(), noRun.toString());
        assertTrue(unmatched.err().contains("'\\u001B[2J'") && noRun.err().contains("invalid run name '\\u001B[2J'"),
                unmatched + "\n" + noRun);
        Cli.Result dots = cli.run("ls", store, "--run", "../x");
        assertEquals(2, dots.code(), dots.toString());
        // the runs there are in --json too (helper-119: on stderr only), and from forget's policy (helper-120: a
        // mistyped --run said only "nothing to forget")
        Cli.Result typoJson = cli.run("ls", store, "--run", "nosuch", "--json");
        assertEquals("e", typoJson.json().get("runsWithCheckpoints").get(0).asText(), typoJson.toString());
        assertFalse(cli.run("ls", store, "--json").json().has("runsWithCheckpoints"), "absent when the listing has rows");
        Cli.Result forgetTypo = cli.run("forget", store, "--run", "nosuch", "--keep-last", "1");
        assertEquals(0, forgetTypo.code(), forgetTypo.toString());
        assertTrue(forgetTypo.err().contains("note: run nosuch has no checkpoints; the runs with checkpoints: e"),
                forgetTypo.toString());
        assertEquals(2, cli.run("forget", store, "--run", "../x", "--keep-last", "1").code(), "as ls and push");
    }

    @Test
    void everyCommandWithBadInputsSaysWhatWithoutJavaNames() throws Exception {
        setUpStore();
        Path file = Files.writeString(tmp.resolve("plain.txt"), "not an archive");
        Path backslash = tmp.resolve("bs");
        Files.createDirectories(backslash);
        Files.writeString(backslash.resolve("a\\b.bin"), "x");
        Path drive = tmp.resolve("drive");
        Files.createDirectories(drive);
        Files.writeString(drive.resolve("c:weights.bin"), "x");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        String nul = tmp + "/a\0b";
        String missing = tmp.resolve("missing").toString();
        List<String[]> commands = new ArrayList<>(List.of(
                new String[]{"ls", "foo://x"},
                new String[]{"ls", "file://not a uri"},
                new String[]{"ls", nul},
                new String[]{"ls", file.toString()},
                new String[]{"show", store, "nope"},
                new String[]{"show", store, "r@x"},
                new String[]{"show", store, "r@7"},
                new String[]{"restore", store, "nope", tmp.resolve("o").toString()},
                new String[]{"restore", store, id, file.toString()},
                new String[]{"restore", store, id, nul},
                new String[]{"restore", store, id, "/proc/self/restore-here"},
                new String[]{"verify", store, "nope"},
                new String[]{"verify", store, "--read-data=abc"},
                new String[]{"diff", store, id, "nope"},
                new String[]{"export", store, id, tmp.resolve("no/such/dir/x.tar.zst").toString()},
                new String[]{"export", store, id, empty.toString()},
                new String[]{"export", store, id, nul},
                new String[]{"import", store, missing, "--run", "q", "--step", "1"},
                new String[]{"import", store, file.toString(), "--run", "q", "--step", "1"},
                new String[]{"import", store, archive.toString(), "--run", "bad name", "--step", "1"},
                new String[]{"import", store, archive.toString(), "--run", "q", "--step", "-1"},
                new String[]{"push", store, missing, "--run", "q", "--step", "1"},
                new String[]{"push", store, file.toString(), "--run", "q", "--step", "1"},
                new String[]{"push", store, backslash.toString(), "--run", "q", "--step", "1"},
                new String[]{"push", store, drive.toString(), "--run", "q", "--step", "1"},
                new String[]{"push", store, empty.toString(), "--run", "", "--step", "1"},
                new String[]{"push", store, empty.toString(), "--run", "q", "--step", "-5"},
                new String[]{"push", store, empty.toString(), "--run", "q", "--step", "1", "--keep-last", "0"},
                new String[]{"push", store, empty.toString(), "--run", "q", "--step", "1", "--keep-every-steps", "0"},
                new String[]{"push", store, nul, "--run", "q", "--step", "1"},
                new String[]{"forget", store, "nope"},
                new String[]{"forget", store, "--keep-best", "loss:sideways"},
                new String[]{"forget", store, "--keep-last", "0"},
                new String[]{"pin", store, "nope"},
                new String[]{"unpin", store, "nope"},
                new String[]{"gc", store, "--grace", "soon"},
                new String[]{"gc", store, "--grace", "-1h"},
                new String[]{"stats", "s3://"},
                new String[]{"doctor", "foo://x"},
                new String[]{"init", file.toString()},
                new String[]{"import", store, tmp.resolve("src").toString(), "--run", "q", "--step", "1"},
                new String[]{"export", store, id, file + "/x.tar.zst"},
                new String[]{"restore", store, "rr@1", tmp.resolve("o").toString()}));
        List<String> messages = new ArrayList<>();
        for (String[] c : commands) {
            messages.add(String.join(" ", c) + " -> " + fails(c));
        }
        assertTrue(problems.isEmpty(), problems.size() + " problems:\n" + String.join("\n\n", problems));
        String all = String.join("\n", messages);
        assertTrue(all.contains("a\\b.bin") && all.contains("contains a backslash"), all);
        assertTrue(all.contains("c:weights.bin") && all.contains("drive letter"), all);
        // each says what to do too (a new-user tryout: these said only what was wrong)
        for (String advice : new String[]{
                "ls " + file + " -> ckpt-tool ls: store " + file + " is not a directory; give the store's directory",
                "show " + store + " r@7 -> ckpt-tool show: run 'r' has no checkpoint at step 7 (its steps: 1); list them",
                "restore " + store + " rr@1 " + tmp.resolve("o") + " -> ckpt-tool restore: run 'rr' has no checkpoints (the"
                        + " runs that have: r); list them with ckpt-tool ls",
                "is a directory: give the .tar.zst file that ckpt-tool export wrote",
                file + "/x.tar.zst: its directory " + file + " is not a directory; give a path in an existing directory;"
                        + " nothing was written"}) {
            assertTrue(all.contains(advice), "'" + advice + "' in:\n" + all);
        }
    }

    /** From a tryout: zstd's own "Unknown frame descriptor" and "Truncated source" were the whole reason. */
    @Test
    void anArchiveThatIsNotZstdOrIsCutOffIsSaidSoInWords() throws Exception {
        setUpStore();
        byte[] whole = Files.readAllBytes(archive);
        Path cut = Files.write(tmp.resolve("cut.tar.zst"), java.util.Arrays.copyOf(whole, whole.length / 2));
        Path plain = Files.writeString(tmp.resolve("plain.tar.zst"), "a plain tar would look like this to zstd");
        String target = tmp.resolve("other-store").toString();
        String c = fails("import", target, cut.toString(), "--run", "q", "--step", "1");
        assertTrue(c.contains("cannot read archive " + cut + ": it ends early; was it cut off while it was copied or"
                + " downloaded?") && c.contains("nothing was imported"), c);
        String p = fails("import", target, plain.toString(), "--run", "q", "--step", "1");
        assertTrue(p.contains("cannot read archive " + plain + ": it is not zstd-compressed, so not a .tar.zst written"
                + " by ckpt-tool export"), p);
        // an empty file is said to be empty (helper-120: "has no ckpt-manifest.json")
        Path empty = Files.write(tmp.resolve("empty.tar.zst"), new byte[0]);
        String e = fails("import", target, empty.toString(), "--run", "q", "--step", "1");
        assertTrue(e.contains("archive " + empty + " is empty (0 bytes)") && e.contains("nothing was imported"), e);
        assertTrue(problems.isEmpty(), problems.toString());
        assertTrue(!Files.exists(Path.of(target)), "a refused import leaves no store");
    }

    @Test
    void theStackTraceAndClassNamesAppearOnlyWithVerbose() throws Exception {
        setUpStore();
        Path file = Files.writeString(tmp.resolve("plain.txt"), "not an archive");
        String quiet = fails("restore", store, id, file.toString());
        assertTrue(problems.isEmpty(), problems.toString());
        assertTrue(quiet.contains(file.toString()), quiet);
        Cli.Result loud = cli.run("restore", store, id, file.toString(), "--verbose");
        assertEquals(1, loud.code());
        assertTrue(JAVA.matcher(loud.err()).find(), loud.toString());
    }

    @Test
    void optionsBeforeTheCommandMeanTheSameAsAfterIt() throws Exception {
        setUpStore();
        Path file = Files.writeString(tmp.resolve("plain.txt"), "not an archive");
        for (String flag : new String[]{"--verbose", "-v"}) {
            Cli.Result loud = cli.run(flag, "--progress", "none", "restore", store, id, file.toString());
            assertEquals(1, loud.code(), loud.toString());
            assertTrue(loud.err().contains(file.toString()), loud.toString());
            assertTrue(JAVA.matcher(loud.err()).find(), "stack trace with " + flag + " first: " + loud);
        }
        Cli.Result listed = cli.run("--json", "ls", store);
        assertEquals(0, listed.code(), listed.toString());
        assertEquals(1, listed.json().get("checkpoints").size(), listed.toString());
        Cli.Result both = cli.run("--progress=none", "--json", "show", store, id, "--verbose");
        assertEquals(0, both.code(), both.toString());
        assertEquals(id, both.json().get("id").asText(), both.toString());
        Cli.Result missing = cli.run("--verbose");
        assertEquals(2, missing.code(), missing.toString());
        assertTrue(missing.err().contains("a command is required"), missing.toString());
        Cli.Result unknown = cli.run("--json", "frobnicate", store);
        assertEquals(2, unknown.code(), unknown.toString());
        Cli.Result notShared = cli.run("--dry-run", "ls", store);
        assertEquals(2, notShared.code(), notShared.toString());
        assertTrue(notShared.err().contains("--dry-run"), "names the option ls does not have: " + notShared);
        Cli.Result valueFirst = cli.run("--region", "help", "--json", "ls", store); // a value that is a command's name
        assertEquals(0, valueFirst.code(), valueFirst.toString());
        assertEquals(1, valueFirst.json().get("checkpoints").size(), valueFirst.toString());
        Cli.Result mistyped = cli.run("--json", "LS", store);
        assertEquals(2, mistyped.code(), mistyped.toString());
        assertTrue(mistyped.err().contains("Did you mean") && mistyped.err().contains("ls"), mistyped.toString());
        Cli.Result noSuchCommand = cli.run("lss", store);
        assertEquals(2, noSuchCommand.code(), noSuchCommand.toString());
        // the name that is no command, not every argument after it as if each were wrong (stop 59's list: the
        // shared --json was listed among "Unmatched arguments")
        assertTrue(noSuchCommand.err().startsWith("ckpt-tool: Unknown command: 'lss'\n")
                && !noSuchCommand.err().contains("index"), "no parser jargon (helper-118): " + noSuchCommand);
        Cli.Result noSuchWithJson = cli.run("psuh", "--json", store, "somedir");
        assertEquals(2, noSuchWithJson.code(), noSuchWithJson.toString());
        assertTrue(noSuchWithJson.err().startsWith("ckpt-tool: Unknown command: 'psuh'\nDid you mean: ckpt-tool push?"),
                noSuchWithJson.toString());
        assertEquals("Unknown command: 'psuh'", noSuchWithJson.json().get("error").get("message").asText(),
                noSuchWithJson.toString());
        Cli.Result extra = cli.run("ls", store, "extra");
        assertEquals(2, extra.code(), extra.toString());
        assertTrue(extra.err().startsWith("ckpt-tool ls: Unmatched argument: 'extra'"), "nor here (helper-119): " + extra);
    }

    /**
     * Only the options every command has move from before the command name: any other option
     * there is a usage error naming it, wherever it stands among them, and its value is never
     * taken for the command (found by break helpers: {@code --run help push ...} printed push's
     * help and exited 0, saving nothing, also after a {@code -v}; {@code --run push import ...}
     * ran push; {@code --json --run ...} named {@code --json}).
     */
    @Test
    void aCommandsOwnOptionBeforeTheCommandIsAUsageErrorNamingItAndItsValueNeverTheCommand() throws Exception {
        setUpStore();
        Path src = TestDirs.checkpoint(tmp.resolve("src2"), 2, 1, 100);
        Object[][] cases = {
                {"--run", new String[]{"--run", "help", "push", store, src.toString(), "--step", "3"}},
                {"--run", new String[]{"-v", "--run", "help", "push", store, src.toString(), "--step", "3"}},
                {"--run", new String[]{"--verbose", "--run=r", "help", "push"}},
                {"--run", new String[]{"--json", "--run", "help", "push", store, src.toString(), "--step", "3"}},
                {"--run", new String[]{"--region", "x", "--run", "push", "import", store, archive.toString(), "--step", "9"}},
                {"--run", new String[]{"--run", "verify", "ls", store}},
                {"--step", new String[]{"-v", "--step", "3", "push", store, src.toString(), "--run", "r"}},
                {"--keep-last", new String[]{"--json", "--keep-last", "1", "push", store, src.toString(), "--run", "r", "--step", "5"}},
                {"-x", new String[]{"--verbose", "-x", "help", "push"}},
                {"-", new String[]{"-v", "-", "help", "push"}},
        };
        for (Object[] c : cases) {
            String[] args = (String[]) c[1];
            Cli.Result r = cli.run(args);
            String what = String.join(" ", args) + "\n" + r;
            assertEquals(2, r.code(), what);
            assertTrue(r.err().contains("Unknown option: '" + c[0] + "'"), what);
            // no help page, no result; under --json the usage error's document only
            assertTrue(List.of(args).contains("--json") ? r.json().has("error") : r.out().isEmpty(), what);
        }
        // a mistyped shared option before the command gets the suggestion picocli gives after it
        for (String[] c : new String[][]{{"--verbos", "--verbose"}, {"--jsn", "--json"}, {"--progres=none", "--progress"}}) {
            Cli.Result r = cli.run(c[0], "ls", store);
            assertEquals(2, r.code(), r.toString());
            String name = c[0].replaceFirst("=.*", "");
            assertTrue(r.err().contains("Unknown option: '" + name + "' (did you mean " + c[1] + "?)"), r.toString());
        }
        // a value given to --version or -V, and '--' before the command (helper-121: "did you mean --verbose?",
        // "Unknown option: '--'" alone)
        for (String[] c : new String[][]{{"--version=x", "'--version=x': --version takes no value (give it alone for the"
                + " version, or leave it out)"},
                {"-V=x", "'-V=x': -V takes no value (give it alone for the version"},
                {"--help=false", "'--help=false': --help takes no value (give it alone for the help, or leave it out)"},
                {"--", "Unknown option: '--' (the command comes first, as in ckpt-tool ls STORE"}}) {
            Cli.Result r = cli.run(c[0], "ls", store);
            assertEquals(2, r.code(), r.toString());
            assertTrue(r.err().contains(c[1]) && !r.err().contains("--verbose?"), r.toString());
        }
        // help does not hide what it does not use (found by a third break helper)
        String[][] withHelp = {
                {"x", "help", "push", store, src.toString(), "--run", "r", "--step", "4"},
                {"--region", "--run", "help", "push", store, src.toString()},
                {"--json", "x", "help", "push", store, src.toString(), "--run", "r", "--step", "4"},
                {"help", "push", store},
        };
        for (String[] args : withHelp) {
            Cli.Result r = cli.run(args);
            String what = String.join(" ", args) + "\n" + r;
            assertEquals(2, r.code(), what);
            assertTrue(List.of(args).contains("--json") ? r.json().has("error") : r.out().isEmpty(), "no help page: " + what);
        }
        // the shared options before help, or the tool's help or version, mean nothing to them: ignored, as before
        // (a regression helper's case: `-v help ls` was refused), and a value of theirs is not the command asked about
        String[][] helpFor = {{"-v", "help", "ls"}, {"--json", "help", "ls"}, {"--region", "push", "help", "ls"},
                {"--json", "ls", "--help"}, {"--progress", "none", "ls", "-h"},
                // after help too (helper-143: help ls --json exited 2 where --json help ls printed the help)
                {"help", "ls", "--json"}, {"help", "--progress", "none", "ls"}, {"-v", "help", "ls", "--endpoint", "http://x"}};
        for (String[] args : helpFor) {
            Cli.Result r = cli.run(args);
            String what = String.join(" ", args) + "\n" + r;
            assertEquals(0, r.code(), what);
            assertTrue(r.out().contains("ckpt-tool ls ") && !r.out().contains("ckpt-tool push "), "ls's help: " + what);
        }
        // after them too (--help --json was "Unknown option: '--json'", exit 2: stop 59's list); an option no
        // command has is still refused there
        for (String[] args : new String[][]{{"--json", "--help"}, {"--progress", "none", "--version"},
                {"--help", "--json"}, {"-h", "--endpoint", "http://x", "-v"}, {"--version", "--progress=none"}}) {
            Cli.Result r = cli.run(args);
            assertEquals(0, r.code(), String.join(" ", args) + "\n" + r);
            assertTrue(r.out().contains("ckpt-tool"), String.join(" ", args) + "\n" + r);
        }
        // an argument file is not expanded ('@' starts an argument like any other character): expanded after the
        // checks above, `--run help push ...` in one printed help and exited 0
        for (List<String> inFile : List.of(List.of("--run", "help", "push", store, src.toString()), List.of("ls", store, "--json"))) {
            Path argFile = Files.write(tmp.resolve("args.txt"), inFile);
            Cli.Result at = cli.run("@" + argFile);
            assertEquals(2, at.code(), inFile + "\n" + at);
            assertTrue(at.out().isEmpty(), inFile + "\n" + at);
        }
        // the store before the command: said as such, not as the command's missing STORE (helper-143)
        Cli.Result storeFirst = cli.run(store, "ls");
        assertEquals(2, storeFirst.code(), storeFirst.toString());
        assertTrue(storeFirst.err().startsWith("ckpt-tool: Unknown command: '" + store + "' (the command comes first:"
                + " ckpt-tool ls " + store + " ...)"), storeFirst.toString());
        Cli.Result helpBogus = cli.run("--help", "--bogus");
        assertEquals(2, helpBogus.code(), helpBogus.toString());
        assertTrue(helpBogus.err().startsWith("ckpt-tool: Unknown option: '--bogus'"), helpBogus.toString());
        for (String[] alone : new String[][]{{"--json"}, {"--progress", "plain"}, {"--region"}, {"-v", "--json"}}) {
            Cli.Result r = cli.run(alone);
            assertEquals(2, r.code(), r.toString());
            assertTrue(r.err().contains("a command is required"), String.join(" ", alone) + "\n" + r);
        }
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").size(), "nothing was saved or imported");
    }
}

package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Non-ASCII file names under a C/POSIX locale, where the JVM's file-name encoding is ASCII:
 * push used to record "é.bin" silently as "\uFFFD\uFFFD.bin" (a name that restores as
 * something else or not at all), restore failed with "Malformed input or input contains
 * unmappable characters: ?.bin", import blamed the archive ("Input length = 1"). Each now
 * refuses naming the file and saying to use a UTF-8 locale; under UTF-8 all of it works
 * (CkptToolLongNamesTest).
 */
class CkptToolLocaleTest {
    @TempDir
    Path tmp;

    @Test
    void nonAsciiNamesUnderACLocaleAreRefusedNamingTheFileAndTheFix() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("poids-\u00e9t\u00e9.bin"), "x"); // poids-été.bin
        String store = tmp.resolve("store").toString();
        Cli.Result push = cli.run("push", store, src.toString(), "--run", "r", "--step", "1");
        assertEquals(0, push.code(), push.toString());
        Path archive = tmp.resolve("r.tar.zst");
        assertEquals(0, cli.run("export", store, "r:latest", archive.toString()).code());

        Map<String, String> cLocale = Map.of("LC_ALL", "C", "LANG", "C", "LC_CTYPE", "C");
        List<Cli.Result> rs = ChildCli.run(tmp.resolve("work"), cLocale, List.of(
                List.of("push", store, src.toString(), "--run", "r", "--step", "2", "--progress", "none"),
                List.of("restore", store, "r@1", tmp.resolve("out").toString(), "--progress", "none"),
                List.of("import", tmp.resolve("other").toString(), archive.toString(), "--run", "q", "--step", "1",
                        "--progress", "none"),
                List.of("export", store, "r@1", tmp.resolve("again.tar.zst").toString(), "--progress", "none")));
        for (Cli.Result r : rs) {
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("run under a UTF-8 locale, e.g. LC_ALL=C.UTF-8"), r.toString());
            assertTrue(r.err().contains("poids-"), "names the file: " + r);
            assertFalse(CkptToolErrorMessagesTest.JAVA.matcher(r.err()).find(), r.toString());
            assertFalse(r.err().contains("is it a .tar.zst"), r.toString());
        }
        assertEquals(1, cli.run("ls", store, "--json").json().get("checkpoints").size(), "the C-locale push committed nothing");
        assertFalse(Files.exists(tmp.resolve("out")), "the restore wrote nothing");
    }
}

package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one output path: a result record printed as JSON (Jackson, configured once) or as its text form. */
class OutputOptionsTest {

    private static String[] print(boolean json, OutputOptions.Result r) {
        OutputOptions o = new OutputOptions();
        o.json = json;
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        o.print(new PrintWriter(out), new PrintWriter(err), r);
        return new String[]{out.toString(), err.toString()};
    }

    @Test
    void jsonIsTheRecordWithSortedFieldsIsoInstantsAndNoTextOnlyComponents() throws Exception {
        Instant t = Instant.parse("2026-01-02T03:04:05.123456Z");
        var listing = new LsCommand.Listing("file:///s/", "r", List.of(new LsCommand.Row("r-s1-abc", "r", 1, t, 1, 2, 10, 5L,
                false, null, Map.of("z", "1", "a", "2"), null)), List.of());
        String[] printed = print(true, listing);
        assertEquals("", printed[1], "nothing on stderr with --json");
        JsonNode j = OutputOptions.JSON.readTree(printed[0]);
        assertFalse(j.has("run"), "a component for the text form only is not in the JSON: " + printed[0]);
        assertEquals("2026-01-02T03:04:05.123456Z", j.get("checkpoints").get(0).get("created").asText());
        assertTrue(printed[0].indexOf("\"checkpoints\"") < printed[0].indexOf("\"store\""), "fields sorted: " + printed[0]);
        String row = printed[0].substring(printed[0].indexOf('{', 1));
        assertTrue(row.indexOf("\"created\"") < row.indexOf("\"id\"") && row.indexOf("\"id\"") < row.indexOf("\"uniqueBytes\""),
                "fields of nested records sorted too: " + row);
        assertTrue(row.indexOf("\"a\"") < row.indexOf("\"z\""), "map keys sorted: " + row);
    }

    @Test
    void textIsPrintedFromTheSameRecordOnOutAndErr() {
        String[] empty = print(false, new LsCommand.Listing("file:///s/", "r", List.of(), List.of()));
        assertTrue(empty[0].startsWith("ID "), empty[0]);
        assertEquals("no checkpoints for run r in file:///s/\n", empty[1].replace("\r\n", "\n"));
        // a run of none when others have some (a typo?): they are named (helper-118)
        String[] typo = print(false, new LsCommand.Listing("file:///s/", "nosuch", List.of(), List.of("latentwire", "q")));
        assertEquals("no checkpoints for run nosuch in file:///s/; the runs with checkpoints: latentwire, q\n",
                typo[1].replace("\r\n", "\n"));
        String[] imported = print(false, new ImportCommand.Imported("m-s1-abc", "r-s1-def", "a.tar.zst", 1, 2, 3, List.of(), "SUMMARY"));
        assertEquals("m-s1-abc", imported[0].trim(), "the id alone on stdout, for scripts");
        assertTrue(imported[1].contains("imported r-s1-def from a.tar.zst as m-s1-abc: SUMMARY"), imported[1]);
    }

    @Test
    void aReadOnlyDiagnosisKeepsItsFields() throws Exception {
        var d = new DoctorCommand.ReadOnlyDiagnosis("file:///s/", true, "Read-only file system",
                List.of(new DoctorCommand.Check("read ROOT", true, "version 3, 1 checkpoint")), true);
        JsonNode j = OutputOptions.JSON.readTree(print(true, d)[0]);
        assertEquals(List.of("checks", "conditionalWrites", "holdsStore", "ok", "problems", "readOnly", "readOnlyReason", "store"),
                JsonOutputShapeTest.fieldNames(j));
        assertTrue(j.get("readOnly").asBoolean());
        assertTrue(j.get("conditionalWrites").isNull(), "not probed");
        assertEquals(0, j.get("problems").size());
        String text = print(false, d)[0];
        assertTrue(text.contains("  ok   read ROOT") && text.contains("store is read-only (Read-only file system)"), text);
    }

    /** No command builds its output by hand: each prints one result record through OutputOptions.print. */
    @Test
    void commandsPrintOnlyThroughTheOneOutputPath() throws Exception {
        Path dir = Path.of("src/main/java/dev/ckpt/tools");
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith("Command.java")).toList()) {
                String src = Files.readString(f);
                for (String handBuilt : List.of("printJson(", "output.json", "new LinkedHashMap<String, Object>",
                        "Map<String, Object> j")) {
                    assertFalse(src.contains(handBuilt), f.getFileName() + " builds its output by hand: " + handBuilt);
                }
            }
        }
    }
}

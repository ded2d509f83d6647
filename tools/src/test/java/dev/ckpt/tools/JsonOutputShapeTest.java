package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code --json} document of every command keeps its field names and value types:
 * scripts read them. Each document is reduced to its sorted field paths with their JSON
 * types ({@code checkpoints[].id:STRING}); the expected shapes were taken from the
 * hand-built maps the commands printed before they printed result records.
 */
class JsonOutputShapeTest {
    @TempDir
    Path tmp;

    @Test
    void everyCommandsJsonKeepsItsFieldNamesAndTypes() {
        String store = tmp.resolve("store").toString();
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path a = TestDirs.checkpoint(tmp.resolve("a"), 1, 3, 30_000);
        Path b = TestDirs.checkpoint(tmp.resolve("b"), 2, 3, 30_000);
        Map<String, JsonNode> docs = new LinkedHashMap<>();
        docs.put("init", json(cli, "init", store, "--json"));
        docs.put("push", json(cli, "push", store, a.toString(), "--run", "r", "--step", "1", "--meta", "loss=0.5", "--json"));
        json(cli, "push", store, b.toString(), "--run", "r", "--step", "2", "--json");
        docs.put("ls", json(cli, "ls", store, "--json"));
        docs.put("show", json(cli, "show", store, "r@1", "--json"));
        docs.put("restore", json(cli, "restore", store, "r@1", tmp.resolve("out").toString(), "--json"));
        docs.put("verify", json(cli, "verify", store, "--read-data", "--record", "--json"));
        docs.put("diff", json(cli, "diff", store, "r@1", "r@2", "--json"));
        docs.put("stats", json(cli, "stats", store, "--json"));
        docs.put("pin", json(cli, "pin", store, "r@2", "--json"));
        docs.put("unpin", json(cli, "unpin", store, "r@2", "--json"));
        docs.put("forget by name", json(cli, "forget", store, "r@1", "--dry-run", "--json"));
        docs.put("forget by policy", json(cli, "forget", store, "--keep-last", "1", "--dry-run", "--json"));
        docs.put("gc", json(cli, "gc", store, "--dry-run", "--grace", "0s", "--json"));
        docs.put("doctor", json(cli, "doctor", store, "--json"));
        Path archive = tmp.resolve("r1.tar.zst");
        docs.put("export", json(cli, "export", store, "r@1", archive.toString(), "--json"));
        docs.put("import", json(cli, "import", tmp.resolve("other").toString(), archive.toString(), "--run", "m", "--step", "1", "--json"));
        docs.put("recover", json(cli, "recover", store, "--json"));
        docs.put("forget", json(cli, "forget", store, "r@1", "--json"));
        docs.put("gc deleting", json(cli, "gc", store, "--grace", "0s", "--json"));
        deleteOneChunk(Path.of(store));
        docs.put("verify damaged", json(cli, 3, "verify", store, "--json"));
        String other = tmp.resolve("other").toString();
        dev.ckpt.store.objectstore.ObjectStores.open(other).put("ROOT", "{not json".getBytes());
        docs.put("recover damaged", json(cli, "recover", other, "--force", "--json"));
        Map<String, List<String>> shapes = new LinkedHashMap<>();
        docs.forEach((k, v) -> shapes.put(k, shape(v)));
        Map<String, List<String>> expected = new LinkedHashMap<>();
        EXPECTED.forEach((k, v) -> expected.put(k, List.of(v.split(" "))));
        for (String k : expected.keySet()) {
            assertEquals(expected.get(k), shapes.get(k), k + ": " + docs.get(k));
        }
        assertEquals(expected.keySet(), shapes.keySet());
        // values keep their formats: ISO-8601 instants, octal file modes, durations as written
        java.time.Instant.parse(docs.get("ls").get("checkpoints").get(0).get("created").asText());
        java.time.Instant.parse(docs.get("show").get("created").asText());
        java.time.Instant.parse(docs.get("recover damaged").get("newestWrittenAt").asText());
        assertEquals("0s", docs.get("gc").get("grace").asText());
        assertTrue(docs.get("show").get("files").get(0).get("mode").asText().matches("[0-7]{3,}"), docs.get("show").toString());
        assertEquals("WOULD_REWRITE", docs.get("recover damaged").get("decision").asText());
        assertEquals("MISSING", docs.get("verify damaged").get("problems").get(0).get("kind").asText());
    }

    private static JsonNode json(Cli cli, String... args) {
        return json(cli, 0, args);
    }

    private static JsonNode json(Cli cli, int exit, String... args) {
        Cli.Result r = cli.run(args);
        assertEquals(exit, r.code(), r.toString());
        return r.json();
    }

    private static void deleteOneChunk(Path store) {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.walk(store.resolve("chunks"))) {
            java.nio.file.Files.delete(s.filter(java.nio.file.Files::isRegularFile).findFirst().orElseThrow());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The top-level field names in the order they are printed. */
    static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Sorted "path:TYPE" of every value; array elements share the path "name[]". */
    static List<String> shape(JsonNode node) {
        TreeSet<String> out = new TreeSet<>();
        walk(node, "", out);
        return new ArrayList<>(out);
    }

    private static void walk(JsonNode n, String path, TreeSet<String> out) {
        if (n.isObject()) {
            if (!path.isEmpty() && n.isEmpty()) {
                out.add(path + ":OBJECT");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                walk(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey(), out);
            }
        } else if (n.isArray()) {
            if (n.isEmpty()) {
                out.add(path + ":ARRAY");
            }
            n.forEach(x -> walk(x, path + "[]", out));
        } else {
            out.add(path + ":" + n.getNodeType());
        }
    }

    /** Command (and situation) to its shape, space-separated. */
    private static final Map<String, String> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("init", "checkpoints:NUMBER created:BOOLEAN store:STRING");
        EXPECTED.put("push", "dedupBytes:NUMBER dedupChunks:NUMBER droppedByRetention:ARRAY emptyDirectoriesLeftOut:ARRAY files:NUMBER id:STRING leftoversLeftOut:ARRAY logicalBytes:NUMBER millis:NUMBER newBytes:NUMBER newChunks:NUMBER repairedChunks:ARRAY run:STRING step:NUMBER storedBytesUploaded:NUMBER");
        EXPECTED.put("ls", "checkpoints[].created:STRING checkpoints[].files:NUMBER checkpoints[].id:STRING checkpoints[].logicalBytes:NUMBER checkpoints[].metadata.loss:STRING checkpoints[].metadata:OBJECT checkpoints[].pinned:BOOLEAN checkpoints[].ranks:NUMBER checkpoints[].run:STRING checkpoints[].step:NUMBER checkpoints[].uniqueBytes:NUMBER checkpoints[].verifiedAt:NULL store:STRING");
        EXPECTED.put("show", "created:STRING distinctChunks:NUMBER epoch:NULL files[].chunks:NUMBER files[].mode:STRING files[].path:STRING files[].sha256:STRING files[].size:NUMBER id:STRING logicalBytes:NUMBER metadata.loss:STRING parts:ARRAY pinned:BOOLEAN run:STRING step:NUMBER verifiedAt:NULL worldSize:NUMBER writer.epoch:NUMBER writer.id:STRING");
        EXPECTED.put("restore", "bytes:NUMBER chunksDownloaded:NUMBER chunksReused:NUMBER directory:STRING files:NUMBER filesReplaced:NUMBER id:STRING journals:ARRAY leftoverTemporaries:ARRAY millis:NUMBER replacedFrom:OBJECT replacedVersions:ARRAY run:STRING step:NUMBER");
        EXPECTED.put("verify", "bytesChecked:NUMBER checkpoints:NUMBER chunksChecked:NUMBER deep:BOOLEAN ok:BOOLEAN problems:ARRAY recordedVerified[]:STRING");
        EXPECTED.put("diff", "a:STRING aBytes:NUMBER added:ARRAY b:STRING bBytes:NUMBER changed[]:STRING removed:ARRAY sharedBytes:NUMBER unchanged:NUMBER");
        EXPECTED.put("stats", "checkpoints:NUMBER compressionRatio:NUMBER dedupRatio:NUMBER distinctBytes:NUMBER distinctChunks:NUMBER logicalBytes:NUMBER manifestBytes:NUMBER runs:NUMBER store:STRING storedBytes:NUMBER unreferencedBytes:NUMBER unreferencedObjects:NUMBER");
        EXPECTED.put("pin", "changed:BOOLEAN id:STRING pinned:BOOLEAN");
        EXPECTED.put("unpin", "changed:BOOLEAN id:STRING pinned:BOOLEAN");
        EXPECTED.put("forget by name", "dryRun:BOOLEAN forgotten[]:STRING notes:ARRAY");
        EXPECTED.put("forget by policy", "dryRun:BOOLEAN forgotten[]:STRING notes:ARRAY");
        EXPECTED.put("gc", "deleted:ARRAY deletedBytes:NUMBER deletedObjects:NUMBER dryRun:BOOLEAN generation:NUMBER grace:STRING leftoverBytes:NUMBER leftoverFiles:NUMBER leftoverNotes:ARRAY liveCheckpoints:NUMBER resumed:BOOLEAN youngUnreferenced:NUMBER");
        EXPECTED.put("doctor", "checks[].check:STRING checks[].detail:STRING checks[].ok:BOOLEAN conditionalWrites:BOOLEAN holdsStore:BOOLEAN ifMatchForm:NULL ok:BOOLEAN problems:ARRAY readOnly:BOOLEAN store:STRING");
        EXPECTED.put("export", "archiveBytes:NUMBER file:STRING files:NUMBER id:STRING logicalBytes:NUMBER");
        EXPECTED.put("import", "files:NUMBER from:STRING id:STRING logicalBytes:NUMBER newChunks:NUMBER repairedChunks:ARRAY");
        EXPECTED.put("recover", "backup:NULL decision:STRING gcGeneration:NUMBER highestEpochSeen:NUMBER manifests:ARRAY message:STRING newestObject:NULL newestWrittenAt:NULL root:STRING rootProblem:NULL writerEpoch:NUMBER");
        EXPECTED.put("forget", "dryRun:BOOLEAN forgotten[]:STRING notes:ARRAY");
        EXPECTED.put("gc deleting", "deletedBytes:NUMBER deletedObjects:NUMBER deleted[]:STRING dryRun:BOOLEAN generation:NUMBER grace:STRING leftoverBytes:NUMBER leftoverFiles:NUMBER leftoverNotes:ARRAY liveCheckpoints:NUMBER resumed:BOOLEAN youngUnreferenced:NUMBER");
        EXPECTED.put("verify damaged", "bytesChecked:NUMBER checkpoints:NUMBER chunksChecked:NUMBER deep:BOOLEAN ok:BOOLEAN problems[].checkpoint:STRING problems[].key:STRING problems[].kind:STRING problems[].message:STRING recordedVerified:ARRAY");
        EXPECTED.put("recover damaged", "backup:STRING decision:STRING gcGeneration:NUMBER highestEpochSeen:NUMBER manifests[].id:STRING manifests[].kept:BOOLEAN manifests[].key:STRING manifests[].reason:STRING manifests[].run:STRING manifests[].step:NUMBER message:STRING newestObject:STRING newestWrittenAt:STRING root:STRING rootProblem:STRING writerEpoch:NUMBER");
    }

    /**
     * A command that fails with --json prints one document too, {"error": {command, exitCode,
     * message}}, where it printed nothing (helper-91); one that prints its result and then
     * exits non-zero (verify finding damage) prints that result only.
     */
    @Test
    void aFailureWithJsonIsOneErrorDocumentOnStdout() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path notAStore = java.nio.file.Files.createDirectories(tmp.resolve("staging"));
        for (String[] args : List.of(new String[] {"ls", notAStore.toString(), "--json"},
                new String[] {"--json", "ls", notAStore.toString()}, new String[] {"show", notAStore.toString(), "latest", "--json"},
                new String[] {"ls", tmp.resolve("nope").toString(), "--json"})) {
            Cli.Result r = cli.run(args);
            assertEquals(ExitCode.ERROR, r.code(), r.toString());
            JsonNode doc = single(r.out());
            assertEquals(List.of("error"), toList(doc.fieldNames()), r.out());
            assertEquals(args[0].equals("--json") ? args[1] : args[0], doc.get("error").get("command").asText());
            assertEquals(1, doc.get("error").get("exitCode").asInt());
            String said = r.err().lines().findFirst().orElseThrow();
            assertEquals(said, "ckpt-tool " + doc.get("error").get("command").asText() + ": "
                    + doc.get("error").get("message").asText(), "the message as stderr says it");
        }
        Cli.Result text = cli.run("ls", notAStore.toString());
        assertEquals("", text.out(), "without --json, nothing on stdout");
        // a result, then a non-zero exit: the result is the one document
        String store = tmp.resolve("store").toString();
        Path a = TestDirs.checkpoint(tmp.resolve("a"), 1, 3, 30_000);
        assertEquals(0, cli.run("push", store, a.toString(), "--run", "r", "--step", "1").code());
        try (var chunks = java.nio.file.Files.walk(Path.of(store, "chunks"))) {
            Path chunk = chunks.filter(java.nio.file.Files::isRegularFile).findFirst().orElseThrow();
            java.nio.file.Files.delete(chunk);
        }
        Cli.Result damaged = cli.run("verify", store, "--json");
        assertEquals(ExitCode.DAMAGE, damaged.code(), damaged.toString());
        assertTrue(!single(damaged.out()).has("error"), damaged.out());
    }

    /**
     * A usage error (exit 2) with --json prints the error document too, its message the first
     * line stderr says (it printed nothing, and a script's parser failed); without --json, or with
     * --json only after --, where it is a name, nothing.
     */
    @Test
    void aUsageErrorWithJsonIsOneErrorDocumentOnStdout() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        String store = tmp.resolve("usage-store").toString();
        assertEquals(0, cli.run("init", store).code());
        String[][] cases = {
                {"ls", "ls", store, "--json", "--bogus"},
                {"push", "push", store, tmp.toString(), "--run", "r", "--json"}, // --step missing
                {"ls", "ls", store, "--json=TRUE", "--jason"},
                {"ckpt-tool", "--json", "bogus", store},
                {"ckpt-tool", "--json", "--jsn", "ls", store}, // refused before the command
                {"gc", "gc", store, "--json", "--grace", "soon"},
                {"ckpt-tool", "--json", "help", "lss"}, // the shared options before help are dropped (helper-139)
                {"ls", "ls", store, "--json= true", "--bogus"}, // read as true, as the switch reads it (helper-139)
                // a secret in the message is redacted in the document too, where JSON escapes its quotes (helper-139)
                {"ls", "ls", store, "--json", "--x=Authorization\": \"Bearer sekrit2\""},
        };
        for (String[] c : cases) {
            Cli.Result r = cli.run(java.util.Arrays.copyOfRange(c, 1, c.length));
            assertEquals(ExitCode.USAGE, r.code(), r.toString());
            JsonNode doc = single(r.out());
            assertEquals(List.of("error"), toList(doc.fieldNames()), r.out());
            assertEquals(c[0], doc.get("error").get("command").asText(), r.out());
            assertEquals(ExitCode.USAGE, doc.get("error").get("exitCode").asInt(), r.out());
            String said = r.err().lines().findFirst().orElseThrow();
            assertEquals(said, (c[0].equals("ckpt-tool") ? "ckpt-tool: " : "ckpt-tool " + c[0] + ": ")
                    + doc.get("error").get("message").asText(), "the message as stderr says it");
            assertFalse(r.out().contains("sekrit2") || r.err().contains("sekrit2"), r.toString());
        }
        for (String[] args : new String[][]{{"ls", store, "--bogus"}, {"ls", store, "--json=false", "--bogus"},
                {"ls", store, "--", "--json"}}) {
            Cli.Result r = cli.run(args);
            assertEquals(ExitCode.USAGE, r.code(), r.toString());
            assertEquals("", r.out(), String.join(" ", args));
        }
    }

    /** stdout as exactly one JSON document (a second one after it fails). */
    private static JsonNode single(String out) throws Exception {
        return OutputOptions.JSON.reader().with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .readTree(out);
    }

    private static List<String> toList(Iterator<String> it) {
        List<String> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }
}

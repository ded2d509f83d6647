package dev.ckpt.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ls of a store where one checkpoint's manifest is missing or damaged lists every checkpoint,
 * marks that one DAMAGED with '?' for what it cannot know, names the damage, and exits 3
 * (helper-102: one missing manifest failed the whole listing, exit 1, listing nothing).
 */
class LsDamagedCliTest {
    @TempDir
    Path tmp;

    @Test
    void aMissingOrDamagedManifestIsMarkedAndTheRestIsListed() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        String store = tmp.resolve("store").toString();
        for (int step = 1; step <= 3; step++) {
            Path src = TestDirs.checkpoint(tmp.resolve("src" + step), step, 2, 20_000);
            assertEquals(0, cli.run("push", store, src.toString(), "--run", "r", "--step", Integer.toString(step)).code());
        }
        JsonNode before = cli.run("ls", store, "--json").json().get("checkpoints");
        String missing = before.get(0).get("id").asText();
        String damaged = before.get(1).get("id").asText();
        Files.delete(tmp.resolve("store/manifests/" + missing + ".json"));
        Files.writeString(tmp.resolve("store/manifests/" + damaged + ".json"), "{ not json");

        Cli.Result text = cli.run("ls", store);
        assertEquals(3, text.code(), text.toString());
        for (JsonNode c : before) {
            assertTrue(text.out().contains(c.get("id").asText()), text.toString());
        }
        String missingRow = text.out().lines().filter(l -> l.startsWith(missing)).findFirst().orElseThrow();
        assertTrue(missingRow.matches(".* \\? +DAMAGED$"), missingRow);
        String goodRow = text.out().lines().filter(l -> l.startsWith(before.get(2).get("id").asText())).findFirst().orElseThrow();
        assertFalse(goodRow.contains("DAMAGED") || goodRow.contains("?"), goodRow);
        assertTrue(text.err().contains("manifests/" + missing + ".json"), text.err());
        assertTrue(text.err().contains("manifests/" + damaged + ".json"), text.err());
        assertTrue(text.err().contains("2 checkpoints of the store cannot be restored") && text.err().contains("ckpt-tool verify "
                + store), text.err());
        assertFalse(CkptToolErrorMessagesTest.JAVA.matcher(text.err()).find(), text.err());

        Cli.Result json = cli.run("ls", store, "--json");
        assertEquals(3, json.code(), json.toString());
        JsonNode rows = json.json().get("checkpoints");
        assertEquals(3, rows.size(), rows.toString());
        assertTrue(rows.get(0).get("uniqueBytes").isNull() && rows.get(0).has("unreadable"), rows.toString());
        assertTrue(rows.get(2).get("uniqueBytes").asLong() > 0 && !rows.get(2).has("unreadable"), rows.toString());

        // stats counts what it can read and names the rest, as ls does (helper-105: it failed for the whole store)
        Cli.Result stats = cli.run("stats", store);
        assertEquals(3, stats.code(), stats.toString());
        assertTrue(stats.out().contains("checkpoints    3 in 1 run"), stats.out());
        assertTrue(stats.err().contains("manifests/" + missing + ".json") && stats.err().contains("2 checkpoints of the"
                + " store cannot be restored, and none of their chunks is counted above"), stats.err());
        assertTrue(stats.out().matches("(?s).*stored         \\S+ \\S+: chunks \\S+ \\S+ \\(compression [\\d.]+x\\), manifests"
                + " \\S+ \\S+\n.*"), stats.out());
        assertEquals(3, cli.run("stats", store, "--json").code());

        Cli.Result oneRun = cli.run("ls", store, "--run", "r");
        assertEquals(3, oneRun.code(), oneRun.toString());
        assertTrue(oneRun.err().contains("2 checkpoints of run r cannot be restored"), oneRun.toString());
        // another run's damage is not this listing's (helper-104: ls --run other exited 3 for it)
        Path other = TestDirs.checkpoint(tmp.resolve("other"), 9, 2, 20_000);
        assertEquals(0, cli.run("push", store, other.toString(), "--run", "other", "--step", "1").code());
        Cli.Result clean = cli.run("ls", store, "--run", "other");
        assertEquals(0, clean.code(), clean.toString());
        assertFalse(clean.err().contains("cannot be restored"), clean.toString());
    }
}

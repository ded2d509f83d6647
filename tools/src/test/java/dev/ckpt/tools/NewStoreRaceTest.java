package dev.ckpt.tools;

import dev.ckpt.store.testing.AtOnce;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Commands push and import into a store that does not exist yet, all at once, and three of
 * them fail (an archive that is not an export). A failing one removes only the directories
 * it created itself and only while they are empty, and the others re-create a directory
 * removed under them: the good push and import succeed every time, and each failing one
 * gives its own reason, not "does not exist" (a tryout with processes saw both, 3 of 40).
 */
class NewStoreRaceTest {
    @TempDir
    Path tmp;

    @Test
    void aFailingCommandNeverRemovesTheNewStoreAnotherRankIsPushingOrImportingInto() throws Exception {
        Cli cli = new Cli(Map.of(), "--progress", "none");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("w.bin"), "weights");
        Path garbage = tmp.resolve("garbage.tar.zst");
        Files.write(garbage, com.github.luben.zstd.Zstd.compress("not a tar".getBytes()));
        String exportStore = tmp.resolve("export-from").toString();
        assertEquals(0, cli.run("push", exportStore, src.toString(), "--run", "e", "--step", "1").code());
        Path archive = tmp.resolve("e.tar.zst");
        assertEquals(0, cli.run("export", exportStore, "latest", archive.toString()).code());
        for (int round = 0; round < 30; round++) {
            String store = tmp.resolve("job-" + round).resolve("store").toString();
            List<Callable<Cli.Result>> commands = new ArrayList<>();
            commands.add(() -> cli.run("push", store, src.toString(), "--run", "r", "--step", "1"));
            commands.add(() -> cli.run("import", store, archive.toString(), "--run", "imp", "--step", "1"));
            for (int i = 0; i < 3; i++) {
                String run = "bad" + i;
                commands.add(() -> cli.run("import", store, garbage.toString(), "--run", run, "--step", "1"));
            }
            List<Cli.Result> results = AtOnce.run(commands);
            Cli.Result push = results.get(0);
            Cli.Result imp = results.get(1);
            for (Cli.Result r : results.subList(2, 5)) {
                assertEquals(ExitCode.ERROR, r.code(), r.toString());
                assertFalse(r.err().contains("does not exist"), "round " + round + ": not its own reason: " + r);
            }
            assertEquals(0, push.code(), "round " + round + ": " + push);
            assertEquals(0, imp.code(), "round " + round + ": " + imp);
            Cli.Result ls = cli.run("ls", store, "--json");
            assertEquals(0, ls.code(), "round " + round + ": " + ls);
            assertEquals(2, ls.json().get("checkpoints").size(), ls.out());
        }
    }
}

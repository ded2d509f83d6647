package dev.ckpt.trainer;

import dev.ckpt.trainer.TrainerRuns.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer's resume restores into {@code <staging>/<run>/restore.tmp}: a link planted
 * there is removed (the link, not what it points to) and the restore writes only inside
 * the staging directory.
 */
class ResumePlantedLinkTest {
    @TempDir
    Path tmp;

    private String[] args(String steps, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("--store", tmp.resolve("store").toString(), "--staging",
                tmp.resolve("staging").toString(), "--run", "p", "--steps", steps, "--save-every", "10"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    @Test
    void aLinkPlantedAtTheResumeTargetIsRemovedNotFollowed() throws Exception {
        Result first = TrainerRuns.inProcess(args("10"));
        assertEquals(0, first.code(), first.all());
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("state.json"), "precious");
        Path link = tmp.resolve("staging/p/restore.tmp");
        Files.createSymbolicLink(link, outside);

        Result resumed = TrainerRuns.inProcess(args("20", "--auto-resume"));
        assertEquals(0, resumed.code(), resumed.all());
        assertTrue(resumed.out().contains("auto-resume: restored checkpoint p-s10-"), resumed.out());
        assertEquals("precious", Files.readString(outside.resolve("state.json")));
        try (var s = Files.list(outside)) {
            assertEquals(List.of(outside.resolve("state.json")), s.toList(), "nothing written outside the staging");
        }
        assertFalse(Files.isSymbolicLink(link) || Files.exists(link), "the link is gone, the restored copy adopted");
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A source tree nearly as deep as a path may be long (1,900 levels of {@code d/}, about
 * 3,800 characters) is saved and restored: the scan walks it with a stack of its own (a
 * recursive walk overflowed the thread's stack at about 1,200 levels).
 */
class DeepTreeTest extends InMemoryFixture {
    @Test
    void aTreeOf1900LevelsIsSavedAndRestored() throws Exception {
        Path src = tmp.resolve("s");
        Path out = tmp.resolve("o");
        try {
            saveAndRestore(src, out);
        } finally { // JUnit's own clean-up resolves every directory's real path: quadratic in the depth, minutes here
            deleteTree(src);
            deleteTree(out);
        }
    }

    private void saveAndRestore(Path src, Path out) throws Exception {
        Path dir = src;
        for (int i = 0; i < 1900; i++) {
            dir = dir.resolve("d");
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("leaf.txt"), "bottom");
        Files.writeString(src.resolve("top.txt"), "top");
        SaveResult r = store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1));
        assertEquals(2, r.files());
        store.restore(store.resolve(r.checkpointId()), out, List.of());
        TestDirs.assertSameTree(TestDirs.snapshot(src), out);
    }

    private static void deleteTree(Path root) throws Exception {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

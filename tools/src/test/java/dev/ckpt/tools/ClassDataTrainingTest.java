package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The launcher's class-recording run ({@link ClassDataTraining}) works in a directory of its
 * own under the temporary directory and removes it: it used to call {@code System.exit}
 * inside its {@code try}, which skipped the clean-up, and every build left about 1 MB in /tmp
 * (100 such directories were found on a development machine).
 */
class ClassDataTrainingTest {
    @TempDir
    Path tmp;

    @Test
    void theTrainingRunSucceedsAndLeavesNothingInTheTemporaryDirectory() throws Exception {
        assertEquals(0, ClassDataTraining.run(tmp), "the local round trip of push, ls, show, verify, restore, gc");
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(0, left.count(), "nothing left under " + tmp);
        }
    }
}

package dev.ckpt.store.util;

import dev.ckpt.store.testing.AtOnce;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalFilesTest {
    @TempDir
    Path tmp;

    @Test
    void createDirectoriesOwnedReturnsWhatThisCallMadeDeepestFirst() throws Exception {
        Path d = tmp.resolve("a/b/c");
        assertEquals(List.of(d, tmp.resolve("a/b"), tmp.resolve("a")), LocalFiles.createDirectoriesOwned(d));
        assertTrue(Files.isDirectory(d));
        assertEquals(List.of(), LocalFiles.createDirectoriesOwned(d), "an existing directory is not claimed");
        assertEquals(List.of(tmp.resolve("a/x")), LocalFiles.createDirectoriesOwned(tmp.resolve("a/x")));
        Files.writeString(tmp.resolve("file"), "data");
        assertThrows(FileAlreadyExistsException.class, () -> LocalFiles.createDirectoriesOwned(tmp.resolve("file")));
        assertEquals("data", Files.readString(tmp.resolve("file")));
    }

    /** Ranks creating one new store path at once: each directory is claimed by exactly one of them. */
    @Test
    void racingCallsEachClaimADirectoryOnceAndAllSucceed() throws Exception {
        for (int round = 0; round < 200; round++) {
            Path d = tmp.resolve("r" + round).resolve("job/store");
            List<Path> claimed = new ArrayList<>();
            for (List<Path> mine : AtOnce.run(4, () -> LocalFiles.createDirectoriesOwned(d))) {
                claimed.addAll(mine);
            }
            Set<Path> unique = new HashSet<>(claimed);
            assertEquals(claimed.size(), unique.size(), "claimed twice: " + claimed);
            assertEquals(Set.of(d, d.getParent(), d.getParent().getParent()), unique);
        }
    }
}

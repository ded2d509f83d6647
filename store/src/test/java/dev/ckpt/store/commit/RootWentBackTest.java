package dev.ckpt.store.commit;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * helper-107: ROOT replaced under a writer by an older copy (an empty store mounted over the
 * store) still fences the writer, but the message said "a newer writer owns this run", with
 * the run's epoch gone back. It now says ROOT went back, and to check the store.
 */
class RootWentBackTest {
    @TempDir
    Path tmp;

    @Test
    void aRootOlderThanTheWritersEpochIsSaidToHaveGoneBack() throws Exception {
        Path dir = tmp.resolve("store");
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 1, 2, 10_000);
        try (CheckpointStore s = CheckpointStore.open(ObjectStores.local(dir), StoreConfig.defaults())) {
            s.init();
            byte[] before = Files.readAllBytes(dir.resolve("ROOT"));
            WriterToken w = s.claimWriter("r");
            s.save(w, SaveRequest.of(src, "r", 1));
            Files.write(dir.resolve("ROOT"), before); // the store as it was before the run was claimed
            FencedException e = assertThrows(FencedException.class, () -> s.save(w, SaveRequest.of(src, "r", 2)));
            assertTrue(e.getMessage().contains("but ROOT now says the run's epoch is 0, older than this writer's: ROOT was"
                    + " replaced by an older copy or another store"), e.getMessage());
            assertFalse(e.getMessage().contains("a newer writer owns this run"), e.getMessage());
        }
    }
}

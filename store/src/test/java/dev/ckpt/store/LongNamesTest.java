package dev.ckpt.store;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every path a save accepts restores, up to the platform's own limits: names of 1 to 255
 * bytes (Linux filesystems' limit for one name), multi-byte UTF-8 names at the limit, and
 * deep paths. Restore's temporary files must not be longer than the names they stand for.
 */
public class LongNamesTest {
    @TempDir
    Path tmp;

    /** File names of 1..255 bytes: ASCII at every length that matters, and 2-, 3- and 4-byte UTF-8 ones at 254/255. */
    public static List<String> namesUpTo255Bytes() {
        List<String> names = new ArrayList<>();
        for (int len : new int[]{1, 2, 100, 200, 208, 209, 210, 230, 250, 254, 255}) {
            names.add(("n" + len + "-").repeat(100).substring(0, len - 1) + "x");
        }
        names.add("é".repeat(127));                 // 254 bytes
        names.add("é".repeat(127) + "a");           // 255 bytes
        names.add("日".repeat(85));                  // 255 bytes
        names.add("\uD83D\uDE42".repeat(63) + "abc"); // 4-byte emoji x 63 + 3 = 255 bytes
        for (String n : names) {
            int bytes = n.getBytes(StandardCharsets.UTF_8).length;
            if (bytes < 1 || bytes > 255) {
                throw new AssertionError(n + " is " + bytes + " bytes");
            }
        }
        return names;
    }

    /** A relative path of {@code levels} directories of 240-byte names, ending in a 255-byte file name. */
    public static String deepPath(int levels) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < levels; i++) {
            sb.append(String.format("%03d", i)).append("d".repeat(237)).append('/');
        }
        return sb.append("f".repeat(255)).toString();
    }

    /** Writes one small file per name (each its own content) plus a deep path into {@code dir}. */
    public static Path longNamesDir(Path dir, int deepLevels) throws IOException {
        Files.createDirectories(dir);
        for (String n : namesUpTo255Bytes()) {
            Files.writeString(dir.resolve(n), "content of " + n);
        }
        Path deep = dir.resolve(deepPath(deepLevels));
        Files.createDirectories(deep.getParent());
        Files.writeString(deep, "deep");
        return dir;
    }

    @Test
    void everyNameASaveAcceptsRestoresIncludingOverExistingFiles() throws IOException {
        // tmp is short (/tmp/junitNNN); 12 levels of 241 bytes + 255 keep the whole path under PATH_MAX (4096)
        Path src = longNamesDir(tmp.resolve("s"), 12);
        FakeClock clock = new FakeClock();
        try (CheckpointStore store = Stores.open(ObjectStores.local(tmp.resolve("store")), clock)) {
            WriterToken w = store.claimWriter("r");
            SaveResult r = store.save(w, SaveRequest.of(src, "r", 1));
            assertEquals(namesUpTo255Bytes().size() + 1, r.files());
            store.restore(r.checkpointId(), tmp.resolve("o"));
            TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("o"));
            store.restore(r.checkpointId(), tmp.resolve("o")); // again: every destination exists and is replaced
            TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("o"));
        }
    }
}

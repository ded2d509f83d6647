package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import dev.ckpt.store.util.TransferListener;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A save takes a file's SHA-256 from the run's previous checkpoint when every chunk matches
 * it, and otherwise hashes the file whole (re-reading the prefix that matched): every
 * manifest's file hash must equal the file's real SHA-256, whatever changed where.
 */
class FileHashStageTest extends InMemoryFixture {
    private static final int CHUNK = 16 * 1024; // Stores.config

    private static byte[] random(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private Manifest save(Path src, long step) {
        SaveResult r = store.save(store.claimWriter("r"), SaveRequest.of(src, "r", step));
        return store.manifest(store.resolve(r.checkpointId()));
    }

    private static void assertHashesAreTheFiles(Path src, Manifest m) throws Exception {
        for (FileEntry f : m.files()) {
            assertEquals(Hashes.sha256Hex(Files.readAllBytes(src.resolve(f.path()))), f.sha256(), f.path());
        }
    }

    @Test
    void everyFileHashIsTheFilesWhateverChangedWhere() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("sub"));
        int size = 8 * CHUNK + 123; // 9 chunks, the last one short
        String[] names = {"same.bin", "first.bin", "middle.bin", "last.bin", "grown.bin", "sub/swapped-a.bin",
                "sub/swapped-b.bin", "all.bin"};
        for (int i = 0; i < names.length; i++) {
            Files.write(src.resolve(names[i]), random(i, size));
        }
        Manifest before = save(src, 1);
        assertHashesAreTheFiles(src, before);

        flip(src.resolve("first.bin"), 10);
        flip(src.resolve("middle.bin"), 4 * CHUNK + 5);
        flip(src.resolve("last.bin"), size - 1);
        Files.write(src.resolve("grown.bin"), random(4, size + CHUNK)); // same first chunks, one more
        Files.write(src.resolve("sub/swapped-a.bin"), random(6, size)); // the two files' contents swapped
        Files.write(src.resolve("sub/swapped-b.bin"), random(5, size));
        Files.write(src.resolve("all.bin"), random(99, size));
        Manifest after = save(src, 2);
        assertHashesAreTheFiles(src, after);
        assertEquals(before.files().get(indexOf(before, "same.bin")).sha256(),
                after.files().get(indexOf(after, "same.bin")).sha256());

        Path out = tmp.resolve("out");
        store.restore(store.resolve(after.id()), out, List.of());
        TestDirs.assertSameTree(TestDirs.snapshot(src), out);

        // and a third save of the same bytes: every file unchanged since the second
        assertHashesAreTheFiles(src, save(src, 3));
    }

    private static int indexOf(Manifest m, String path) {
        for (int i = 0; i < m.files().size(); i++) {
            if (m.files().get(i).path().equals(path)) {
                return i;
            }
        }
        throw new AssertionError(path);
    }

    private static void flip(Path p, int at) throws Exception {
        byte[] b = Files.readAllBytes(p);
        b[at] ^= 1;
        Files.write(p, b);
    }

    /**
     * A previous checkpoint whose manifest records a wrong hash for a file (a manifest that
     * {@code recover} re-blessed after bit rot, an old faulty writer) does not pass it on: the
     * next save of the unchanged file records the file's real SHA-256.
     */
    @Test
    void aWrongHashInThePreviousCheckpointIsNotPassedOn() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Files.write(src.resolve("frozen.bin"), random(1, 5 * CHUNK));
        Manifest first = save(src, 1);
        com.fasterxml.jackson.databind.node.ObjectNode m = (com.fasterxml.jackson.databind.node.ObjectNode)
                dev.ckpt.store.manifest.Json.MAPPER.readTree(objects.get(first.key()).data());
        ((com.fasterxml.jackson.databind.node.ObjectNode) m.withArray("files").get(0)).put("sha256", "0".repeat(64));
        dev.ckpt.store.testing.Tamper.replaceManifest(objects, first.id(),
                dev.ckpt.store.manifest.Json.MAPPER.writeValueAsBytes(m));
        store.close();
        store = Stores.open(objects, clock); // no cached manifest
        Manifest second = save(src, 2);
        assertHashesAreTheFiles(src, second);
        Path out = tmp.resolve("out");
        store.restore(store.resolve(second.id()), out, List.of());
        TestDirs.assertSameTree(TestDirs.snapshot(src), out);
    }
}

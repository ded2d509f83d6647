package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.testing.AtOnce;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalObjectStoreTest extends ObjectStoreContractTest {
    private Path dir;

    @Override
    protected ObjectStore newStore() {
        dir = tmp.resolve("store");
        return ObjectStores.local(dir);
    }

    @Override
    protected String urlForOtherProcesses() {
        return dir.toUri().toString();
    }

    @Test
    void writesLeaveNoTemporaryFilesAndListingsSkipHiddenOnes() throws Exception {
        store.put("chunks/aa/x", new byte[]{1});
        store.putIfAbsent("chunks/aa/y", new byte[]{2}, 0, 1);
        String e = store.put("ROOT", new byte[]{3});
        store.putIfMatch("ROOT", new byte[]{4}, e);
        Files.writeString(dir.resolve("chunks/aa/.x.tmp-leftover"), "crash leftover");
        try (Stream<Path> s = Files.walk(dir)) {
            assertEquals(1, s.filter(p -> p.getFileName().toString().contains(".tmp-")).count());
        }
        assertEquals(2, store.list("chunks/").stream().count());
        assertEquals(3, store.list("").stream().count(), "ROOT and two chunks; lock files and temporaries are hidden");
    }

    @Test
    void etagIsStableAcrossInstances() {
        String etag = store.put("ROOT", new byte[]{9, 9});
        assertEquals(etag, ObjectStores.local(dir).get("ROOT").etag());
    }

    @Test
    void openParsesFileUrlsAndPaths() {
        store.put("k", new byte[]{1});
        assertEquals(1, ObjectStores.open(dir.toUri().toString()).get("k").data()[0]);
        assertEquals(1, ObjectStores.open(dir.toString()).get("k").data()[0]);
    }

    @Test
    void unknownSchemeIsABadConfigurationNamingTheUrl() {
        BadConfigurationException e = assertThrows(BadConfigurationException.class, () -> ObjectStores.open("ftp://host/x"));
        assertTrue(e.getMessage().contains("ftp://host/x") && e.getMessage().contains("unknown scheme"), e.getMessage());
    }

    /**
     * From a CI failure: four SLURM ranks opened a new store at once, and one was told the
     * directory "is not a directory" because another rank created it between two checks.
     */
    @Test
    void ranksOpeningANewStoreAtOnceAllSucceed() throws Exception {
        for (int round = 0; round < 300; round++) {
            Path fresh = tmp.resolve("race-" + round).resolve("store");
            for (ObjectStore opened : AtOnce.run(6, () -> ObjectStores.local(fresh))) {
                opened.put("k", new byte[]{1});
            }
            assertTrue(Files.isDirectory(fresh));
        }
    }

    @Test
    void aFileWhereTheStoreShouldBeIsNamedAndLeftAlone() throws Exception {
        Path file = tmp.resolve("not-a-store");
        Files.writeString(file, "user data");
        BadConfigurationException e = assertThrows(BadConfigurationException.class, () -> ObjectStores.local(file));
        assertTrue(e.getMessage().contains("store " + file.toAbsolutePath() + " is not a directory"), e.getMessage());
        assertEquals("user data", Files.readString(file));
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.testing.AtOnce;
import org.junit.jupiter.api.Test;

import dev.ckpt.store.util.LocalFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalObjectStoreTest extends ObjectStoreContractTest {
    private Path dir;

    @Override
    protected boolean readsIntoBuffer() {
        return true; // a file is read into it
    }

    @Override
    protected ObjectStore newStore() {
        dir = tmp.resolve("store");
        return ObjectStores.local(dir);
    }

    @Override
    protected String urlForOtherProcesses() {
        return dir.toUri().toString();
    }

    /**
     * A file named as one of the store's directories is found before a command that writes
     * starts: init said "initialized" and every save then failed (helper-119). Doctor opens such
     * a store and reports it among its checks.
     */
    @Test
    void aFileWhereTheStoreKeepsADirectoryIsFoundBeforeTheStoreIsUsed() throws Exception {
        for (String name : List.of("chunks", "manifests", "gc")) {
            Path d = Files.createDirectories(tmp.resolve("with-" + name));
            Files.writeString(d.resolve(name), "not a directory");
            assertEquals("cannot use " + d + " as a store: a file is where the store keeps a directory (" + d.resolve(name)
                    + "), which no object can be in; move it out of the store and try again",
                    ObjectStores.obstructedStore(d.toString()).orElseThrow());
            assertEquals(ObjectStores.obstructedStore(d.toString()), ObjectStores.obstructedStore(d.toUri().toString()));
        }
        Path fine = Files.createDirectories(tmp.resolve("with-dirs"));
        Files.createDirectories(fine.resolve("chunks"));
        assertTrue(ObjectStores.obstructedStore(fine.toString()).isEmpty());
        assertTrue(ObjectStores.obstructedStore(tmp.resolve("missing").toString()).isEmpty());
        assertTrue(ObjectStores.obstructedStore("s3://bucket/x").isEmpty());
    }

    /**
     * A new store is not made inside another (helper-118: --store ckpt-store/manifests made one among the outer
     * store's objects, whose doctor then counted its manifests); the outer store, a store beside it, and a store
     * that already exists under a directory of the outer one's still open.
     */
    @Test
    void aNewStoreIsNotMadeInsideAnother() throws Exception {
        store.put("ROOT", new byte[]{1});
        store.put("manifests/a.json", new byte[]{2});
        store.put("chunks/aa/x", new byte[]{3});
        for (Path inside : List.of(dir.resolve("manifests"), dir.resolve("chunks/sub"), dir.resolve("chunks/aa/new/deep"),
                dir.resolve("extra"))) {
            BadConfigurationException e = assertThrows(BadConfigurationException.class, () -> ObjectStores.local(inside));
            assertEquals("cannot make a store in " + inside + ": it is inside the store " + dir + ", among that store's"
                    + " objects; give a directory outside it", e.getMessage());
            assertFalse(Files.exists(dir.resolve("chunks/sub")) || Files.exists(dir.resolve("extra")), "nothing made");
        }
        // through a link into the store (helper-119: init link-into made one in s1/manifests)
        Path link = Files.createSymbolicLink(tmp.resolve("link-into"), dir.resolve("manifests"));
        BadConfigurationException viaLink = assertThrows(BadConfigurationException.class, () -> ObjectStores.local(link));
        assertTrue(viaLink.getMessage().contains("it is inside the store " + dir), viaLink.getMessage());
        assertThrows(BadConfigurationException.class, () -> ObjectStores.local(link.resolve("deeper/new")));
        // a new store holds only its ROOT (helper-119: not recognised without chunks/ or manifests/)
        Path fresh = tmp.resolve("fresh");
        Files.createDirectories(fresh);
        Files.writeString(fresh.resolve("ROOT"), "{\n  \"format\" : 1,\n  \"version\" : 1\n}");
        BadConfigurationException inFresh = assertThrows(BadConfigurationException.class,
                () -> ObjectStores.local(fresh.resolve("sub")));
        assertTrue(inFresh.getMessage().contains("it is inside the store " + fresh), inFresh.getMessage());
        // a file called ROOT that is no store's, beside a chunks/ directory alone, is no store
        Path notAStore = tmp.resolve("not-a-store");
        Files.createDirectories(notAStore.resolve("chunks"));
        Files.writeString(notAStore.resolve("ROOT"), "hello");
        ObjectStores.local(notAStore.resolve("sub")).put("ROOT", new byte[]{6});
        ObjectStores.local(dir).head("ROOT").orElseThrow(); // the store itself opens
        ObjectStores.local(tmp.resolve("beside")).put("ROOT", new byte[]{4});
        // a store made there before this check existed opens: it is one
        Files.createDirectories(dir.resolve("old"));
        Files.write(dir.resolve("old/ROOT"), new byte[]{5});
        assertEquals(1, ObjectStores.local(dir.resolve("old")).get("ROOT").data().length);
    }

    /**
     * A store whose directory refuses writes with EPERM (chattr +i on it, as root; the write probe reads it as
     * read-only) says the attribute, not only to move to a writable mount (helper-117); a read-only mount says
     * only the mount.
     */
    @Test
    void aStoreReadOnlyByOperationNotPermittedNamesTheAttribute() {
        String eperm = new LocalErrors(dir, "file:///s/", "Operation not permitted").readOnlyError("ROOT", "replace", null)
                .getMessage();
        assertTrue(eperm.startsWith("store file:///s/ is read-only (Operation not permitted): cannot replace ROOT;")
                && eperm.contains("immutable or append-only attribute on its directory: lsattr -d shows it"), eperm);
        String mount = new LocalErrors(dir, "file:///s/", "Read-only file system").readOnlyError("ROOT", "replace", null)
                .getMessage();
        assertFalse(mount.contains("lsattr"), mount);
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

    /**
     * The temporary files of writers killed mid-write are removed when older than the cutoff,
     * with the directories that leaves empty; nothing else hidden or visible is touched, links
     * are not followed, and a dry run removes nothing but finds the same.
     */
    @Test
    void leftoversOfKilledWritersOlderThanTheCutoffAreRemovedAndNothingElse() throws Exception {
        store.put("ROOT", new byte[]{1});
        store.putIfMatch("ROOT", new byte[]{2}, store.head("ROOT").orElseThrow().etag()); // a lock file under .locks
        store.putIfAbsent("chunks/aa/x", new byte[]{3}, 0, 1);
        java.time.Instant now = java.time.Instant.now();
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.from(now.minusSeconds(7200));
        String uuid = "0b9e1c3a-5d2f-4e6a-8b7c-9d0e1f2a3b4c";
        List<Path> stale = List.of(dir.resolve("chunks/aa/.tmp-" + uuid), dir.resolve("chunks/bb/.tmp-" + uuid),
                dir.resolve("manifests/r-s5-e1/.tmp-" + uuid), dir.resolve(".tmp-" + uuid));
        for (int i = 0; i < stale.size(); i++) {
            Files.createDirectories(stale.get(i).getParent());
            Files.write(stale.get(i), new byte[100 * (i + 1)]);
            Files.setLastModifiedTime(stale.get(i), old);
        }
        Path young = dir.resolve("chunks/cc/.tmp-1b9e1c3a-5d2f-4e6a-8b7c-9d0e1f2a3b4c"); // a write in progress
        Files.createDirectories(young.getParent());
        Files.write(young, new byte[7]);
        List<Path> kept = List.of(dir.resolve("chunks/aa/.tmp-not-a-uuid"), dir.resolve("chunks/aa/.x.tmp-leftover"),
                dir.resolve(".locks/.tmp-" + uuid), dir.resolve(".snapshot/chunks/.tmp-" + uuid),
                dir.resolve("chunks/aa/.TMP-" + uuid.toUpperCase()));
        for (Path k : kept) {
            Files.createDirectories(k.getParent());
            Files.write(k, new byte[5]);
            Files.setLastModifiedTime(k, old);
        }
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Path outside = Files.write(elsewhere.resolve(".tmp-" + uuid), new byte[9]);
        Files.setLastModifiedTime(outside, old);
        Files.createSymbolicLink(dir.resolve("chunks/dd"), elsewhere);

        Leftovers found = store.removeLeftovers(now.minusSeconds(3600), true);
        assertEquals(new Leftovers(4, 100 + 200 + 300 + 400), found);
        assertTrue(stale.stream().allMatch(Files::exists), "a dry run removes nothing");
        assertEquals(found, store.removeLeftovers(now.minusSeconds(3600), false));
        assertTrue(stale.stream().noneMatch(Files::exists));
        assertFalse(Files.exists(dir.resolve("chunks/bb")), "left empty: removed");
        assertFalse(Files.exists(dir.resolve("manifests/r-s5-e1")), "left empty: removed");
        assertTrue(Files.isDirectory(dir.resolve("chunks/aa")) && Files.isDirectory(dir.resolve("manifests")));
        assertTrue(Files.exists(young), "younger than the cutoff: a write in progress");
        assertTrue(kept.stream().allMatch(Files::exists), "not a temporary of this store's shape, or hidden: " + kept);
        assertTrue(Files.exists(outside), "a link is not followed");
        assertEquals(List.of("ROOT", "chunks/aa/x"), store.list("").stream().map(ObjectInfo::key).toList());
        assertEquals(2, store.get("ROOT").data()[0]);
        assertEquals(Leftovers.NONE, store.removeLeftovers(now.minusSeconds(3600), false), "nothing left");
        assertEquals(new Leftovers(1, 7), store.removeLeftovers(now.plusSeconds(60), false), "the young one, once old");
    }

    /**
     * A delete prunes the directories it leaves empty, but not the store's own at its top;
     * probe/ goes too once its last scratch object is deleted (a doctor of a directory that
     * holds no store left an empty probe/ behind).
     */
    @Test
    void aDeleteLeavesTheStoresTopDirectoriesButNotAnEmptyProbeDirectory() throws Exception {
        store.put("chunks/ab/x", new byte[]{1});
        store.put("probe/0123456789abcdef", new byte[]{2});
        store.delete("chunks/ab/x");
        store.delete("probe/0123456789abcdef");
        assertTrue(Files.isDirectory(dir.resolve("chunks")), "the store's own directory stays");
        assertFalse(Files.exists(dir.resolve("chunks/ab")), "left empty: removed");
        assertFalse(Files.exists(dir.resolve("probe")), "left empty by the probe: removed");
        store.put("probe/0123456789abcdef", new byte[]{3}); // a later probe creates it again
        assertEquals(3, store.get("probe/0123456789abcdef").data()[0]);
    }

    /**
     * The staging directory of an import killed long ago (its modification time no longer
     * refreshed) is removed with all it holds, counted as its files; a young one (an import
     * running) and directories of other names stay. A break helper's case: an interrupted
     * import left 878 MB in the store for good.
     */
    @Test
    void theStagingDirectoryOfAnImportKilledLongAgoIsRemovedWithWhatItHolds() throws Exception {
        store.putIfAbsent("chunks/ab/x", new byte[]{1, 2}, 0, 2);
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minusSeconds(7200));
        Path killed = dir.resolve(dev.ckpt.store.util.TempNames.next(dev.ckpt.store.util.TempNames.IMPORT_STAGING));
        Files.createDirectories(killed.resolve("model/empty"));
        Files.write(killed.resolve("model/weights.safetensors"), new byte[3000]);
        Files.write(killed.resolve("optim.pt"), new byte[500]);
        Files.createSymbolicLink(killed.resolve("model/link"), dir.resolve("chunks/ab/x"));
        Path outside = Files.write(tmp.resolve("outside.bin"), new byte[900]);
        Files.createLink(killed.resolve("second-name.bin"), outside); // frees nothing: its bytes have another name
        Files.setLastModifiedTime(killed, old);
        Path running = dir.resolve(dev.ckpt.store.util.TempNames.next(dev.ckpt.store.util.TempNames.IMPORT_STAGING));
        Files.createDirectories(running);
        Files.write(running.resolve("a.bin"), new byte[70]);
        Files.setLastModifiedTime(running.resolve("a.bin"), old); // its files are old, the directory refreshed
        Path other = dir.resolve(".ckpt-0123456789ab"); // an export's name, not an import's: never in a store
        Files.createDirectories(other);
        Files.write(other.resolve("f"), new byte[9]);
        Files.setLastModifiedTime(other, old);
        java.time.Instant cutoff = java.time.Instant.now().minusSeconds(3600);

        String whose = ", the staging directory of an import killed or stopped over an hour ago (4 files, 3.4 KiB)";
        assertEquals(new Leftovers(4, 3500, List.of("would remove " + killed + whose)), store.removeLeftovers(cutoff, true),
                "two files, a link and a hard link");
        assertTrue(Files.exists(killed.resolve("optim.pt")), "a dry run removes nothing");
        assertEquals(new Leftovers(4, 3500, List.of("removed " + killed + whose)), store.removeLeftovers(cutoff, false));
        assertEquals(900, Files.size(outside), "the hard link's other name stays");
        assertFalse(Files.exists(killed, java.nio.file.LinkOption.NOFOLLOW_LINKS), "removed whole");
        assertTrue(Files.exists(running.resolve("a.bin")), "an import in progress keeps its directory");
        assertTrue(Files.exists(other.resolve("f")));
        org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[]{1, 2}, store.get("chunks/ab/x").data(),
                "the link's target stays");
        assertEquals(Leftovers.NONE, store.removeLeftovers(cutoff, false));
    }

    /**
     * A stale staging directory gc cannot remove is named, with why and what to do, and gc
     * goes on (it was passed over without a word: helpers 93 and 94). As root, a file made
     * immutable ({@code chattr +i}) is what cannot be removed; otherwise an unwritable folder.
     */
    @Test
    void aStaleStagingDirectoryThatCannotBeRemovedIsNamedAndGcGoesOn() throws Exception {
        Path killed = dir.resolve(dev.ckpt.store.util.TempNames.next(dev.ckpt.store.util.TempNames.EXPORT_STAGING));
        Path stuck = Files.write(Files.createDirectories(killed.resolve("d/model")).resolve("w.bin"), new byte[10]);
        boolean root = "root".equals(System.getProperty("user.name"));
        Runnable undo;
        if (root) {
            assertEquals(0, new ProcessBuilder("chattr", "+i", stuck.toString()).inheritIO().start().waitFor(),
                    "chattr +i on the test's temporary directory");
            undo = () -> run("chattr", "-i", stuck.toString());
        } else {
            Files.setPosixFilePermissions(stuck.getParent(), java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
            undo = () -> run("chmod", "u+w", stuck.getParent().toString());
        }
        try {
            Files.setLastModifiedTime(killed, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(7200)));
            Leftovers r = store.removeLeftovers(java.time.Instant.now().minusSeconds(3600), false);
            assertEquals(1, r.notes().size(), r.toString());
            String note = r.notes().get(0);
            assertTrue(note.startsWith("could not remove " + killed + ", the staging directory of an export killed or"
                    + " stopped over an hour ago: ") && note.endsWith("; gc tries again next time, or delete it: rm -r "
                    + killed), note);
            assertTrue(Files.exists(stuck));
        } finally {
            undo.run();
        }
        assertEquals(1, store.removeLeftovers(java.time.Instant.now().minusSeconds(3600), false).files(), "next time");
        assertFalse(Files.exists(killed));
    }

    private static void run(String... command) {
        try {
            new ProcessBuilder(command).inheritIO().start().waitFor();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /**
     * helper-71's cases: a store reached through a symbolic link has its leftovers found where it
     * is; a directory at the top that is not the store's (lost+found) is not entered; a temporary
     * that is a second name of an object (its writer killed between linking and removing it) is
     * removed but frees nothing, and the object stays.
     */
    @Test
    void leftoversAreFoundThroughALinkedStoreOnlyInTheStoresDirectoriesAndCountOnlyWhatTheyFree() throws Exception {
        store.putIfAbsent("chunks/ab/x", new byte[]{7, 7, 7}, 0, 3);
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minusSeconds(7200));
        Path stale = dir.resolve("chunks/cd/.tmp-0b9e1c3a-5d2f-4e6a-8b7c-9d0e1f2a3b4c");
        Files.createDirectories(stale.getParent());
        Files.write(stale, new byte[1000]);
        Path secondName = dir.resolve("chunks/ab/.tmp-1b9e1c3a-5d2f-4e6a-8b7c-9d0e1f2a3b4c");
        Files.createLink(secondName, dir.resolve("chunks/ab/x"));
        Path notTheStores = dir.resolve("lost+found/.tmp-2b9e1c3a-5d2f-4e6a-8b7c-9d0e1f2a3b4c");
        Files.createDirectories(notTheStores.getParent());
        Files.write(notTheStores, new byte[5]);
        for (Path p : List.of(stale, secondName, notTheStores)) {
            Files.setLastModifiedTime(p, old);
        }
        Path link = Files.createSymbolicLink(tmp.resolve("store-link"), dir);
        ObjectStore linked = ObjectStores.local(link);
        java.time.Instant cutoff = java.time.Instant.now().minusSeconds(3600);
        assertEquals(new Leftovers(2, 1000), linked.removeLeftovers(cutoff, true));
        assertEquals(new Leftovers(2, 1000), linked.removeLeftovers(cutoff, false));
        assertFalse(Files.exists(stale) || Files.exists(secondName));
        assertFalse(Files.exists(dir.resolve("chunks/cd")), "left empty: removed");
        assertTrue(Files.exists(notTheStores), "lost+found is not the store's");
        org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[]{7, 7, 7}, store.get("chunks/ab/x").data());
        assertTrue(Files.isSymbolicLink(link));
    }

    /**
     * A write whose temporary went before it was renamed into place (removed as a leftover:
     * its writer was stopped over an hour) fails saying so and that retrying is safe, not
     * "object not found"; nothing is written.
     */
    @Test
    void aWriteWhoseTemporaryWasRemovedSaysSoAndWritesNothing() throws Exception {
        Path fanOut = Files.createDirectories(dir.resolve("chunks/ee"));
        // a temporary removed between its write and its publish: the directory's only hidden file, taken at once
        Thread taker = new Thread(() -> {
            long end = System.nanoTime() + 20_000_000_000L;
            while (System.nanoTime() < end && !Thread.currentThread().isInterrupted()) {
                try (Stream<Path> s = Files.list(fanOut)) {
                    s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).forEach(p -> p.toFile().delete());
                } catch (java.io.IOException ignored) {
                    // listing while the writer works
                }
            }
        });
        taker.start();
        byte[] big = new byte[16 << 20]; // written and fsynced long enough for the taker to find it
        try {
            for (int attempt = 0; attempt < 20; attempt++) {
                try {
                    store.putIfAbsent("chunks/ee/x" + attempt, big, 0, big.length);
                } catch (dev.ckpt.store.error.StoreUnavailableException e) {
                    assertTrue(e.getMessage().contains("chunks/ee/x" + attempt) && e.getMessage().contains(
                            "its temporary file was removed before it was renamed into place")
                            && e.getMessage().contains("retrying is safe"), e.getMessage());
                    assertTrue(store.head("chunks/ee/x" + attempt).isEmpty(), "nothing written");
                    return;
                }
            }
            throw new AssertionError("the taker never removed a temporary between its write and its publish");
        } finally {
            taker.interrupt();
            taker.join();
        }
    }

    /**
     * A directory where an object's file should be (a damaged store) is no object, as a
     * prefix is none on S3: absent for get and head (verify counts it missing, exit 3), not
     * "store unavailable, retry" (exit 7); a write to its key is refused naming it, as needing
     * someone to act, and a create-only write never takes it for the object.
     */
    @Test
    void aDirectoryAtAnObjectsKeyIsNoObject() throws Exception {
        store.put("chunks/ab/kept", new byte[]{1});
        Files.createDirectories(dir.resolve("chunks/ab/cd"));
        assertThrows(dev.ckpt.store.error.NotFoundException.class, () -> store.get("chunks/ab/cd"));
        assertFalse(store.head("chunks/ab/cd").isPresent());
        assertEquals(1, store.get("chunks/ab/kept").data()[0]);
        // nor may a write answer "already there" for it (a save reads such a chunk back, and would find nothing)
        for (org.junit.jupiter.api.function.Executable write : List.<org.junit.jupiter.api.function.Executable>of(
                () -> store.putIfAbsent("chunks/ab/cd", new byte[]{2}, 0, 1),
                () -> store.put("chunks/ab/cd", new byte[]{2}),
                () -> store.putIfMatch("chunks/ab/cd", new byte[]{2}, "\"0\""))) {
            dev.ckpt.store.error.StoreUnavailableException e =
                    assertThrows(dev.ckpt.store.error.StoreUnavailableException.class, write);
            assertTrue(e.getMessage().contains("chunks/ab/cd") && e.getMessage().contains("a directory is in its place"),
                    e.getMessage());
            assertTrue(e.needsAction(), "someone must move it: not 'retry later'");
        }
        assertTrue(Files.isDirectory(dir.resolve("chunks/ab/cd")), "left as it was");
    }

    /** The same for the lock file a conditional replace takes: refused naming it, as needing someone to act. */
    @Test
    void aDirectoryWhereAConditionalReplaceNeedsItsLockFileIsRefusedNamingIt() throws Exception {
        store.put("ROOT", new byte[]{1});
        store.putIfMatch("ROOT", new byte[]{2}, store.get("ROOT").etag()); // makes the lock file
        Path lock;
        try (Stream<Path> s = Files.list(dir.resolve(".locks"))) {
            lock = s.filter(p -> p.toString().endsWith(".lock")).findFirst().orElseThrow();
        }
        Files.delete(lock);
        Files.createDirectory(lock);
        String current = store.get("ROOT").etag();
        dev.ckpt.store.error.StoreUnavailableException e = assertThrows(dev.ckpt.store.error.StoreUnavailableException.class,
                () -> store.putIfMatch("ROOT", new byte[]{3}, current));
        assertTrue(e.getMessage().contains(lock.toString()) && e.getMessage().contains("a directory is in its place"),
                e.getMessage());
        assertTrue(e.needsAction(), "someone must move it: not 'retry later'");
        assertEquals(2, store.get("ROOT").data()[0], "ROOT as it was");
    }

    /**
     * A FIFO where an object or a lock file should be: opening it would wait for a writer for
     * ever (a break helper's ls, gc, verify and push on such a store never ended). It is no
     * object, read at once, and every write there is refused naming it.
     */
    @Test
    void aFifoAtAnObjectsKeyOrALockFilesPlaceIsNoObjectAndNothingWaitsOnIt() throws Exception {
        store.put("ROOT", new byte[]{1});
        store.putIfMatch("ROOT", new byte[]{2}, store.get("ROOT").etag()); // makes ROOT's lock file
        Path lock;
        try (Stream<Path> s = Files.list(dir.resolve(".locks"))) {
            lock = s.filter(p -> p.toString().endsWith(".lock")).findFirst().orElseThrow();
        }
        Path chunk = dir.resolve("chunks/ab/cd");
        Files.createDirectories(chunk.getParent());
        Path manifest = dir.resolve("manifests/r-s1-x.json");
        Files.createDirectories(manifest.getParent());
        Files.delete(lock);
        for (Path p : List.of(chunk, manifest, lock)) {
            assertEquals(0, new ProcessBuilder("mkfifo", p.toString()).start().waitFor());
        }
        try {
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
                dev.ckpt.store.error.NotFoundException nf = assertThrows(dev.ckpt.store.error.NotFoundException.class,
                        () -> store.get("manifests/r-s1-x.json"));
                assertTrue(nf.inItsPlace() != null && nf.inItsPlace().contains("a FIFO (named pipe) is in its place ("
                        + manifest + ")"), nf.getMessage());
                assertFalse(store.head("chunks/ab/cd").isPresent());
                assertRefusedNeedingAction("a FIFO (named pipe) is in its place",
                        () -> store.putIfAbsent("chunks/ab/cd", new byte[]{2}, 0, 1),
                        () -> store.putIfMatch("chunks/ab/cd", new byte[]{2}, "\"0\""),
                        () -> store.putIfMatch("ROOT", new byte[]{3}, store.get("ROOT").etag()));
            }, "a read or write waited on a FIFO");
            assertEquals(2, store.get("ROOT").data()[0], "ROOT as it was");
            assertFalse(Files.isRegularFile(chunk), "left as it was");
        } finally {
            for (Path p : List.of(chunk, manifest, lock)) { // whatever still waits on one gets its writer and reader
                if (Files.exists(p) && !Files.isRegularFile(p)) {
                    new java.io.RandomAccessFile(p.toFile(), "rw").close();
                }
            }
        }
    }

    /**
     * Something other than a directory where the store keeps one (a file at .locks, a FIFO at
     * chunks/ab, a file at gc): reads find no object there and name it; writes are refused
     * naming it, as needing someone to act. Before, "Not a directory" or "already exists"
     * said retry (exit 7), and a ROOT write "may or may not have been applied" (exit 6).
     * A lock file that is a link (to /dev/null: every process's lock) is refused too.
     */
    @Test
    void aNonDirectoryWhereTheStoreKeepsADirectoryIsNamedAndWritesThereAreRefused() throws Exception {
        store.put("ROOT", new byte[]{1});
        store.put("chunks/ab/kept", new byte[]{1});
        String etag = store.get("ROOT").etag();
        Path locks = dir.resolve(".locks");
        if (Files.exists(locks)) {
            LocalFiles.deleteTree(locks);
        }
        Files.write(locks, new byte[]{0});
        dev.ckpt.store.error.StoreUnavailableException e = assertThrows(dev.ckpt.store.error.StoreUnavailableException.class,
                () -> store.putIfMatch("ROOT", new byte[]{2}, etag));
        assertTrue(e.getMessage().contains("a file is where the store keeps a directory (" + locks + ")"), e.getMessage());
        assertTrue(e.needsAction());
        Files.delete(locks);
        Files.createDirectories(locks);
        store.putIfMatch("ROOT", new byte[]{2}, etag); // makes the lock file
        Path lock;
        try (Stream<Path> l = Files.list(locks)) {
            lock = l.filter(p -> p.toString().endsWith(".lock")).findFirst().orElseThrow();
        }
        Files.delete(lock);
        Files.createSymbolicLink(lock, Path.of("/dev/null"));
        String etag2 = store.get("ROOT").etag();
        e = assertThrows(dev.ckpt.store.error.StoreUnavailableException.class, () -> store.putIfMatch("ROOT", new byte[]{3}, etag2));
        assertTrue(e.getMessage().contains("a symbolic link is in its place (" + lock + ")"), e.getMessage());
        assertEquals(2, store.get("ROOT").data()[0], "ROOT as it was");

        Path chunks = dir.resolve("chunks/cd");
        assertEquals(0, new ProcessBuilder("mkfifo", chunks.toString()).start().waitFor());
        Files.write(dir.resolve("gc"), new byte[]{0});
        try {
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
                dev.ckpt.store.error.NotFoundException nf = assertThrows(dev.ckpt.store.error.NotFoundException.class,
                        () -> store.get("chunks/cd/x"));
                assertTrue(nf.inItsPlace() != null && nf.inItsPlace().contains("a FIFO (named pipe) is where the store"
                        + " keeps a directory (" + chunks + ")"), nf.getMessage());
                assertFalse(store.head("chunks/cd/x").isPresent());
                assertRefusedNeedingAction("is where the store keeps a directory",
                        () -> store.putIfAbsent("chunks/cd/x", new byte[]{2}, 0, 1),
                        () -> store.put("gc/2.json", new byte[]{2}));
            }, "waited on a FIFO");
            assertEquals(1, store.get("chunks/ab/kept").data()[0], "the rest of the store reads as before");
        } finally {
            new java.io.RandomAccessFile(chunks.toFile(), "rw").close();
        }
    }

    /** Each write is refused as needing someone to act (not "retry later"), its message holding {@code saying}. */
    private static void assertRefusedNeedingAction(String saying, org.junit.jupiter.api.function.Executable... writes) {
        for (org.junit.jupiter.api.function.Executable write : writes) {
            dev.ckpt.store.error.StoreUnavailableException e =
                    assertThrows(dev.ckpt.store.error.StoreUnavailableException.class, write);
            assertTrue(e.getMessage().contains(saying), e.getMessage());
            assertTrue(e.needsAction(), "someone must move it: not 'retry later'");
        }
    }

    /**
     * GC deletes a checkpoint's manifests/<id>/ parts one by one; the directory they leave
     * empty goes too (one per dropped checkpoint otherwise, walked by every listing), but
     * never the key's first directory, a directory still holding something, or the store.
     */
    @Test
    void aDeleteRemovesTheDirectoriesItLeftEmptyAndNoOthers() throws Exception {
        store.put("manifests/r-s5-e1/part-00000.json", new byte[]{1});
        store.put("manifests/r-s5-e1/part-00001.json", new byte[]{2});
        store.put("chunks/aa/bb/x", new byte[]{3});
        store.put("chunks/aa/y", new byte[]{4});
        store.delete("manifests/r-s5-e1/part-00000.json");
        assertTrue(Files.isDirectory(dir.resolve("manifests/r-s5-e1")), "still holds part 1");
        store.delete("manifests/r-s5-e1/part-00001.json");
        assertFalse(Files.exists(dir.resolve("manifests/r-s5-e1")), "left empty: removed");
        assertTrue(Files.isDirectory(dir.resolve("manifests")), "a key's first directory stays");
        store.delete("chunks/aa/bb/x");
        assertFalse(Files.exists(dir.resolve("chunks/aa/bb")));
        assertTrue(Files.isDirectory(dir.resolve("chunks/aa")), "still holds y");
        Files.writeString(dir.resolve("chunks/aa/.tmp-a-writer"), "a writer's temporary");
        store.delete("chunks/aa/y");
        assertTrue(Files.isDirectory(dir.resolve("chunks/aa")), "a writer's temporary keeps it");
        store.delete("chunks/aa/never-there");
        // a fan-out directory that is a link to a directory elsewhere is never removed, nor what it points to
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(dir.resolve("chunks/cc"), elsewhere);
        store.put("chunks/cc/z", new byte[]{6});
        store.delete("chunks/cc/z");
        assertTrue(Files.isSymbolicLink(dir.resolve("chunks/cc")) && Files.isDirectory(elsewhere));
        // a writer into a directory that was just removed creates it again
        store.put("manifests/r-s5-e1/part-00002.json", new byte[]{5});
        assertEquals(1, store.list("manifests/r-s5-e1/").stream().count());
        assertTrue(Files.isDirectory(dir));
    }

    /** Writers and deletes in one directory at once: a directory removed under a writer is created again. */
    @Test
    void writesIntoADirectoryThatDeletesKeepEmptyingAllSucceed() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                runs.add(pool.submit(() -> {
                    for (int i = 0; i < 400; i++) {
                        String key = "manifests/shared/" + thread + "-" + i;
                        if (i % 2 == 0) {
                            store.put(key, new byte[]{(byte) i});
                        } else {
                            store.putIfAbsent(key, new byte[]{(byte) i}, 0, 1);
                        }
                        assertEquals(1, store.get(key).data().length);
                        store.delete(key);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : runs) {
                f.get(120, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertFalse(Files.exists(dir.resolve("manifests/shared")), "the last delete removed it");
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
        // a link is named with where it points, whether the store is opened to write (created) or only to read
        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("gone"));
        for (boolean create : new boolean[] {true, false}) {
            e = assertThrows(BadConfigurationException.class, () -> new LocalObjectStore(dangling, false, create));
            assertTrue(e.getMessage().contains("store " + dangling + " is a symbolic link to " + tmp.resolve("gone")
                    + ", which does not exist (or loops)"), e.getMessage());
        }
        Path toFile = Files.createSymbolicLink(tmp.resolve("to-file"), file);
        e = assertThrows(BadConfigurationException.class, () -> ObjectStores.local(toFile));
        assertTrue(e.getMessage().contains("store " + toFile + " is a symbolic link to " + file + ", which is not a"
                + " directory"), e.getMessage());
    }
}

package dev.ckpt.store.restore;

import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.testing.AtOnce;
import dev.ckpt.store.testing.InMemoryFixture;
import dev.ckpt.store.testing.Stores;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A failed restore leaves the target as it was: every destination is checked before the
 * first byte is written, and a failure while renaming into place takes back what was
 * renamed (restoring the files it replaced). "As it was" is checked on the whole tree:
 * every path, every file's bytes and inode, no hidden leftovers, no new directories.
 */
class RestoreTargetTest extends InMemoryFixture {

    /** A checkpoint of a.bin, m/b.bin, m/n/c.bin, z/last.bin (sorted, so z/last.bin is renamed last). */
    private CheckpointEntry fourFiles() throws IOException {
        Path src = tmp.resolve("src");
        write(src.resolve("a.bin"), "new a");
        write(src.resolve("m/b.bin"), "new b");
        write(src.resolve("m/n/c.bin"), "new c");
        write(src.resolve("z/last.bin"), "new last");
        WriterToken w = store.claimWriter("r");
        return store.resolve(store.save(w, SaveRequest.of(src, "r", 1)).checkpointId());
    }

    private static void write(Path p, String s) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, s);
    }

    /** Every path below {@code dir} (hidden ones too): "dir", or the file's inode and content. */
    static Map<String, String> tree(Path dir) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                out.put(dir.relativize(p).toString(), a.isDirectory() ? "dir"
                        : a.fileKey() + " " + new String(Files.readAllBytes(p)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private Path targetWithOldFiles() throws IOException {
        return targetWithOldFiles(tmp.resolve("target"));
    }

    private Path targetWithOldFiles(Path t) throws IOException {
        write(t.resolve("a.bin"), "old a");          // replaced by the restore
        write(t.resolve("m/b.bin"), "old b");        // replaced
        write(t.resolve("keep.txt"), "not in the checkpoint");
        return t;
    }

    @Test
    void leftoversOfAnInterruptedRestoreBesideItsFilesAreNamedAndNeverDeleted() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        // what a restore killed with SIGKILL leaves (or a restore running now into the same directory writes)
        write(t.resolve(".ckpt-0123456789ab.tmp"), "partial download");
        write(t.resolve("m/n/.ckpt-abcdefabcdef.tmp"), "partial download");
        write(t.resolve("m/.ckpt-00000000ffff.old"), "old b, renamed aside");
        // not a restore's temporary, or not beside a file of this checkpoint, or not a regular file: not named
        write(t.resolve(".ckpt-users-own.tmp"), "the user's");
        write(t.resolve("other/.ckpt-111111111111.tmp"), "no file of the checkpoint goes here");
        Path outside = tmp.resolve("outside.txt");
        write(outside, "outside");
        Files.createDirectories(t.resolve("z"));
        Files.createSymbolicLink(t.resolve("z/.ckpt-222222222222.tmp"), outside);

        // a restore that fails leaves them all, as it leaves everything else
        String chunk = store.manifest(e).files().get(0).chunks().get(0).key();
        byte[] chunkBytes = store.objectStore().get(chunk).data();
        store.objectStore().delete(chunk);
        Map<String, String> before = tree(t);
        assertThrows(CkptException.class, () -> store.restore(e, t, List.of()));
        assertEquals(before, tree(t), "a failed restore leaves the target as it was");

        store.objectStore().put(chunk, chunkBytes);
        RestoreResult r = store.restore(e, t, List.of());
        assertEquals(List.of(t.resolve(".ckpt-0123456789ab.tmp"), t.resolve("m/n/.ckpt-abcdefabcdef.tmp")),
                r.leftoverTemporaries());
        assertEquals(List.of(t.resolve("m/.ckpt-00000000ffff.old")), r.replacedVersions());
        Map<String, String> after = tree(t);
        for (String kept : List.of(".ckpt-0123456789ab.tmp", "m/n/.ckpt-abcdefabcdef.tmp", "m/.ckpt-00000000ffff.old",
                ".ckpt-users-own.tmp", "other/.ckpt-111111111111.tmp", "z/.ckpt-222222222222.tmp")) {
            assertEquals(before.get(kept), after.get(kept), kept + " is never deleted or changed");
        }
        assertEquals("new c", Files.readString(t.resolve("m/n/c.bin")));
    }

    @Test
    void aCheckpointsOwnFilesWithALeftoverLikeNameAreNotCalledLeftovers() throws IOException {
        Path src = tmp.resolve("src-odd");
        write(src.resolve(".ckpt-aaaaaaaaaaaa.old"), "data the user saved under this name");
        write(src.resolve("d/.ckpt-bbbbbbbbbbbb.tmp"), "more of it");
        write(src.resolve("d/w.bin"), "w");
        WriterToken w = store.claimWriter("odd");
        // saved as an import saves them (a push now leaves such names out: they are an interrupted command's)
        CheckpointEntry e = store.resolve(store.save(w, SaveRequest.of(src, "odd", 1)
                .withScan(dev.ckpt.store.CheckpointStore.scanEverything(src))).checkpointId());
        Path t = tmp.resolve("odd-target");
        write(t.resolve("d/.ckpt-cccccccccccc.tmp"), "a real leftover");
        RestoreResult r = store.restore(e, t, List.of());
        // what the restore wrote is the checkpoint, never advice to delete it
        assertEquals(List.of(t.resolve("d/.ckpt-cccccccccccc.tmp")), r.leftoverTemporaries());
        assertEquals(List.of(), r.replacedVersions());
        assertEquals("data the user saved under this name", Files.readString(t.resolve(".ckpt-aaaaaaaaaaaa.old")));
    }

    @Test
    void aDirectoryWhereALaterFileGoesIsRefusedBeforeAnythingIsRenamed() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        Files.createDirectories(t.resolve("z/last.bin/inside"));
        Map<String, String> before = tree(t);
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertTrue(ex.getMessage().contains(t.resolve("z/last.bin") + " is a directory"), ex.getMessage());
        assertTrue(ex.getMessage().contains("move it away"), ex.getMessage());
        assertEquals(before, tree(t));
    }

    /** Every name in the way is said, not only the first (helper-122: a restore had to be run once per name). */
    @Test
    void everyNameInTheWayIsSaidAtOnce() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        Files.delete(t.resolve("a.bin"));
        Files.delete(t.resolve("m/b.bin"));
        for (String d : List.of("a.bin", "m/b.bin", "m/n/c.bin", "z/last.bin")) {
            Files.createDirectories(t.resolve(d));
        }
        Map<String, String> before = tree(t);
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        String m = ex.getMessage();
        assertEquals(1, m.split(" is a directory where").length - 1, "the first said in full, once: " + m);
        assertTrue(m.matches("(?s).*; move it away or restore into another directory; also in the way: [^;]+; nothing was"
                + " written"), m);
        String others = m.substring(m.indexOf("also in the way: ") + "also in the way: ".length(), m.lastIndexOf(';'));
        assertEquals(3, others.split(", ").length, "the other three named: " + m);
        for (String d : List.of("a.bin", "m/b.bin", "m/n/c.bin", "z/last.bin")) {
            assertTrue(m.contains(d), d + " named: " + m);
        }
        assertEquals(before, tree(t));
        // more than three others: counted
        for (int i = 0; i < 5; i++) {
            write(tmp.resolve("src/more/f" + i + ".bin"), "more " + i);
            Files.createDirectories(t.resolve("more/f" + i + ".bin"));
        }
        WriterToken w = store.claimWriter("r");
        CheckpointEntry nine = store.resolve(store.save(w, SaveRequest.of(tmp.resolve("src"), "r", 2)).checkpointId());
        String many = assertThrows(InvalidInputException.class, () -> store.restore(nine, t, List.of())).getMessage();
        assertTrue(many.contains(" and 5 more; nothing was written"), many);
    }

    /**
     * What blocks the way to a directory (a file, a link) is said with the rest, once for all
     * below it (helper-127: it was said alone, the others dropped); and a name with a line feed
     * keeps the message one line (helper-127: the first name and a link's target were raw).
     */
    @Test
    void whatBlocksADirectoryIsSaidWithTheRestOnOneLine() throws Exception {
        CheckpointEntry e = fourFiles();
        Path t = Files.createDirectories(tmp.resolve("target2"));
        Files.createDirectories(t.resolve("a.bin"));                       // where a file goes
        Files.writeString(t.resolve("m"), "a file");                        // where m/b.bin and m/n/c.bin need a directory
        Path feed = Files.writeString(tmp.resolve("line\nfeed"), "a file outside");
        Files.createSymbolicLink(t.resolve("z"), feed);                     // where z/last.bin needs a directory
        Map<String, String> before = tree(t);
        String m = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of())).getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        assertTrue(m.contains("also in the way: "), m);
        for (String blocker : List.of("a.bin", "m", "z")) {
            assertTrue(m.contains(t.resolve(blocker) + " is") || m.matches("(?s).*also in the way: [^;]*\\b"
                    + java.util.regex.Pattern.quote(blocker) + "\\b.*"), blocker + " named: " + m);
        }
        String others = m.substring(m.indexOf("also in the way: ") + "also in the way: ".length(), m.lastIndexOf(';'));
        assertEquals(2, others.split(", ").length, "m once, not once per file below it: " + m);
        assertEquals(before, tree(t));
    }

    @Test
    void anEmptyDirectoryWhereAFileGoesIsRefusedToo() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        Files.createDirectories(t.resolve("z/last.bin"));
        Map<String, String> before = tree(t);
        assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertEquals(before, tree(t));
    }

    @Test
    void aFileWhereADirectoryIsNeededIsRefusedBeforeAnythingIsWritten() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        write(t.resolve("m/n"), "a file named like the checkpoint's directory m/n");
        Map<String, String> before = tree(t);
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertTrue(ex.getMessage().contains(t.resolve("m/n") + " is a file where the checkpoint needs a directory"),
                ex.getMessage());
        assertEquals(before, tree(t));
    }

    @Test
    void aFileWhereTheTargetDirectoryShouldBeIsRefused() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = tmp.resolve("target-file");
        write(t, "not a directory");
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
        assertTrue(ex.getMessage().contains(t + " is not a directory; choose another target"), ex.getMessage());
        assertEquals("not a directory", Files.readString(t));
    }

    /**
     * A failure's message says "nothing was written" of a target that does not exist, not "the
     * directory is as it was" (helper-142: a restore into /proc/ckpt, which the system would not
     * create, said so of a directory that never was).
     */
    @Test
    void aFailedTargetThatNeverExistedIsNotSaidToBeAsItWas() throws IOException {
        java.nio.file.FileSystemException why = new java.nio.file.FileSystemException("x", null, "Operation not permitted");
        Path absent = tmp.resolve("never");
        assertTrue(TargetDirectory.cannot("create directory " + absent, absent, why, -1).getMessage()
                .endsWith("(restore into " + absent + " abandoned; nothing was written)"));
        Path there = Files.createDirectories(tmp.resolve("there"));
        assertTrue(TargetDirectory.cannot("write " + there.resolve("f"), there, why, -1).getMessage()
                .endsWith("(restore into " + there + " abandoned; the directory is as it was)"));
    }

    /** A target that is a symbolic link is named with where it points (a dangling one was "exists and is not a directory"). */
    @Test
    void aTargetThatIsADanglingOrLoopingLinkOrALinkToAFileIsNamedAsSuch() throws IOException {
        CheckpointEntry e = fourFiles();
        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("missing/deeper"));
        Path loop = Files.createSymbolicLink(tmp.resolve("loop"), tmp.resolve("loop"));
        Path file = tmp.resolve("a-file");
        write(file, "user data");
        Path toFile = Files.createSymbolicLink(tmp.resolve("to-file"), file);
        for (Path t : List.of(dangling, loop)) {
            InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, t, List.of()));
            assertTrue(ex.getMessage().contains(t + " is a symbolic link to " + Files.readSymbolicLink(t)
                    + ", which does not exist (or loops); make the link lead to a directory, or choose another target"), ex.getMessage());
            assertTrue(Files.isSymbolicLink(t), "left as it was");
        }
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> store.restore(e, toFile, List.of()));
        assertTrue(ex.getMessage().contains(toFile + " is a symbolic link to " + file + ", which is not a directory;"
                + " choose another target"), ex.getMessage());
        assertEquals("user data", Files.readString(file));
        assertFalse(Files.exists(tmp.resolve("missing")), "nothing created where the dangling link points");
    }

    /**
     * An old file that cannot be renamed aside (immutable as root; a read-only directory otherwise) fails the
     * restore with the target as it was, and the message says so: it said the file "does not exist" and that its
     * previous content was in a .old file that was never made (helper-117).
     */
    @Test
    void anOldFileThatCannotBeRenamedAsideLeavesTheTargetAsItWasAndSaysSo() throws Exception {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        Map<String, String> before = tree(t);
        CkptException ex;
        try (dev.ckpt.store.testing.Undeletable u = new dev.ckpt.store.testing.Undeletable(t.resolve("m/b.bin"))) {
            ex = assertThrows(CkptException.class, () -> store.restore(e, t, List.of()));
        }
        assertTrue(ex.getMessage().contains("is as it was") && !ex.getMessage().contains("does not exist")
                && !ex.getMessage().contains(".old"), ex.getMessage());
        assertEquals(before, tree(t), "a.bin, renamed before, taken back; b.bin where it was; no .old left");
    }

    /**
     * A target directory that lets files be made but not renamed or removed (chattr +a as root; read-only once the
     * temporaries are written otherwise) fails the restore, and the temporaries it could not remove are named: the
     * message said only "is as it was" over seven .ckpt-*.tmp left behind (helper-119).
     */
    @Test
    void temporariesAFailedRestoreCannotRemoveAreNamed() throws Exception {
        Path src = tmp.resolve("one-src");
        write(src.resolve("only.bin"), "only");
        CheckpointEntry e = store.resolve(store.save(store.claimWriter("one"), SaveRequest.of(src, "one", 1)).checkpointId());
        Path t = Files.createDirectories(tmp.resolve("append-only"));
        boolean root = "root".equals(System.getProperty("user.name"));
        List<String> lock = root ? List.of("chattr", "+a", t.toString()) : List.of("chmod", "555", t.toString());
        List<String> unlock = root ? List.of("chattr", "-a", t.toString()) : List.of("chmod", "755", t.toString());
        dev.ckpt.store.util.TransferListener locking = new dev.ckpt.store.util.TransferListener() {
            @Override
            public void progress(long done, long total) {
            }

            @Override
            public void committing(String id) { // the temporaries are written: now the directory refuses renames
                try {
                    assertEquals(0, new ProcessBuilder(lock).inheritIO().start().waitFor(), lock.toString());
                } catch (IOException | InterruptedException x) {
                    throw new AssertionError(x);
                }
            }
        };
        CkptException ex;
        try {
            ex = assertThrows(CkptException.class, () -> store.restore(e, t, List.of(), locking));
        } finally {
            new ProcessBuilder(unlock).inheritIO().start().waitFor();
        }
        List<Path> left;
        try (Stream<Path> l = Files.list(t)) {
            left = l.toList();
        }
        assertEquals(1, left.size(), left.toString());
        assertTrue(ex.getMessage().contains("no file had been put into place yet") && ex.getMessage().contains("but its"
                + " temporary " + left.get(0) + " could not be removed (") && ex.getMessage().endsWith("): delete it once"
                + " the directory allows it"), ex.getMessage());
    }

    @Test
    void aFailedRenameHalfWayTakesBackEveryRenamedFileAndRestoresTheReplacedOnes() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        Map<String, String> before = tree(t);
        for (int failAt = 1; failAt <= 4; failAt++) {
            AtomicInteger calls = new AtomicInteger();
            int n = failAt;
            TargetDirectory.Mover failing = (from, to) -> {
                if (calls.incrementAndGet() == n) {
                    throw new java.nio.file.FileSystemException(from.toString(), to.toString(), "Input/output error");
                }
                TargetDirectory.Mover.ATOMIC.move(from, to);
            };
            InvalidInputException ex = assertThrows(InvalidInputException.class, () -> restorer(failing).restore(e, t, List.of()),
                    "rename " + n + " fails");
            assertTrue(ex.getMessage().contains("Input/output error"), ex.getMessage());
            assertTrue(ex.getMessage().contains(n == 1 ? "no file had been put into place yet" : "file(s) already put into"
                    + " place were taken back") && ex.getMessage().contains("is as it was"), ex.getMessage());
            assertEquals(before, tree(t), "after rename " + n + " of 4 failed");
        }
        // and the same target restores fine afterwards, replacing the old files and keeping the others, and counts
        // what it replaced (helper-118: said nowhere): a.bin and m/b.bin of the four, then all four
        assertEquals(2, restorer(TargetDirectory.Mover.ATOMIC).restore(e, t, List.of()).filesReplaced());
        assertEquals(4, restorer(TargetDirectory.Mover.ATOMIC).restore(e, t, List.of()).filesReplaced());
        assertEquals(0, restorer(TargetDirectory.Mover.ATOMIC).restore(e, tmp.resolve("fresh"), List.of()).filesReplaced());
        assertEquals("new a", Files.readString(t.resolve("a.bin")));
        assertEquals("new b", Files.readString(t.resolve("m/b.bin")));
        assertEquals("new last", Files.readString(t.resolve("z/last.bin")));
        assertEquals("not in the checkpoint", Files.readString(t.resolve("keep.txt")));
        assertFalse(tree(t).keySet().stream().anyMatch(p -> p.contains(".ckpt-")), "no leftovers: " + tree(t).keySet());
    }

    /**
     * A restore killed half-way through its publish leaves the replaced files in {@code .ckpt-*.old}
     * files and a journal at the target's top saying which file each was; the next restore names
     * both (helper-146: 6,528 .old files after a kill -9, and nothing said whose they were). A
     * publish that ends, done or taken back, leaves no journal.
     */
    @Test
    void aPublishKilledHalfWayLeavesAJournalSayingWhichFileEachOldOneWas() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        class Killed extends Error {
        }
        AtomicInteger calls = new AtomicInteger();
        TargetDirectory.Mover dying = (from, to) -> {
            if (calls.incrementAndGet() == 4) {
                throw new Killed(); // as a kill -9 would: nothing after this point runs
            }
            TargetDirectory.Mover.ATOMIC.move(from, to);
        };
        assertThrows(Killed.class, () -> restorer(dying).restore(e, t, List.of()));
        List<String> journals = tree(t).keySet().stream().filter(p -> p.matches("\\.ckpt-[0-9a-f]{12}\\.journal")).toList();
        assertEquals(1, journals.size(), tree(t).keySet().toString());
        RestoreResult again = restorer(TargetDirectory.Mover.ATOMIC).restore(e, t, List.of());
        assertEquals(2, again.replacedVersions().size(), again.toString());
        assertEquals(List.of(t.resolve(journals.get(0))), again.journals());
        Map<String, String> was = new java.util.TreeMap<>();
        for (Map.Entry<Path, Path> old : again.replacedFrom().entrySet()) {
            was.put(t.relativize(old.getValue()).toString(), Files.readString(old.getKey()));
        }
        assertEquals(Map.of("a.bin", "old a", "m/b.bin", "old b"), was, "each .old named with the file it was");
        assertEquals("new a", Files.readString(t.resolve("a.bin")));
        // a publish that ends leaves none of its own: done, and taken back
        Path clean = targetWithOldFiles(tmp.resolve("clean"));
        restorer(TargetDirectory.Mover.ATOMIC).restore(e, clean, List.of());
        assertFalse(tree(clean).keySet().stream().anyMatch(p -> p.contains(".ckpt-")), tree(clean).keySet().toString());
    }

    /**
     * helper-148: the journal is best effort and read with care. A target whose top cannot be
     * written (its files in a writable subdirectory) restores as before journals; a journal that
     * is not UTF-8 spoils only itself; a line naming a path outside the target is ignored; a
     * checkpoint's own file named like a journal is not one.
     */
    @Test
    void theJournalIsBestEffortAndReadWithCare() throws Exception {
        Path src = tmp.resolve("sub-src");
        write(src.resolve("sub/a"), "new a");
        write(src.resolve(".ckpt-0123456789ab.journal"), "the checkpoint's own");
        CheckpointEntry e = store.resolve(store.save(store.claimWriter("j"), SaveRequest.of(src, "j", 1)
                .withScan(dev.ckpt.store.CheckpointStore.scanEverything(src))).checkpointId());
        Path t = tmp.resolve("locked-top");
        write(t.resolve("sub/a"), "old a");
        boolean root = "root".equals(System.getProperty("user.name"));
        List<String> lock = root ? List.of("chattr", "+i", t.toString()) : List.of("chmod", "555", t.toString());
        List<String> unlock = root ? List.of("chattr", "-i", t.toString()) : List.of("chmod", "755", t.toString());
        assertEquals(0, new ProcessBuilder(lock).inheritIO().start().waitFor());
        try {
            // .ckpt-0123456789ab.journal at the top is the checkpoint's: that file cannot be made there, so only sub/
            Path only = tmp.resolve("sub-only");
            CheckpointEntry sub = store.resolve(store.save(store.claimWriter("k"), SaveRequest.of(write2(only), "k", 1))
                    .checkpointId());
            RestoreResult r = restorer(TargetDirectory.Mover.ATOMIC).restore(sub, t, List.of());
            assertEquals(1, r.filesReplaced(), r.toString());
        } finally {
            new ProcessBuilder(unlock).inheritIO().start().waitFor();
        }
        assertEquals("new a", Files.readString(t.resolve("sub/a")));
        assertFalse(tree(t).keySet().stream().anyMatch(p -> p.contains(".ckpt-")), tree(t).keySet().toString());

        Path u = targetWithOldFiles(tmp.resolve("journals"));
        write(u.resolve(".ckpt-aaaaaaaaaaaa.old"), "old one");
        write(u.resolve(".ckpt-bbbbbbbbbbbb.old"), "old two");
        write(u.resolve(".ckpt-111111111111.journal"), "{\"old\":\".ckpt-aaaaaaaaaaaa.old\",\"was\":\"a.bin\"}\n"
                + "{\"old\":\".ckpt-bbbbbbbbbbbb.old\",\"was\":\"../../etc/passwd\"}\n");
        Files.write(u.resolve(".ckpt-000000000000.journal"), new byte[]{(byte) 0xff, (byte) 0xfe, 'x', '\n'});
        RestoreResult r = restorer(TargetDirectory.Mover.ATOMIC).restore(e, u, List.of());
        assertEquals(Map.of(u.resolve(".ckpt-aaaaaaaaaaaa.old"), u.resolve("a.bin")), r.replacedFrom(), r.toString());
        assertEquals(List.of(u.resolve(".ckpt-000000000000.journal"), u.resolve(".ckpt-111111111111.journal")),
                r.journals(), "the checkpoint's own .ckpt-0123456789ab.journal is not listed");
        assertEquals("the checkpoint's own", Files.readString(u.resolve(".ckpt-0123456789ab.journal")));
    }

    private static Path write2(Path dir) throws IOException {
        write(dir.resolve("sub/a"), "new a");
        return dir;
    }

    /**
     * A file the restore replaces keeps its name at every moment of the publish: kept aside as
     * a hard link, then replaced by one rename. Renamed aside first, a kill -9 between that and
     * the rename into place left no file of that name (helper-122, with strace injecting the
     * kill). Here every rename into place looks at its destination first.
     */
    @Test
    void aReplacedFileKeepsItsNameUntilTheRenameIntoPlace() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        Map<String, String> before = tree(t);
        List<String> seen = new java.util.ArrayList<>();
        TargetDirectory.Mover looking = (from, to) -> {
            String rel = t.relativize(to).toString();
            if (before.containsKey(rel)) {
                seen.add(rel + "=" + (Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? Files.readString(to) : "MISSING"));
            }
            TargetDirectory.Mover.ATOMIC.move(from, to);
        };
        restorer(looking).restore(e, t, List.of());
        assertEquals(List.of("a.bin=old a", "m/b.bin=old b"), seen);
        assertEquals("new a", Files.readString(t.resolve("a.bin")));
        assertFalse(tree(t).keySet().stream().anyMatch(p -> p.contains(".ckpt-")), "no leftovers: " + tree(t).keySet());
    }

    /**
     * A target below a link that leads nowhere, a link loop or a file: said as what it is, as for
     * the target itself (helper-122: "is a symbolic link ... appeared during the restore" of a link
     * that stood there before, and "cannot create directory: already exists" of a file).
     */
    @Test
    void aTargetBelowADanglingLinkALoopOrAFileIsSaidAsSuch() throws IOException {
        CheckpointEntry e = fourFiles();
        Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("nonexistent"));
        Files.createSymbolicLink(tmp.resolve("loopy"), Path.of("loopy"));
        write(tmp.resolve("afile"), "x");
        Files.createSymbolicLink(tmp.resolve("tofile"), Path.of("afile"));
        String[][] cases = {
                {"dangling/x", "dangling is a symbolic link to " + tmp.resolve("nonexistent") + ", which does not exist (or loops);"
                        + " make the link lead to a directory, or choose another target"},
                {"loopy/x/y", "loopy is a symbolic link to loopy, which does not exist (or loops)"},
                {"afile/x", "afile is not a directory; choose another target"},
                {"afile/x/y", "afile is not a directory; choose another target"},
                {"tofile/x", "tofile is a symbolic link to afile, which is not a directory; choose another target"}};
        for (String[] c : cases) {
            InvalidInputException ex = assertThrows(InvalidInputException.class,
                    () -> restorer(TargetDirectory.Mover.ATOMIC).restore(e, tmp.resolve(c[0]), List.of()), c[0]);
            assertTrue(ex.getMessage().contains(tmp + "/" + c[1]) && ex.getMessage().endsWith("; nothing was written")
                    && !ex.getMessage().contains("appeared"), ex.getMessage());
        }
        assertEquals("x", Files.readString(tmp.resolve("afile")));
    }

    /** A FIFO where the checkpoint has a file is refused as a directory is (helper-122: replaced without a word). */
    @Test
    void aFifoWhereTheCheckpointHasAFileIsRefused() throws Exception {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        Files.delete(t.resolve("m/b.bin"));
        assertEquals(0, new ProcessBuilder("mkfifo", t.resolve("m/b.bin").toString()).start().waitFor());
        List<Path> before; // names only: reading the FIFO would wait for a writer
        try (Stream<Path> w = Files.walk(t)) {
            before = w.sorted().toList();
        }
        InvalidInputException ex = assertThrows(InvalidInputException.class,
                () -> restorer(TargetDirectory.Mover.ATOMIC).restore(e, t, List.of()));
        assertTrue(ex.getMessage().contains(t.resolve("m/b.bin") + " is a FIFO (named pipe) where the checkpoint has the file"
                + " m/b.bin; move it away") && ex.getMessage().endsWith("nothing was written"), ex.getMessage());
        assertTrue(Files.readAttributes(t.resolve("m/b.bin"), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther());
        // and where the checkpoint needs a directory: a FIFO is not "a file" (helper-124)
        Files.delete(t.resolve("m/b.bin"));
        Files.move(t.resolve("m"), t.resolve("m-moved"));
        assertEquals(0, new ProcessBuilder("mkfifo", t.resolve("m").toString()).start().waitFor());
        InvalidInputException dir = assertThrows(InvalidInputException.class,
                () -> restorer(TargetDirectory.Mover.ATOMIC).restore(e, t, List.of()));
        assertTrue(dir.getMessage().contains(t.resolve("m") + " is a FIFO (named pipe) where the checkpoint needs a directory"),
                dir.getMessage());
        Files.delete(t.resolve("m"));
        Files.move(t.resolve("m-moved"), t.resolve("m"));
        assertEquals(0, new ProcessBuilder("mkfifo", t.resolve("m/b.bin").toString()).start().waitFor());
        try (Stream<Path> w = Files.walk(t)) {
            assertEquals(before, w.sorted().toList());
        }
    }

    @Test
    void aFailedRestoreIntoANewDirectoryLeavesNoDirectoryBehind() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = tmp.resolve("new/deeper/target");
        TargetDirectory.Mover failing = (from, to) -> {
            if (to.getFileName().toString().equals("last.bin")) {
                throw new java.nio.file.FileSystemException(to.toString(), null, "No space left on device");
            }
            TargetDirectory.Mover.ATOMIC.move(from, to);
        };
        CkptException ex = assertThrows(CkptException.class, () -> restorer(failing).restore(e, t, List.of()));
        assertTrue(ex.getMessage().contains("z/last.bin") && ex.getMessage().contains("No space left on device"),
                ex.getMessage());
        assertFalse(Files.exists(tmp.resolve("new")), "the directories the restore created are gone");
    }

    /**
     * A file another restore puts at a destination while this one publishes (here: into a
     * directory this restore created, after this one renamed its first file there) is kept
     * aside and put back when a later rename fails, and replaced without a hidden copy when
     * none does. A list of each directory's names taken once, instead of a lookup per file,
     * lost it (helper-66).
     */
    @Test
    void aFileAnotherRestorePutsIntoPlaceDuringThePublishIsKeptWhenThePublishFails() throws IOException {
        Path src = tmp.resolve("src3");
        write(src.resolve("d/a0.bin"), "new a0");
        write(src.resolve("d/zzz.bin"), "new zzz");
        write(src.resolve("z/last.bin"), "new last");
        CheckpointEntry e = store.resolve(store.save(store.claimWriter("r3"), SaveRequest.of(src, "r3", 1)).checkpointId());
        Path t = tmp.resolve("fresh");
        Path planted = t.resolve("d/zzz.bin");
        for (boolean fail : new boolean[] {true, false}) {
            AtomicInteger calls = new AtomicInteger();
            TargetDirectory.Mover planting = (from, to) -> {
                if (fail && to.getFileName().toString().equals("last.bin")) {
                    throw new java.nio.file.FileSystemException(to.toString(), null, "Input/output error");
                }
                TargetDirectory.Mover.ATOMIC.move(from, to);
                if (calls.incrementAndGet() == 1) {
                    Files.writeString(planted, "another restore's zzz"); // right after d/a0.bin is in place
                }
            };
            if (fail) {
                InvalidInputException ex = assertThrows(InvalidInputException.class,
                        () -> restorer(planting).restore(e, t, List.of()));
                assertEquals("another restore's zzz", Files.readString(planted), "put back: " + ex.getMessage());
                assertFalse(Files.exists(t.resolve("d/a0.bin")), "d/a0.bin was taken back");
                Files.delete(planted);
            } else {
                restorer(planting).restore(e, t, List.of());
                assertEquals("new zzz", Files.readString(planted));
                assertEquals("new last", Files.readString(t.resolve("z/last.bin")));
                Map<String, String> after = tree(t);
                assertFalse(after.keySet().stream().anyMatch(p -> p.contains(".ckpt-")), after.keySet().toString());
            }
        }
    }

    /** The publish's undo removes only files that are still the ones it renamed into place (their inode). */
    @Test
    void aRenamedFileThatAnotherProcessReplacedIsLeftWhenThePublishFails() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        TargetDirectory.Mover replacing = (from, to) -> {
            if (to.getFileName().toString().equals("last.bin")) {
                throw new java.nio.file.FileSystemException(to.toString(), null, "Input/output error");
            }
            TargetDirectory.Mover.ATOMIC.move(from, to);
            if (to.getFileName().toString().equals("a.bin")) {
                Path other = to.resolveSibling("other-process.tmp");
                Files.writeString(other, "another process's a");
                Files.move(other, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        };
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> restorer(replacing).restore(e, t, List.of()));
        assertTrue(ex.getMessage().contains(t.resolve("a.bin") + " (replaced by another process during this restore"),
                ex.getMessage());
        assertEquals("another process's a", Files.readString(t.resolve("a.bin")));
        assertEquals("old b", Files.readString(t.resolve("m/b.bin")), "the others are taken back");
    }

    @Test
    void aSuccessfulRestoreOverOldFilesLeavesNoHiddenCopies() throws IOException {
        CheckpointEntry e = fourFiles();
        Path t = targetWithOldFiles();
        store.restore(e, t, List.of());
        Map<String, String> after = tree(t);
        assertFalse(after.keySet().stream().anyMatch(p -> p.contains(".ckpt-")), after.keySet().toString());
        assertEquals("new a", Files.readString(t.resolve("a.bin")));
    }

    private Restorer restorer(TargetDirectory.Mover mover) {
        ExecutorService ex = Executors.newFixedThreadPool(2);
        closeAfter.add(ex);
        return new Restorer(objects, new ManifestLoader(objects), Stores.config(clock), ex, ex, mover,
                FilesystemSync.SYNCFS);
    }

    private final List<ExecutorService> closeAfter = new java.util.ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void stopExecutors() {
        closeAfter.forEach(ExecutorService::shutdownNow);
    }

    /**
     * Ranks restoring at once into siblings below a directory that does not exist yet (one
     * job's /scratch/job/rank-N) race to create it; each must use it rather than fail.
     */
    @Test
    void restoresIntoSiblingsOfAMissingParentRaceForItAndAllSucceed() throws Exception {
        CheckpointEntry e = fourFiles();
        int ranks = 4;
        for (int round = 0; round < 40; round++) {
            Path parent = tmp.resolve("job-" + round).resolve("restore");
            List<java.util.concurrent.Callable<RestoreResult>> restores = new java.util.ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                Path t = parent.resolve("rank-" + r);
                restores.add(() -> store.restore(e, t, List.of()));
            }
            AtOnce.run(restores);
            for (int r = 0; r < ranks; r++) {
                assertEquals("new c", Files.readString(parent.resolve("rank-" + r).resolve("m/n/c.bin")));
            }
        }
    }

    /**
     * Two restores of one checkpoint into one directory at once (every rank running the
     * same restore without --rank): each replaces the files, neither takes back the
     * other's, and the directory ends with the checkpoint's files.
     */
    @Test
    void twoRestoresOfTheSameFilesIntoOneDirectoryAtOnceBothSucceed() throws Exception {
        CheckpointEntry e = fourFiles();
        for (int round = 0; round < 60; round++) {
            Path t = tmp.resolve("same-" + round);
            write(t.resolve("a.bin"), "old a");
            write(t.resolve("m/b.bin"), "old b");
            AtOnce.run(2, () -> store.restore(e, t, List.of()));
            Map<String, String> files = new TreeMap<>();
            tree(t).forEach((k, v) -> files.put(k, v.equals("dir") ? v : v.substring(v.indexOf(' ') + 1)));
            assertEquals(Map.of("", "dir", "a.bin", "new a", "m", "dir", "m/b.bin", "new b", "m/n", "dir",
                    "m/n/c.bin", "new c", "z", "dir", "z/last.bin", "new last"), files, "round " + round);
        }
    }
}

package dev.ckpt.store;

import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.SourceDir;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.objectstore.ForwardingObjectStore;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.PutResult;
import dev.ckpt.store.testing.FakeClock;
import dev.ckpt.store.testing.Stores;
import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.text.Normalizer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A save stores every entry of its directory byte for byte under its exact name, or
 * refuses naming it; nothing is dropped silently, and a file that changes while it is
 * read is never committed torn.
 */
class SaveSourceTest {
    @TempDir
    Path tmp;
    FakeClock clock = new FakeClock();
    ObjectStore objects;
    CheckpointStore store;
    WriterToken writer;

    @BeforeEach
    void setUp() {
        objects = ObjectStores.local(tmp.resolve("store"));
        store = Stores.open(objects, clock);
        writer = store.claimWriter("r");
    }

    /**
     * A file whose path is longer than Linux takes (4096 bytes): named, with what to do
     * (helper-122: the reason alone, "File name too long"). Made as two halves, each short
     * enough, the lower one then moved under the upper.
     */
    @Test
    void aPathLongerThanTheSystemTakesIsNamedWithWhatToDo() throws Exception {
        try (TestDirs.LongPath deep = TestDirs.longPath(tmp, lower -> Files.writeString(lower.resolve("file.bin"), "data"))) {
            assertTrue(deep.deepest().toString().length() > 4096, "the file's path is over 4096 bytes");
            refused(deep.top(), "File name too long", "a path is limited to 4096 bytes", "use shorter names");
        }
    }

    private InvalidInputException refused(Path src, String... fragments) {
        byte[] root = objects.get("ROOT").data();
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> store.save(writer, SaveRequest.of(src, "r", 1)));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should name '" + f + "': " + e.getMessage());
        }
        assertArrayEquals(root, objects.get("ROOT").data(), "nothing may be committed");
        return e;
    }

    // ---- links, FIFOs, sockets

    @Test
    void everySymbolicLinkBelowTheSourceIsRefusedNamingItWhereverItPoints() throws Exception {
        Path outsideFile = Files.writeString(tmp.resolve("outside.bin"), "outside");
        Path outsideDir = TestDirs.checkpoint(tmp.resolve("outside-dir"), 9, 2, 1000);
        Map<String, Consumer<Path>> kinds = new LinkedHashMap<>();
        kinds.put("file inside, relative", src -> link(src.resolve("alias.bin"), Path.of("file1.bin")));
        kinds.put("file inside, absolute", src -> link(src.resolve("alias.bin"), src.resolve("file1.bin").toAbsolutePath()));
        kinds.put("dir inside, relative", src -> link(src.resolve("sub2"), Path.of("sub")));
        kinds.put("dir inside, absolute", src -> link(src.resolve("sub2"), src.resolve("sub").toAbsolutePath()));
        kinds.put("file outside", src -> link(src.resolve("alias.bin"), outsideFile));
        kinds.put("file outside, relative", src -> link(src.resolve("alias.bin"), Path.of("../outside.bin")));
        kinds.put("dir outside", src -> link(src.resolve("other"), outsideDir));
        kinds.put("dangling", src -> link(src.resolve("alias.bin"), tmp.resolve("gone.bin")));
        kinds.put("loop to itself (a -> .)", src -> link(src.resolve("a"), Path.of(".")));
        kinds.put("loop in a subdirectory (sub/up -> ..)", src -> link(src.resolve("sub/up"), Path.of("..")));
        kinds.put("link to a link", src -> {
            link(src.resolve("first.bin"), Path.of("file1.bin"));
            link(src.resolve("second.bin"), Path.of("first.bin"));
        });
        int i = 0;
        for (Map.Entry<String, Consumer<Path>> k : kinds.entrySet()) {
            Path src = TestDirs.checkpoint(tmp.resolve("src" + i++), 1, 4, 1000);
            k.getValue().accept(src);
            InvalidInputException e = refused(src, src.toString(), "symbolic link", "regular files only");
            assertTrue(e.getMessage().contains("is a symbolic link"), k.getKey() + ": " + e.getMessage());
            // a link that leads nowhere has nothing to copy (helper-122: "cp -L" for a dangling link and a loop)
            if (k.getKey().equals("dangling")) {
                assertTrue(e.getMessage().contains("which does not exist or is a loop of links)")
                        && !e.getMessage().contains("cp -L"), e.getMessage());
            }
            // a copy (cp -L) only of a link to a file: of one to a directory, to its own tree, it loops (helper-142)
            assertEquals(k.getKey().startsWith("file") || k.getKey().equals("link to a link"),
                    e.getMessage().contains("cp -L"), k.getKey() + ": " + e.getMessage());
        }
        // a name with a line break or a tab is escaped in the refusal: a raw one split its line (helper-122)
        Path odd = TestDirs.checkpoint(tmp.resolve("odd"), 1, 4, 1000);
        link(odd.resolve("li\nnk\tx"), Path.of("file1.bin"));
        InvalidInputException oddName = refused(odd, "li\\u000Ank\\u0009x is a symbolic link");
        assertFalse(oddName.getMessage().contains("li\nnk") || oddName.getMessage().contains("\t"), oddName.getMessage());
        // a loop of two links: "does not exist" alone was untrue of either (helper-122)
        Path loops = TestDirs.checkpoint(tmp.resolve("loops"), 1, 4, 1000);
        link(loops.resolve("loop1"), Path.of("loop2"));
        link(loops.resolve("loop2"), Path.of("loop1"));
        InvalidInputException twoLinks = refused(loops, "loop1 is a symbolic link (to loop2, which does not exist or is a loop"
                + " of links)");
        assertFalse(twoLinks.getMessage().contains("cp -L"), twoLinks.getMessage());
    }

    @Test
    void onePushNamesEveryEntryItRefusesNotOnlyTheFirst() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("many"), 1, 4, 1000);
        Files.createDirectories(src.resolve("deep/er"));
        link(src.resolve("a.bin"), Path.of("file1.bin"));
        link(src.resolve("deep/er/b.bin"), tmp.resolve("gone.bin"));
        Files.writeString(src.resolve("deep/c\\d.bin"), "backslash");
        InvalidInputException e = refused(src, "3 entries below " + src + " cannot be saved", "nothing was saved",
                src.resolve("a.bin") + " is a symbolic link", src.resolve("deep/er/b.bin") + " is a symbolic link",
                "c\\d.bin", "backslash");
        assertFalse(e.getMessage().contains("are listed"), e.getMessage());
        assertEquals(1, e.getMessage().split("nothing was saved", -1).length - 1, "said once: " + e.getMessage());
        List<String> lines = e.getMessage().lines().skip(1).toList();
        assertEquals(3, lines.size(), e.getMessage());
        assertTrue(lines.get(0).contains("a.bin") && lines.get(1).contains("c\\d.bin") && lines.get(2).contains("b.bin"),
                "by name, depth first: " + e.getMessage());

        Path lots = TestDirs.checkpoint(tmp.resolve("lots"), 1, 2, 1000);
        for (int i = 0; i < 25; i++) {
            link(lots.resolve("link-" + i), Path.of("file1.bin"));
        }
        InvalidInputException all = refused(lots, "25 entries below " + lots + " cannot be saved",
                "(the first 20 are listed)");
        assertEquals(20, all.getMessage().split("is a symbolic link", -1).length - 1, all.getMessage());

        // a line break in a name (here a link's target) stays within its item as the CLI says it: the list's own
        // line breaks are the only ones (the raw message has a fourth line, the target's second half)
        Path odd = TestDirs.checkpoint(tmp.resolve("odd-list"), 1, 2, 1000);
        link(odd.resolve("a.bin"), Path.of("gone\nfake line"));
        link(odd.resolve("b.bin"), Path.of("file1.bin"));
        InvalidInputException listed = refused(odd, "2 entries below " + odd + " cannot be saved");
        assertEquals(2, listed.listed().size(), listed.getMessage());
        assertEquals(4, listed.getMessage().lines().count(), listed.getMessage());
        String said = dev.ckpt.store.util.Printable.message(listed);
        List<String> saidLines = said.lines().toList();
        assertEquals(3, saidLines.size(), said);
        assertTrue(saidLines.get(1).startsWith("  ") && saidLines.get(1).contains("gone\\u000Afake line"), said);
        assertTrue(saidLines.get(2).startsWith("  ") && saidLines.get(2).contains("b.bin is a symbolic link"), said);
    }

    @Test
    void theSourceDirectoryItselfMayBeASymbolicLink() throws Exception {
        Path real = TestDirs.checkpoint(tmp.resolve("step-7"), 7, 4, 3000);
        Path latest = Files.createSymbolicLink(tmp.resolve("latest"), Path.of("step-7"));
        SaveResult r = store.save(writer, SaveRequest.of(latest, "r", 7));
        assertEquals(5, r.files());
        store.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(real), tmp.resolve("out"));
        // a dangling one is named as such (it was "is not a directory", which sends the user to the wrong problem)
        Path dangling = Files.createSymbolicLink(tmp.resolve("latest-gone"), Path.of("step-8"));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> store.save(writer, SaveRequest.of(dangling, "r", 8)));
        assertTrue(e.getMessage().contains("source " + dangling + " is a symbolic link to step-8, which does not exist"),
                e.getMessage());
        // one to a file says where it points too
        Path file;
        try (var files = Files.list(real)) {
            file = files.filter(Files::isRegularFile).findFirst().orElseThrow();
        }
        Path toFile = Files.createSymbolicLink(tmp.resolve("latest-file"), file);
        InvalidInputException f = assertThrows(InvalidInputException.class,
                () -> store.save(writer, SaveRequest.of(toFile, "r", 9)));
        assertTrue(f.getMessage().contains("source " + toFile + " is a symbolic link to " + Files.readSymbolicLink(toFile)
                + ", which is not a directory; give the directory the checkpoint is in"), f.getMessage());
        // one that does not exist says what to do, and where a relative path was taken from (helper-141)
        Path none = tmp.resolve("step-404");
        InvalidInputException n = assertThrows(InvalidInputException.class,
                () -> store.save(writer, SaveRequest.of(none, "r", 10)));
        assertEquals("source directory " + none + " does not exist; give the directory the checkpoint is in; nothing was"
                + " saved", n.getMessage());
        InvalidInputException rel = assertThrows(InvalidInputException.class,
                () -> store.save(writer, SaveRequest.of(Path.of("no-such-step-dir"), "r", 11)));
        assertTrue(rel.getMessage().startsWith("source directory no-such-step-dir does not exist (relative to "
                + Path.of("").toAbsolutePath() + "); give the directory"), rel.getMessage());
    }

    @Test
    void fifoAndSocketAreRefusedNamingThem() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("fifo"), 2, 2, 1000);
        Path fifo = src.resolve("sub/pipe");
        Files.createDirectories(fifo.getParent());
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, p.waitFor());
        InvalidInputException e = refused(src, fifo.toString(), "FIFO", "remove it");
        assertFalse(e.getMessage().contains("cp -L"), "a copy of a pipe means nothing: " + e.getMessage());

        Path src2 = TestDirs.checkpoint(tmp.resolve("sock"), 2, 2, 1000);
        Path sock = src2.resolve("control.sock");
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(sock));
            assertFalse(refused(src2, sock.toString(), "socket", "remove it").getMessage().contains("cp -L"));
        }
    }

    // ---- names

    @Test
    void namesAreStoredExactlyAndRestoredByteForByte() throws Exception {
        assumeTrue("UTF-8".equals(System.getProperty("sun.jnu.encoding")), "needs a JVM started under a UTF-8 locale");
        String nfc = Normalizer.normalize("café", Normalizer.Form.NFC);
        String nfd = Normalizer.normalize("café", Normalizer.Form.NFD);
        assertNotEquals(nfc, nfd);
        List<String> names = new ArrayList<>(List.of("日本語/模型.safetensors", "emoji-🚀.bin", "ä-combining-a\u0308.txt",
                nfc + ".json", nfd + ".json", "with space/and  two.bin", "-leading-dash", "tab\there", "new\nline.txt",
                "quote'\"s.bin", "\uFFFD-literal-replacement-char.bin"));
        Path src = tmp.resolve("names");
        Map<String, byte[]> written = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            Path f = src.resolve(names.get(i));
            Files.createDirectories(f.getParent());
            byte[] data = ("file " + i + " " + names.get(i)).getBytes(StandardCharsets.UTF_8);
            Files.write(f, data);
            written.put(names.get(i), data);
        }
        SaveResult r = store.save(writer, SaveRequest.of(src, "r", 1));
        assertEquals(names.size(), r.files());
        List<String> stored = store.manifest(store.resolve(r.checkpointId())).files().stream().map(FileEntry::path).toList();
        assertEquals(names.stream().sorted().toList(), stored, "every name stored as given, NFC and NFD kept apart");

        Path out = tmp.resolve("out");
        store.restore(r.checkpointId(), out);
        for (Map.Entry<String, byte[]> e : written.entrySet()) {
            assertArrayEquals(e.getValue(), Files.readAllBytes(out.resolve(e.getKey())), e.getKey());
        }
        TestDirs.assertSameTree(TestDirs.snapshot(src), out);
    }

    @Test
    void aNameThatIsNotValidUtf8IsRefusedNamingIt() throws Exception {
        assumeTrue("UTF-8".equals(System.getProperty("sun.jnu.encoding")), "needs a JVM started under a UTF-8 locale");
        Path src = TestDirs.checkpoint(tmp.resolve("latin1"), 3, 2, 1000);
        // "café.bin" in ISO-8859-1: the byte 0xE9 alone is not UTF-8; Java cannot even spell this name
        Process p = new ProcessBuilder("sh", "-c", "printf x > \"$1/caf$(printf '\\351').bin\"", "sh", src.toString()).start();
        assertEquals(0, p.waitFor());
        try (var s = Files.list(src)) {
            assertTrue(s.anyMatch(f -> f.getFileName().toString().equals("caf\uFFFD.bin")), "the test file exists");
        }
        refused(src, src.resolve("caf?.bin").toString(), "not valid UTF-8", "rename it");
    }

    @Test
    void aBackslashInANameIsRefusedNamingTheFile() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("bs"), 4, 2, 1000);
        Path f = Files.writeString(src.resolve("sub/a\\b.bin"), "x");
        refused(src, f.toString(), "backslash", "rename the file");
    }

    // ---- empty directories

    @Test
    void emptyDirectoriesAreNamedInTheResult() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("empty"), 5, 2, 1000);
        Files.createDirectories(src.resolve("logs"));
        Files.createDirectories(src.resolve("a/b/c"));
        Files.createDirectories(src.resolve("sub/inner"));
        SaveResult r = store.save(writer, SaveRequest.of(src, "r", 1));
        assertEquals(List.of("a/b/c/", "logs/", "sub/inner/"), r.emptyDirectories());
        assertEquals(3, r.files());

        SaveResult none = store.save(writer, SaveRequest.of(TestDirs.checkpoint(tmp.resolve("full"), 5, 2, 1000), "r", 2));
        assertEquals(List.of(), none.emptyDirectories());
    }

    // ---- files that change while they are read

    /** Rewrites a source file in place when the first chunk is uploaded, i.e. after the reader read it and before it reads the next. */
    private final class RewritingStore extends ForwardingObjectStore {
        private final Path file;
        private final boolean putBackMtime;
        private final AtomicBoolean done = new AtomicBoolean();

        RewritingStore(ObjectStore delegate, Path file, boolean putBackMtime) {
            super(delegate);
            this.file = file;
            this.putBackMtime = putBackMtime;
        }

        @Override
        public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
            if (key.startsWith("chunks/") && done.compareAndSet(false, true)) {
                try {
                    FileTime mtime = Files.getLastModifiedTime(file);
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                        // same size: three 4 KiB blocks further on, like a writer updating in place
                        for (long at : new long[]{40_960, 45_056, 49_152}) {
                            ch.write(ByteBuffer.wrap(new byte[4096]), at);
                        }
                    }
                    if (putBackMtime) {
                        Files.setLastModifiedTime(file, mtime); // as cp -p, rsync -t or touch -r would
                    }
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }
            return super.putIfAbsent(key, data, offset, length);
        }
    }

    /** {@code dir}/model.bin: 64 KiB of seeded random bytes, last modified an hour ago (an old, finished file). */
    private static Path finishedFile(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        Path f = dir.resolve("model.bin");
        byte[] bytes = new byte[64 * 1024];
        new Random(seed).nextBytes(bytes);
        Files.write(f, bytes);
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(3600)));
        return f;
    }

    private void fileRewrittenWhileReadIsRefused(boolean putBackMtime) throws Exception {
        Path src = tmp.resolve("torn");
        Path f = finishedFile(src, 1);
        byte[] before = Files.readAllBytes(f);
        RewritingStore rewriting = new RewritingStore(objects, f, putBackMtime);
        // one chunk in flight: the reader reads the next 16 KiB only after the first upload, which rewrites the file
        StoreConfig config = Stores.config(clock).withMaxChunksInFlight(1).withParallelism(1);
        try (CheckpointStore s = CheckpointStore.open(rewriting, config)) {
            WriterToken w = s.claimWriter("torn");
            byte[] root = objects.get("ROOT").data();
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> s.save(w, SaveRequest.of(src, "torn", 1)));
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("changed while it was being saved"),
                    e.getMessage());
            assertTrue(e.getMessage().contains(putBackMtime ? "change time" : "modification time"), e.getMessage());
            assertArrayEquals(root, objects.get("ROOT").data(), "nothing may be committed");
            assertTrue(rewriting.done.get());
            assertFalse(Arrays.equals(before, Files.readAllBytes(f)), "the file really was rewritten");
            // once nothing writes it any more, the same file saves
            assertEquals(1, s.save(w, SaveRequest.of(src, "torn", 2)).files());
        }
    }

    @Test
    void aFileRewrittenInPlaceWhileItIsReadIsRefusedNotCommittedTorn() throws Exception {
        fileRewrittenWhileReadIsRefused(false);
    }

    @Test
    void aFileRewrittenInPlaceIsRefusedEvenIfItsModificationTimeIsPutBack() throws Exception {
        fileRewrittenWhileReadIsRefused(true);
    }

    /**
     * A file replaced by a FIFO after the scan and before it is opened: refused as replaced,
     * never opened (opening a FIFO waits for a writer; a break helper's push hung 10 minutes).
     */
    @Test
    void aFileReplacedByAFifoBeforeItIsOpenedIsRefusedWithoutWaiting() throws Exception {
        Path src = tmp.resolve("fifo");
        Path first = finishedFile(src, 3);
        Path fifo = src.resolve("second.bin"); // model.bin sorts first and is read first
        Files.copy(first, fifo);
        AtomicBoolean replaced = new AtomicBoolean();
        ObjectStore replacing = onFirstChunk(replaced, () -> {
            Files.delete(fifo);
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        });
        StoreConfig config = Stores.config(clock).withMaxChunksInFlight(1).withParallelism(1);
        try (CheckpointStore s = CheckpointStore.open(replacing, config)) {
            WriterToken w = s.claimWriter("fifo");
            byte[] root = objects.get("ROOT").data();
            InvalidInputException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                    java.time.Duration.ofSeconds(60),
                    () -> assertThrows(InvalidInputException.class, () -> s.save(w, SaveRequest.of(src, "fifo", 1))),
                    "the save waited on the FIFO");
            assertTrue(replaced.get());
            assertTrue(e.getMessage().contains("file " + fifo + " changed while it was being saved (it was replaced by"
                    + " a FIFO (named pipe)); nothing was committed"), e.getMessage());
            assertArrayEquals(root, objects.get("ROOT").data(), "nothing may be committed");
        } finally {
            if (Files.exists(fifo) && !Files.isRegularFile(fifo)) {
                // a save that did open it (without the check) waits for a writer: be one (read-write: never blocks)
                try (var out = new java.io.RandomAccessFile(fifo.toFile(), "rw")) {
                    out.write(0);
                }
            }
        }
    }

    /** Something done to the source once, when the save stores its first chunk (marks {@code done}). */
    private interface SourceChange {
        void run() throws Exception;
    }

    private ObjectStore onFirstChunk(AtomicBoolean done, SourceChange change) {
        return new ForwardingObjectStore(objects) {
            @Override
            public PutResult putIfAbsent(String key, byte[] data, int offset, int length) {
                if (key.startsWith("chunks/") && done.compareAndSet(false, true)) {
                    try {
                        change.run();
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }
                return super.putIfAbsent(key, data, offset, length);
            }
        };
    }

    /** A file cut short between two reads: the error names it, says nothing was committed and what to do. */
    @Test
    void aFileCutShortWhileItIsReadIsRefusedByNameAndNothingIsCommitted() throws Exception {
        Path src = tmp.resolve("cut");
        Path f = finishedFile(src, 2);
        AtomicBoolean cut = new AtomicBoolean();
        ObjectStore cutting = onFirstChunk(cut, () -> {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.truncate(20_000); // inside the second 16 KiB chunk, before the reader gets to it
            }
        });
        StoreConfig config = Stores.config(clock).withMaxChunksInFlight(1).withParallelism(1);
        try (CheckpointStore s = CheckpointStore.open(cutting, config)) {
            WriterToken w = s.claimWriter("cut");
            byte[] root = objects.get("ROOT").data();
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> s.save(w, SaveRequest.of(src, "cut", 1)));
            assertTrue(cut.get());
            assertTrue(e.getMessage().contains("file " + f + " became shorter while it was being saved"), e.getMessage());
            assertTrue(e.getMessage().contains("nothing was committed: save again once whatever writes it has finished"),
                    e.getMessage());
            assertArrayEquals(root, objects.get("ROOT").data(), "nothing may be committed");
        }
    }

    @Test
    void aFileWrittenJustBeforeTheSaveIsSaved() throws Exception {
        // the trainer stages files and saves them at once: their timestamps are fresh, not a change during the read
        Path src = TestDirs.checkpoint(tmp.resolve("fresh"), 6, 3, 40_000);
        SaveResult r = store.save(writer, SaveRequest.of(src, "r", 1));
        store.restore(r.checkpointId(), tmp.resolve("out"));
        TestDirs.assertSameTree(TestDirs.snapshot(src), tmp.resolve("out"));
    }

    // ---- a scan made before the save (ckpt-tool push scans before it claims the run, and hands the scan on)

    @Test
    void aSaveGivenAScanSavesWhatTheScanFoundWithoutWalkingTheSourceAgain() throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("scanned"), 7, 3, 40_000);
        Map<String, byte[]> scannedTree = TestDirs.snapshot(src);
        SourceDir scan = CheckpointStore.scanSource(src);
        assertEquals(scannedTree.size(), scan.fileCount());
        Files.writeString(src.resolve("later.bin"), "added after the scan"); // a walk at the save would find it

        SaveResult r = store.save(writer, SaveRequest.of(src, "r", 1).withScan(scan));
        assertEquals(scannedTree.size(), r.files(), "the files of the scan, not of a second walk");
        Path out = tmp.resolve("scanned-out");
        store.restore(r.checkpointId(), out);
        TestDirs.assertSameTree(scannedTree, out);

        // without a scan, the save walks the source itself and finds the new file
        assertEquals(scannedTree.size() + 1, store.save(writer, SaveRequest.of(src, "r", 2)).files());
    }

    @Test
    void aFileChangedOrRemovedBetweenTheScanAndTheSaveIsRefusedNamingIt() throws Exception {
        Path src = tmp.resolve("stale");
        Path f = finishedFile(src, 4);
        Files.copy(f, src.resolve("second.bin"));
        SourceDir scan = CheckpointStore.scanSource(src);
        FileTime mtime = Files.getLastModifiedTime(f);
        byte[] other = Files.readAllBytes(f);
        other[100] ^= 1;
        Files.write(f, other); // same size; the modification time put back, as cp -p would
        Files.setLastModifiedTime(f, mtime);
        byte[] root = objects.get("ROOT").data();
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> store.save(writer, SaveRequest.of(src, "r", 1).withScan(scan)));
        assertTrue(e.getMessage().contains("file " + f + " changed while it was being saved (its change time moved")
                && e.getMessage().contains("nothing was committed"), e.getMessage());
        assertArrayEquals(root, objects.get("ROOT").data(), "nothing may be committed");

        SourceDir again = CheckpointStore.scanSource(src);
        Files.delete(src.resolve("second.bin"));
        e = assertThrows(InvalidInputException.class, () -> store.save(writer, SaveRequest.of(src, "r", 1).withScan(again)));
        assertTrue(e.getMessage().contains("file " + src.resolve("second.bin") + " disappeared while it was being saved"),
                e.getMessage());
        assertArrayEquals(root, objects.get("ROOT").data(), "nothing may be committed");
    }

    /**
     * A file whose attributes can no longer be read (here its directory was replaced by a
     * file after the scan: "Not a directory"; for a user, a directory above it that lost its
     * search permission: "permission denied") is refused with the system's reason in words,
     * the path once, and "nothing was committed" (helper-69 saw "cannot read the attributes
     * of P: P").
     */
    @Test
    void aFileWhoseAttributesCannotBeReadIsRefusedWithTheReasonInWords() throws Exception {
        Path src = tmp.resolve("gone-dir");
        Path f = finishedFile(src.resolve("d"), 1);
        finishedFile(src, 2);
        SourceDir scan = CheckpointStore.scanSource(src);
        Files.delete(f);
        Files.delete(src.resolve("d"));
        Files.writeString(src.resolve("d"), "now a file");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> store.save(writer, SaveRequest.of(src, "r", 1).withScan(scan)));
        assertTrue(e.getMessage().startsWith("cannot read the attributes of " + f + ": Not a directory; nothing was"
                + " committed"), e.getMessage());
        assertEquals(e.getMessage().indexOf(f.toString()), e.getMessage().lastIndexOf(f.toString()), e.getMessage());
    }

    @Test
    void aScanOfAnotherDirectoryIsNotTakenForTheSource() throws Exception {
        Path a = TestDirs.checkpoint(tmp.resolve("a"), 1, 1, 100);
        Path b = TestDirs.checkpoint(tmp.resolve("b"), 2, 1, 100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SaveRequest.of(a, "r", 1).withScan(CheckpointStore.scanSource(b)));
        assertTrue(e.getMessage().contains("the scan is of " + b + ", not of the source " + a), e.getMessage());
    }

    private static void link(Path link, Path target) {
        try {
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, target);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}

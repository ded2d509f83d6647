package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.PreconditionFailedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The contract every {@link ObjectStore} passes, races included. Backends extend it and
 * answer the capability hooks honestly.
 */
public abstract class ObjectStoreContractTest {
    protected ObjectStore store;
    @TempDir
    protected Path tmp;

    /** A fresh, empty store. */
    protected abstract ObjectStore newStore() throws Exception;

    /** A URL another process can open to reach the same store, or null if none can. */
    protected String urlForOtherProcesses() {
        return null;
    }

    /** Environment variables another process needs to open {@link #urlForOtherProcesses()}. */
    protected java.util.Map<String, String> envForOtherProcesses() {
        return java.util.Map.of();
    }

    @BeforeEach
    void setUp() throws Exception {
        store = newStore();
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A create-only write of a whole array. */
    private PutResult create(String key, byte[] data) {
        return store.putIfAbsent(key, data, 0, data.length);
    }

    private List<String> keys(String prefix) {
        return store.list(prefix).stream().map(ObjectInfo::key).toList();
    }

    @Test
    void getOfMissingObjectThrowsNotFoundNamingTheKey() {
        NotFoundException e = assertThrows(NotFoundException.class, () -> store.get("manifests/nope.json"));
        assertTrue(e.getMessage().contains("manifests/nope.json"), e.getMessage());
        assertTrue(store.head("manifests/nope.json").isEmpty());
    }

    /** Whether this backend reads {@link ObjectStore#getInto} into the caller's buffer (the default reads into a new array). */
    protected boolean readsIntoBuffer() {
        return false;
    }

    /**
     * getInto gives the whole object when it fits in the buffer (in the buffer, for a backend
     * that reads into it), and nothing when it is longer; a missing object is not found. Answers
     * dropped unread leave the store working for the next reads.
     */
    @Test
    void getIntoReadsTheWholeObjectIntoTheBufferWhenItFits() {
        byte[] data = new byte[3000];
        new java.util.Random(7).nextBytes(data);
        store.put("chunks/ab/big", data);
        for (int size : new int[] {3000, 3001, 8192}) {
            byte[] buffer = new byte[size];
            java.util.Arrays.fill(buffer, (byte) 0x5a);
            StoredBytes got = store.getInto("chunks/ab/big", buffer).orElseThrow();
            assertEquals(3000, got.length(), "a buffer of " + size);
            assertArrayEquals(data, java.util.Arrays.copyOf(got.array(), got.length()), "a buffer of " + size);
            if (readsIntoBuffer()) {
                assertSame(buffer, got.array(), "a buffer of " + size + " holds the object");
            }
        }
        for (int size : new int[] {0, 10, 2999}) {
            assertTrue(store.getInto("chunks/ab/big", new byte[size]).isEmpty(), "a buffer of " + size);
        }
        assertArrayEquals(data, store.getInto("chunks/ab/big", new byte[3000]).orElseThrow().array());
        store.put("empty", new byte[0]);
        assertEquals(0, store.getInto("empty", new byte[16]).orElseThrow().length());
        assertEquals(0, store.getInto("empty", new byte[0]).orElseThrow().length());
        NotFoundException e = assertThrows(NotFoundException.class, () -> store.getInto("chunks/ab/nope", new byte[16]));
        assertTrue(e.getMessage().contains("chunks/ab/nope"), e.getMessage());
    }

    @Test
    void putThenGetReturnsBytesAndStableEtag() {
        String etag = store.put("a/b/c", b("hello"));
        StoredObject o = store.get("a/b/c");
        assertArrayEquals(b("hello"), o.data());
        assertEquals(etag, o.etag());
        assertEquals(etag, store.head("a/b/c").orElseThrow().etag());
        assertEquals(5, store.head("a/b/c").orElseThrow().size());
        String etag2 = store.put("a/b/c", b("hello, world"));
        assertNotEquals(etag, etag2);
        assertArrayEquals(b("hello, world"), store.get("a/b/c").data());
    }

    /** What writes left behind is never an object: removing leftovers, even with a cutoff in the future, keeps every object. */
    @Test
    void removingLeftoversNeverTouchesAnObject() {
        store.put("ROOT", b("root"));
        create("chunks/ab/x", b("chunk"));
        store.put("manifests/r-s1/part-00000.json", b("{}"));
        java.time.Instant future = java.time.Instant.now().plus(java.time.Duration.ofDays(1));
        assertEquals(Leftovers.NONE, store.removeLeftovers(future, true), "a store whose writes all finished");
        assertEquals(Leftovers.NONE, store.removeLeftovers(future, false));
        assertEquals(List.of("ROOT", "chunks/ab/x", "manifests/r-s1/part-00000.json"), keys(""));
        assertArrayEquals(b("chunk"), store.get("chunks/ab/x").data());
        assertArrayEquals(b("{}"), store.get("manifests/r-s1/part-00000.json").data());
    }

    @Test
    void emptyObjectsAreObjects() {
        store.put("empty", new byte[0]);
        assertEquals(0, store.get("empty").data().length);
        assertEquals(PutResult.ALREADY_EXISTS, create("empty", b("x")));
    }

    @Test
    void putIfAbsentCreatesOnceAndNeverOverwrites() {
        assertEquals(PutResult.CREATED, create("chunks/ab/x", b("first")));
        assertEquals(PutResult.ALREADY_EXISTS, create("chunks/ab/x", b("second")));
        assertArrayEquals(b("first"), store.get("chunks/ab/x").data());
    }

    @Test
    void putIfAbsentOfAPrefixStoresExactlyThePrefixAndLeavesTheArrayToTheCaller() {
        byte[] buffer = b("chunk-one|the rest of a reused buffer");
        assertEquals(PutResult.CREATED, store.putIfAbsent("chunks/cd/p", buffer, 0, 9));
        java.util.Arrays.fill(buffer, (byte) '#'); // the caller reuses its buffer once the call returns
        assertArrayEquals(b("chunk-one"), store.get("chunks/cd/p").data());
        assertEquals(9, store.head("chunks/cd/p").orElseThrow().size());
        assertEquals(PutResult.ALREADY_EXISTS, store.putIfAbsent("chunks/cd/p", b("chunk-two|x"), 0, 9));
        assertArrayEquals(b("chunk-one"), store.get("chunks/cd/p").data());
        assertEquals(PutResult.CREATED, store.putIfAbsent("chunks/cd/e", buffer, 0, 0));
        assertEquals(0, store.get("chunks/cd/e").data().length);
        assertThrows(IndexOutOfBoundsException.class, () -> store.putIfAbsent("chunks/cd/q", buffer, 0, buffer.length + 1));
        assertThrows(IndexOutOfBoundsException.class, () -> store.putIfAbsent("chunks/cd/q", buffer, 0, -1));
        assertTrue(store.head("chunks/cd/q").isEmpty());
    }

    @Test
    void putIfAbsentOfASliceFromAnOffsetStoresExactlyTheSlice() {
        byte[] buffer = b("head|slice-one|tail");
        assertEquals(PutResult.CREATED, store.putIfAbsent("chunks/ef/s", buffer, 5, 9));
        java.util.Arrays.fill(buffer, (byte) '#'); // the caller reuses its buffer once the call returns
        assertArrayEquals(b("slice-one"), store.get("chunks/ef/s").data());
        assertEquals(9, store.head("chunks/ef/s").orElseThrow().size());
        byte[] same = b("xx|other-one");
        assertEquals(PutResult.ALREADY_EXISTS, store.putIfAbsent("chunks/ef/s", same, 3, 9));
        assertEquals(PutResult.CREATED, store.putIfAbsent("chunks/ef/end", same, same.length, 0));
        assertEquals(0, store.get("chunks/ef/end").data().length);
        assertThrows(IndexOutOfBoundsException.class, () -> store.putIfAbsent("chunks/ef/q", same, 4, same.length - 3));
        assertThrows(IndexOutOfBoundsException.class, () -> store.putIfAbsent("chunks/ef/q", same, -1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> store.putIfAbsent("chunks/ef/q", same, same.length + 1, 0));
        assertTrue(store.head("chunks/ef/q").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> store.putIfAbsent("a//b", same, 0, 1), "an invalid key");
    }

    @Test
    void putIfMatchReplacesOnlyAtTheExpectedEtag() {
        String e1 = store.put("ROOT", b("v1"));
        String e2 = store.putIfMatch("ROOT", b("v2"), e1);
        assertArrayEquals(b("v2"), store.get("ROOT").data());
        PreconditionFailedException stale = assertThrows(PreconditionFailedException.class,
                () -> store.putIfMatch("ROOT", b("v3"), e1));
        assertTrue(stale.getMessage().contains("ROOT"), stale.getMessage());
        assertArrayEquals(b("v2"), store.get("ROOT").data());
        assertEquals(e2, store.get("ROOT").etag());
        assertThrows(PreconditionFailedException.class, () -> store.putIfMatch("missing", b("x"), e2));
        assertTrue(store.head("missing").isEmpty());
    }

    @Test
    void deleteIsIdempotent() {
        store.put("d", b("x"));
        store.delete("d");
        store.delete("d");
        assertTrue(store.head("d").isEmpty());
        assertThrows(NotFoundException.class, () -> store.get("d"));
    }

    @Test
    void listReturnsKeysUnderPrefixSortedWithSizes() {
        store.put("chunks/aa/1", b("1"));
        store.put("chunks/ab/22", b("22"));
        store.put("chunks/b/333", b("333"));
        store.put("manifests/m.json", b("{}"));
        store.put("ROOT", b("{}"));
        List<ObjectInfo> l = store.list("chunks/a").stream().toList();
        assertEquals(List.of("chunks/aa/1", "chunks/ab/22"), l.stream().map(ObjectInfo::key).toList());
        assertEquals(2, l.get(1).size());
        assertNotNull(l.get(0).lastModified());
        assertEquals(3, store.list("chunks/").stream().count());
        assertEquals(5, store.list("").stream().count());
        assertEquals(0, store.list("nothing/").stream().count());
    }

    @Test
    void listingOfMoreKeysThanOneS3PageIsCompleteAndSorted() throws Exception {
        // more than one ListObjectsV2 page (1000 keys), over several directories and with names
        // that sort before '/' ('-' is 0x2d), so a directory walk must order "d3-x" before "d3/..."
        java.util.TreeSet<String> expected = new java.util.TreeSet<>();
        for (int i = 0; i < 1203; i++) {
            expected.add("many/d" + (i % 7) + "/k" + i);
        }
        expected.add("many/d3-x");
        expected.add("many/d3.5");
        expected.add("many/d30/z");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<String>> puts = new ArrayList<>();
        for (String k : expected) {
            puts.add(pool.submit(() -> store.put(k, b(k))));
        }
        for (Future<String> f : puts) {
            f.get(300, TimeUnit.SECONDS);
        }
        pool.shutdown();
        store.put("manz", b("after the prefix"));
        store.put("man", b("before the prefix"));
        List<ObjectInfo> listed = store.list("many/").stream().toList();
        assertEquals(new ArrayList<>(expected), listed.stream().map(ObjectInfo::key).toList());
        assertEquals(("many/d0/k0").length(), listed.get(0).size());
        assertEquals(new ArrayList<>(expected.subSet("many/d3", true, "many/d4", false)), keys("many/d3"));
        assertEquals(List.of(), keys("many/d9"), "a prefix that matches nothing");
        assertEquals(List.of(), keys("many/d3/k1x"), "a prefix that matches nothing inside a directory");
        assertEquals(List.of(), keys("nothing-at-all/"));
        assertTrue(store.list("many/d8").isEmpty());
        assertTrue(!store.list("many/").isEmpty());
    }

    @Test
    void aListingIsLazyAndEachIterationListsAnew() {
        ObjectListing listing = store.list("lazy/");
        assertTrue(listing.isEmpty());
        store.put("lazy/b", b("b"));
        store.put("lazy/a", b("a"));
        assertEquals(List.of("lazy/a", "lazy/b"), listing.stream().map(ObjectInfo::key).toList(),
                "objects created after list() but before the iteration are listed");
        store.delete("lazy/b");
        assertEquals(List.of("lazy/a"), listing.stream().map(ObjectInfo::key).toList());
        java.util.Iterator<ObjectInfo> it = listing.iterator();
        assertEquals("lazy/a", it.next().key());
        assertTrue(!it.hasNext());
        assertThrows(java.util.NoSuchElementException.class, it::next);
    }

    @Test
    void invalidKeysAreRefused() {
        for (String bad : List.of("", "/abs", "a/../b", "a//b", "a/.hidden", "trailing/")) {
            assertThrows(IllegalArgumentException.class, () -> store.put(bad, b("x")), bad);
        }
    }

    @Test
    void eightThreadsPutIfAbsentOnOneKeyExactlyOneWins() throws Exception {
        for (int round = 0; round < 20; round++) {
            String key = "race/" + round;
            CyclicBarrier barrier = new CyclicBarrier(8);
            List<Callable<PutResult>> tasks = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                byte[] data = b("writer-" + t);
                tasks.add(() -> {
                    barrier.await();
                    return store.putIfAbsent(key, data, 0, data.length);
                });
            }
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<PutResult> results = new ArrayList<>();
            for (Future<PutResult> f : pool.invokeAll(tasks)) {
                results.add(f.get());
            }
            pool.shutdown();
            int winners = (int) results.stream().filter(r -> r == PutResult.CREATED).count();
            assertEquals(1, winners, "round " + round + ": " + results);
            assertTrue(new String(store.get(key).data(), StandardCharsets.UTF_8).startsWith("writer-"));
        }
    }

    @Test
    void eightThreadsCompareAndSwapOneWinnerPerRoundNoLostUpdate() throws Exception {
        store.put("counter", b("0"));
        int threads = 8;
        int rounds = 100;
        CyclicBarrier read = new CyclicBarrier(threads);
        CyclicBarrier write = new CyclicBarrier(threads);
        AtomicInteger[] winners = new AtomicInteger[rounds];
        for (int r = 0; r < rounds; r++) {
            winners[r] = new AtomicInteger();
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Void>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            futures.add(pool.submit(() -> {
                for (int r = 0; r < rounds; r++) {
                    read.await();
                    StoredObject cur = store.get("counter");
                    long v = Long.parseLong(new String(cur.data(), StandardCharsets.UTF_8).split(":")[0]);
                    write.await();
                    try {
                        // unique content per writer, as ROOT's is (its transaction id)
                        store.putIfMatch("counter", b((v + 1) + ":" + Thread.currentThread().getName()), cur.etag());
                        winners[r].incrementAndGet();
                    } catch (PreconditionFailedException e) {
                        // lost this round
                    }
                    read.await(); // everyone finished writing before the next read
                }
                return null;
            }));
        }
        for (Future<Void> f : futures) {
            f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        for (int r = 0; r < rounds; r++) {
            assertEquals(1, winners[r].get(), "winners in round " + r);
        }
        assertEquals(Integer.toString(rounds), new String(store.get("counter").data(), StandardCharsets.UTF_8).split(":")[0]);
    }

    @Test
    void twoProcessesPutIfAbsentOnOneKeyExactlyOneWins() throws Exception {
        String url = urlForOtherProcesses();
        assumeTrue(url != null, "this store is private to one process");
        for (int round = 0; round < 3; round++) {
            Path go = tmp.resolve("go-create-" + round);
            String key = "xproc/create-" + round;
            List<Process> ps = List.of(child(url, go, "create", key, "p1"), child(url, go, "create", key, "p2"));
            Thread.sleep(300);
            Files.createFile(go);
            List<String> outs = new ArrayList<>();
            for (Process p : ps) {
                outs.add(finish(p));
            }
            assertEquals(1, outs.stream().filter(o -> o.contains("CREATED")).count(), outs.toString());
            assertEquals(1, outs.stream().filter(o -> o.contains("ALREADY_EXISTS")).count(), outs.toString());
        }
    }

    @Test
    void twoProcessesIncrementingWithCompareAndSwapLoseNoUpdate() throws Exception {
        String url = urlForOtherProcesses();
        assumeTrue(url != null, "this store is private to one process");
        store.put("xproc/counter", b("0"));
        Path go = tmp.resolve("go-increment");
        List<Process> ps = List.of(child(url, go, "increment", "xproc/counter", "150"),
                child(url, go, "increment", "xproc/counter", "150"));
        Thread.sleep(300);
        Files.createFile(go);
        for (Process p : ps) {
            assertTrue(finish(p).contains("done"));
        }
        String text = new String(store.get("xproc/counter").data(), StandardCharsets.UTF_8);
        assertEquals("300", text.split(":")[0], "no lost update");
        List<String> applied = List.of(text.substring(text.indexOf(':') + 1).split(","));
        assertEquals(300, applied.size());
        assertEquals(300, new java.util.HashSet<>(applied).size(), "no increment applied twice");
    }

    private Process child(String url, Path go, String op, String key, String arg) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // C1 alone and one GC thread: a child makes a few hundred requests and exits, and two start at once on 2 cores
        ProcessBuilder pb = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), ContractChild.class.getName(),
                url, go.toString(), op, key, arg).redirectErrorStream(true);
        pb.environment().putAll(envForOtherProcesses());
        return pb.start();
    }

    private static String finish(Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}

package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.error.DeadlineExceededException;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.testing.StallingLink;
import dev.ckpt.store.testing.TestDirs;
import dev.ckpt.store.util.TransferListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stall watchdog against the in-process S3 server behind a link that stops carrying a
 * transfer in the middle of its body ({@link StallingLink}). Stall timeout 1 s; the request
 * timeout stays at its 2 min default, so only the stall timeout can notice a stall in time.
 * A transient stall is aborted and retried by the client and the save or restore succeeds; a
 * permanent one fails the save or restore by its caller's deadline, naming the stuck chunk,
 * with ROOT unchanged and the target directory as it was.
 */
class StallWatchdogTest {
    static final Duration STALL = Duration.ofSeconds(1);
    // 5 s: the stalled request must start more than STALL before the deadline, on a loaded machine too
    static final Duration DEADLINE = Duration.ofSeconds(5);
    /** Generous: the machine is shared; a failure comes at the deadline, not after 2 min of a stalled request. */
    static final Duration SLACK = Duration.ofSeconds(15);
    static final Predicate<String> CHUNK_PUT = l -> l.startsWith("PUT ") && l.contains("/chunks/");
    static final Predicate<String> CHUNK_GET = l -> l.startsWith("GET ") && l.contains("/chunks/");

    @TempDir
    Path tmp;
    LinkedS3Proxy s3;
    S3ProxyServer server;
    StallingLink link;

    @BeforeEach
    void start() throws Exception {
        s3 = new LinkedS3Proxy("stall");
        server = s3.server;
        link = s3.link;
    }

    @AfterEach
    void stop() throws Exception {
        s3.close();
    }

    /** A store through the stalling link. */
    CheckpointStore throughLink(S3Config.Client client, S3Config.Http http) {
        S3Config c = s3.throughLink(client, http).withStallTimeout(STALL);
        return CheckpointStore.open(S3ObjectStores.open(c), StoreConfig.defaults().withChunkSize(64 * 1024));
    }

    /** A store straight on the server, for looking at what the stalled one left. */
    CheckpointStore direct() {
        return CheckpointStore.open(S3ObjectStores.open(server.config("stall", "ckpt", S3Config.Client.AWS,
                S3Config.Http.APACHE)), StoreConfig.defaults().withChunkSize(64 * 1024));
    }

    static Instant in(Duration d) {
        return Instant.now().plus(d);
    }

    /** How often the link saw a request for this path: more than once means it was retried. */
    long requestsFor(String requestLine) {
        String path = StallingLink.path(requestLine);
        return link.requests().stream().filter(l -> StallingLink.path(l).equals(path)).count();
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void aTransientStallIsAbortedAndRetriedAndTheSaveAndRestoreSucceed(S3Config.Client client, S3Config.Http http)
            throws Exception {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 7, 4, 150_000);
        try (CheckpointStore store = throughLink(client, http)) {
            WriterToken w = store.claimWriter("r");
            link.stall(CHUNK_PUT, 2);
            long t0 = System.nanoTime();
            SaveResult s = store.save(w, SaveRequest.of(src, "r", 1).withDeadline(in(Duration.ofSeconds(60))));
            Duration saveTook = Duration.ofNanos(System.nanoTime() - t0);
            assertEquals(2, link.stalled().size(), link.stalled().toString());
            for (String line : link.stalled()) {
                assertTrue(requestsFor(line) >= 2, "the stalled upload was aborted and sent again: " + line);
            }
            assertTrue(saveTook.compareTo(Duration.ofSeconds(60)) < 0, "took " + saveTook);

            link.stall(CHUNK_GET, 2);
            Path out = tmp.resolve("out");
            t0 = System.nanoTime();
            store.restore(store.resolve(s.checkpointId()), out, List.of(), TransferListener.NONE, in(Duration.ofSeconds(60)));
            Duration restoreTook = Duration.ofNanos(System.nanoTime() - t0);
            assertEquals(4, link.stalled().size(), link.stalled().toString());
            for (String line : link.stalled().subList(2, 4)) {
                assertTrue(requestsFor(line) >= 2, "the stalled download was aborted and sent again: " + line);
            }
            TestDirs.assertSameTree(TestDirs.snapshot(src), out);
            System.out.printf("%s/%s: save with 2 stalls %d ms, restore with 2 stalls %d ms%n", client, http,
                    saveTook.toMillis(), restoreTook.toMillis());
        }
    }

    /**
     * A transfer that stops mid-body because the connection is closed (not hung) is retried as
     * well: the URL-connection client handed a short GET body over as whole, and restore took
     * it for a corrupt chunk (which restoreLatestGood treats as a damaged checkpoint).
     */
    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "AWS, URL_CONNECTION", "MINIO, APACHE"})
    void aTransferCutShortMidBodyIsRetriedNotTakenForACorruptChunk(S3Config.Client client, S3Config.Http http) {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 5, 4, 150_000);
        try (CheckpointStore store = throughLink(client, http)) {
            link.cut(CHUNK_PUT, 2);
            SaveResult s = store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1));
            link.cut(CHUNK_GET, 2);
            Path out = tmp.resolve("out");
            store.restore(s.checkpointId(), out);
            assertEquals(4, link.stalled().size(), link.stalled().toString());
            for (String line : link.stalled()) {
                assertTrue(requestsFor(line) >= 2, "the cut transfer was sent again: " + line);
            }
            TestDirs.assertSameTree(TestDirs.snapshot(src), out);
        }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "MINIO, APACHE"})
    void aPermanentStallFailsTheSaveByItsDeadlineNamingTheStuckChunkAndLeavesRootAsItWas(S3Config.Client client,
                                                                                          S3Config.Http http) {
        Path first = TestDirs.checkpoint(tmp.resolve("first"), 1, 3, 100_000);
        Path second = TestDirs.checkpoint(tmp.resolve("second"), 2, 3, 100_000);
        try (CheckpointStore store = throughLink(client, http); CheckpointStore direct = direct()) {
            WriterToken w = store.claimWriter("r");
            SaveResult s1 = store.save(w, SaveRequest.of(first, "r", 1));
            RootState before = direct.root();

            link.stall(CHUNK_PUT, Integer.MAX_VALUE);
            long t0 = System.nanoTime();
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class,
                    () -> store.save(w, SaveRequest.of(second, "r", 2).withDeadline(in(DEADLINE))));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            System.out.println(client + "/" + http + ": " + e.getMessage());
            assertTrue(took.compareTo(DEADLINE.plus(SLACK)) < 0, "failed after " + took);
            assertTrue(e.key().startsWith("chunks/"), e.key());
            assertTrue(link.stalled().stream().anyMatch(l -> StallingLink.path(l).endsWith("/" + e.key())),
                    e.key() + " is one the link stalled: " + link.stalled());
            assertTrue(e.getMessage().contains(e.key()) && e.getMessage().contains("nothing was committed"), e.getMessage());
            assertTrue(e.stuckFor().compareTo(STALL) > 0 && e.spent().compareTo(DEADLINE.minusMillis(500)) >= 0,
                    e.stuckFor() + " stuck, " + e.spent() + " spent");
            assertTrue(e.getMessage().contains(String.format(java.util.Locale.ROOT, "%.1f s", e.stuckFor().toMillis() / 1000.0)),
                    "the message says how long: " + e.getMessage());

            link.heal();
            RootState after = direct.root();
            assertEquals(before.version(), after.version(), "ROOT was not written");
            assertEquals(before.checkpoints().keySet(), after.checkpoints().keySet());
            Path out = tmp.resolve("out");
            direct.restore(s1.checkpointId(), out);
            TestDirs.assertSameTree(TestDirs.snapshot(first), out);
        }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({"AWS, APACHE", "MINIO, APACHE"})
    void aPermanentStallFailsTheRestoreByItsDeadlineLeavingTheTargetAsItWas(S3Config.Client client, S3Config.Http http)
            throws IOException {
        Path src = TestDirs.checkpoint(tmp.resolve("src"), 3, 4, 150_000);
        Path target = Files.createDirectories(tmp.resolve("target"));
        Files.writeString(target.resolve("notes.txt"), "mine");
        Map<String, byte[]> targetBefore = TestDirs.snapshot(target);
        try (CheckpointStore store = throughLink(client, http)) {
            SaveResult s = store.save(store.claimWriter("r"), SaveRequest.of(src, "r", 1));

            link.stall(CHUNK_GET, Integer.MAX_VALUE);
            long t0 = System.nanoTime();
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class, () -> store.restore(
                    store.resolve(s.checkpointId()), target, List.of(), TransferListener.NONE, in(DEADLINE)));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            System.out.println(client + "/" + http + ": " + e.getMessage());
            assertTrue(took.compareTo(DEADLINE.plus(SLACK)) < 0, "failed after " + took);
            assertTrue(e.key().startsWith("chunks/"), e.key());
            assertTrue(link.stalled().stream().anyMatch(l -> StallingLink.path(l).endsWith("/" + e.key())),
                    e.key() + " is one the link stalled: " + link.stalled());
            assertTrue(e.getMessage().contains(e.key()) && e.getMessage().contains(target.toString()), e.getMessage());
            assertTrue(e.stuckFor().compareTo(STALL) > 0, e.stuckFor().toString());

            TestDirs.assertSameTree(targetBefore, target);
            try (Stream<Path> all = Files.walk(target)) {
                assertEquals(List.of(target, target.resolve("notes.txt")), all.sorted().toList(),
                        "no temporary, no directory left behind");
            }
            assertFalse(link.stalled().isEmpty());
        }
    }
}

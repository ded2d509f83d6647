package dev.ckpt.store;

import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.Chunker;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** StoreConfig's builder: the documented defaults, and one check of every value with a message naming it. */
class StoreConfigTest {

    @Test
    void theBuilderStartsFromTheDocumentedDefaults() {
        StoreConfig d = StoreConfig.builder().build();
        assertEquals(StoreConfig.defaults(), d);
        assertEquals(Chunker.DEFAULT_CHUNK_SIZE, d.chunkSize());
        assertEquals(ChunkCodec.DEFAULT_LEVEL, d.compressionLevel());
        assertTrue(d.parallelism() >= 2);
        assertTrue(d.maxChunksInFlight() >= 4);
        assertEquals(16, d.ioConcurrency());
        // 16 requests + 2 CPU threads of 8 MiB chunks fit a 1 GiB heap; a 256 MiB heap holds 8, a tiny one 4
        assertEquals(18, StoreConfig.defaultChunksInFlight(8 << 20, 2, 16, 1L << 30));
        assertEquals(8, StoreConfig.defaultChunksInFlight(8 << 20, 2, 16, 256L << 20));
        assertEquals(4, StoreConfig.defaultChunksInFlight(8 << 20, 2, 16, 16L << 20));
        assertEquals(Duration.ofHours(1), d.gcGrace());
        assertEquals(Duration.ofMinutes(10), d.gcLease());
        assertEquals(Duration.ofMinutes(15), d.commitWait());
        assertEquals(500, d.gcDeleteBatch());
    }

    @Test
    void toBuilderChangesOnlyWhatItIsTold() {
        StoreConfig a = StoreConfig.builder().chunkSize(16 * 1024).gcGrace(Duration.ZERO).parallelism(3).build();
        StoreConfig b = a.toBuilder().gcDeleteBatch(7).build();
        assertEquals(16 * 1024, b.chunkSize());
        assertEquals(Duration.ZERO, b.gcGrace());
        assertEquals(3, b.parallelism());
        assertEquals(7, b.gcDeleteBatch());
        assertEquals(a.withGcDeleteBatch(7), b, "with... and the builder agree");
    }

    @Test
    void everyValueOutOfRangeIsRefusedNamingTheSetting() {
        assertMessage("chunk size must be at least 1 KiB, got 100", () -> StoreConfig.builder().chunkSize(100).build());
        assertMessage("parallelism must be at least 1, got 0", () -> StoreConfig.builder().parallelism(0).build());
        assertMessage("ioConcurrency must be at least 1, got 0", () -> StoreConfig.builder().ioConcurrency(0).build());
        assertMessage("maxChunksInFlight must be at least 1, got -1", () -> StoreConfig.builder().maxChunksInFlight(-1).build());
        assertMessage("gcDeleteBatch must be at least 1, got 0", () -> StoreConfig.builder().gcDeleteBatch(0).build());
        assertMessage("gcGrace must not be negative", () -> StoreConfig.builder().gcGrace(Duration.ofSeconds(-1)).build());
        assertMessage("gcLease must not be negative", () -> StoreConfig.defaults().withGcLease(Duration.ofMinutes(-5)));
        assertMessage("commitWait must not be negative", () -> StoreConfig.builder().commitWait(Duration.ofMillis(-1)).build());
        assertMessage("zstd level 99", () -> StoreConfig.builder().compressionLevel(99).build());
        assertThrows(NullPointerException.class, () -> StoreConfig.builder().clock(null).build());
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}

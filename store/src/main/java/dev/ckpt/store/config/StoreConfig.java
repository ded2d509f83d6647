package dev.ckpt.store.config;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.util.Sleeper;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable settings of a {@link CheckpointStore}. Start from {@link #defaults()} and
 * change with the {@code with...} methods.
 *
 * @param chunkSize          bytes per chunk (default 8 MiB)
 * @param compressionLevel   zstd level (default 1: see docs/benchmarks.md)
 * @param parallelism        worker threads for hashing, compression and transfers
 * @param maxChunksInFlight  chunks held in memory at once by a save or restore; memory
 *                           is bounded by about {@code 2 * maxChunksInFlight * chunkSize}
 * @param clock              time source for GC grace ages, leases and timestamps
 * @param sleeper            how retries wait
 * @param gcGrace            unreferenced objects younger than this are never deleted
 * @param gcLease            how long a GC owns the store before another may take over
 * @param commitWait         how long a commit waits for a running GC sweep
 * @param gcDeleteBatch      deletes between two lease checks of a GC sweep
 */
public record StoreConfig(int chunkSize, int compressionLevel, int parallelism, int maxChunksInFlight,
                          Clock clock, Sleeper sleeper, Duration gcGrace, Duration gcLease, Duration commitWait,
                          int gcDeleteBatch) {
    public StoreConfig {
        if (chunkSize < 1024) {
            throw new IllegalArgumentException("chunk size must be at least 1 KiB, got " + chunkSize);
        }
        if (parallelism < 1 || maxChunksInFlight < 1 || gcDeleteBatch < 1) {
            throw new IllegalArgumentException("parallelism, chunks in flight and GC batch must be positive");
        }
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(sleeper, "sleeper");
        Objects.requireNonNull(gcGrace, "gcGrace");
        Objects.requireNonNull(gcLease, "gcLease");
        Objects.requireNonNull(commitWait, "commitWait");
        new ChunkCodec(compressionLevel); // validates the level
    }

    public static StoreConfig defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new StoreConfig(Chunker.DEFAULT_CHUNK_SIZE, ChunkCodec.DEFAULT_LEVEL, Math.max(2, cores),
                Math.max(4, 2 * cores), Clock.systemUTC(), Sleeper.REAL, Duration.ofHours(1),
                Duration.ofMinutes(10), Duration.ofMinutes(15), 500);
    }

    public StoreConfig withChunkSize(int v) {
        return new StoreConfig(v, compressionLevel, parallelism, maxChunksInFlight, clock, sleeper, gcGrace, gcLease, commitWait, gcDeleteBatch);
    }

    public StoreConfig withCompressionLevel(int v) {
        return new StoreConfig(chunkSize, v, parallelism, maxChunksInFlight, clock, sleeper, gcGrace, gcLease, commitWait, gcDeleteBatch);
    }

    public StoreConfig withParallelism(int v) {
        return new StoreConfig(chunkSize, compressionLevel, v, maxChunksInFlight, clock, sleeper, gcGrace, gcLease, commitWait, gcDeleteBatch);
    }

    public StoreConfig withMaxChunksInFlight(int v) {
        return new StoreConfig(chunkSize, compressionLevel, parallelism, v, clock, sleeper, gcGrace, gcLease, commitWait, gcDeleteBatch);
    }

    public StoreConfig withClock(Clock v) {
        return new StoreConfig(chunkSize, compressionLevel, parallelism, maxChunksInFlight, v, sleeper, gcGrace, gcLease, commitWait, gcDeleteBatch);
    }

    public StoreConfig withSleeper(Sleeper v) {
        return new StoreConfig(chunkSize, compressionLevel, parallelism, maxChunksInFlight, clock, v, gcGrace, gcLease, commitWait, gcDeleteBatch);
    }

    public StoreConfig withGcGrace(Duration v) {
        return new StoreConfig(chunkSize, compressionLevel, parallelism, maxChunksInFlight, clock, sleeper, v, gcLease, commitWait, gcDeleteBatch);
    }

    public StoreConfig withGcLease(Duration v) {
        return new StoreConfig(chunkSize, compressionLevel, parallelism, maxChunksInFlight, clock, sleeper, gcGrace, v, commitWait, gcDeleteBatch);
    }

    public StoreConfig withCommitWait(Duration v) {
        return new StoreConfig(chunkSize, compressionLevel, parallelism, maxChunksInFlight, clock, sleeper, gcGrace, gcLease, v, gcDeleteBatch);
    }

    public StoreConfig withGcDeleteBatch(int v) {
        return new StoreConfig(chunkSize, compressionLevel, parallelism, maxChunksInFlight, clock, sleeper, gcGrace, gcLease, commitWait, v);
    }
}

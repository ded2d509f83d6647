package dev.ckpt.store.config;

import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.util.Sleeper;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable settings of a {@link CheckpointStore}. Build with {@link #builder()} (which
 * starts from the defaults), or start from {@link #defaults()} and change single settings
 * with the {@code with...} methods; {@link #toBuilder()} changes several at once. Every
 * value is checked in one place, the record's constructor, with a message naming the setting.
 *
 * @param chunkSize          bytes per chunk (default 8 MiB, at least 1 KiB)
 * @param compressionLevel   zstd level (default 1: see docs/benchmarks.md)
 * @param parallelism        CPU threads for reading, hashing, compression and decoding (default: the
 *                           number of cores, at least 2)
 * @param ioConcurrency      requests in flight to the object store at once, each on a thread of its
 *                           own (default 16: object stores answer each request after a round trip and
 *                           serve many in parallel, so the I/O stage is sized for latency, not cores)
 * @param maxChunksInFlight  chunks held in memory at once by a save or restore, in any stage (default:
 *                           {@code ioConcurrency + parallelism}, lowered so that the chunks fit in a
 *                           quarter of the JVM's maximum heap, at least 4); memory is bounded by about
 *                           {@code (maxChunksInFlight + parallelism) * chunkSize}, whatever the
 *                           checkpoint's size
 * @param clock              time source for GC grace ages, leases and timestamps (default UTC system clock)
 * @param sleeper            how retries wait (default {@link Sleeper#REAL})
 * @param gcGrace            unreferenced objects younger than this are never deleted (default 1 h)
 * @param gcLease            how long a GC owns the store before another may take over (default 10 min)
 * @param commitWait         how long a commit waits for a running GC sweep (default 15 min)
 * @param gcDeleteBatch      deletes between two lease checks of a GC sweep (default 500)
 * @param packBelow          files smaller than this (bytes; default 64 KiB, 0: none) that are not
 *                           {@code .safetensors} are packed with their neighbours into shared chunks
 *                           of at most 1 MiB (and at most {@code chunkSize}), instead of one chunk
 *                           object each; see docs/design.md, "Packs"
 */
public record StoreConfig(int chunkSize, int compressionLevel, int parallelism, int ioConcurrency, int maxChunksInFlight,
                          Clock clock, Sleeper sleeper, Duration gcGrace, Duration gcLease, Duration commitWait,
                          int gcDeleteBatch, int packBelow) {
    public StoreConfig {
        if (chunkSize < 1024) {
            throw new IllegalArgumentException("chunk size must be at least 1 KiB, got " + chunkSize);
        }
        positive("parallelism", parallelism);
        positive("ioConcurrency", ioConcurrency);
        positive("maxChunksInFlight", maxChunksInFlight);
        positive("gcDeleteBatch", gcDeleteBatch);
        if (packBelow < 0) {
            throw new IllegalArgumentException("packBelow must not be negative (0 disables packing), got " + packBelow);
        }
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(sleeper, "sleeper");
        notNegative("gcGrace", gcGrace);
        notNegative("gcLease", gcLease);
        notNegative("commitWait", commitWait);
        new ChunkCodec(compressionLevel); // validates the level
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, got " + v);
        }
    }

    private static void notNegative(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, got " + d);
        }
    }

    /** Requests in flight by default: see {@code ioConcurrency} and docs/benchmarks.md. */
    public static final int DEFAULT_IO_CONCURRENCY = 16;

    /** Files smaller than this are packed by default: see {@code packBelow}. */
    public static final int DEFAULT_PACK_BELOW = 64 << 10;

    /**
     * {@code ioConcurrency + parallelism} chunks, but no more than fit in a quarter of
     * {@code maxHeap} (bytes), and at least 4.
     */
    public static int defaultChunksInFlight(int chunkSize, int parallelism, int ioConcurrency, long maxHeap) {
        long fit = maxHeap / 4 / chunkSize;
        return (int) Math.max(4, Math.min(ioConcurrency + parallelism, fit));
    }

    public static StoreConfig defaults() {
        return builder().build();
    }

    /** A builder holding the defaults; {@link Builder#build()} checks the values. */
    public static Builder builder() {
        int cores = Runtime.getRuntime().availableProcessors();
        int parallelism = Math.max(2, cores);
        return new Builder(Chunker.DEFAULT_CHUNK_SIZE, ChunkCodec.DEFAULT_LEVEL, parallelism, DEFAULT_IO_CONCURRENCY,
                defaultChunksInFlight(Chunker.DEFAULT_CHUNK_SIZE, parallelism, DEFAULT_IO_CONCURRENCY,
                        Runtime.getRuntime().maxMemory()), Clock.systemUTC(), Sleeper.REAL, Duration.ofHours(1),
                Duration.ofMinutes(10), Duration.ofMinutes(15), 500, DEFAULT_PACK_BELOW);
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        return new Builder(chunkSize, compressionLevel, parallelism, ioConcurrency, maxChunksInFlight, clock, sleeper, gcGrace,
                gcLease, commitWait, gcDeleteBatch, packBelow);
    }

    public StoreConfig withChunkSize(int v) {
        return toBuilder().chunkSize(v).build();
    }

    public StoreConfig withCompressionLevel(int v) {
        return toBuilder().compressionLevel(v).build();
    }

    public StoreConfig withParallelism(int v) {
        return toBuilder().parallelism(v).build();
    }

    public StoreConfig withIoConcurrency(int v) {
        return toBuilder().ioConcurrency(v).build();
    }

    public StoreConfig withMaxChunksInFlight(int v) {
        return toBuilder().maxChunksInFlight(v).build();
    }

    public StoreConfig withClock(Clock v) {
        return toBuilder().clock(v).build();
    }

    public StoreConfig withSleeper(Sleeper v) {
        return toBuilder().sleeper(v).build();
    }

    public StoreConfig withGcGrace(Duration v) {
        return toBuilder().gcGrace(v).build();
    }

    public StoreConfig withGcLease(Duration v) {
        return toBuilder().gcLease(v).build();
    }

    public StoreConfig withCommitWait(Duration v) {
        return toBuilder().commitWait(v).build();
    }

    public StoreConfig withGcDeleteBatch(int v) {
        return toBuilder().gcDeleteBatch(v).build();
    }

    public StoreConfig withPackBelow(int v) {
        return toBuilder().packBelow(v).build();
    }

    /** Mutable, not thread-safe; see the record's components for what each setting means. */
    public static final class Builder {
        private int chunkSize;
        private int compressionLevel;
        private int parallelism;
        private int ioConcurrency;
        private int maxChunksInFlight;
        private Clock clock;
        private Sleeper sleeper;
        private Duration gcGrace;
        private Duration gcLease;
        private Duration commitWait;
        private int gcDeleteBatch;
        private int packBelow;

        private Builder(int chunkSize, int compressionLevel, int parallelism, int ioConcurrency, int maxChunksInFlight,
                        Clock clock,
                        Sleeper sleeper, Duration gcGrace, Duration gcLease, Duration commitWait, int gcDeleteBatch,
                        int packBelow) {
            this.chunkSize = chunkSize;
            this.compressionLevel = compressionLevel;
            this.parallelism = parallelism;
            this.ioConcurrency = ioConcurrency;
            this.maxChunksInFlight = maxChunksInFlight;
            this.clock = clock;
            this.sleeper = sleeper;
            this.gcGrace = gcGrace;
            this.gcLease = gcLease;
            this.commitWait = commitWait;
            this.gcDeleteBatch = gcDeleteBatch;
            this.packBelow = packBelow;
        }

        public Builder chunkSize(int bytes) {
            this.chunkSize = bytes;
            return this;
        }

        public Builder compressionLevel(int zstdLevel) {
            this.compressionLevel = zstdLevel;
            return this;
        }

        public Builder parallelism(int threads) {
            this.parallelism = threads;
            return this;
        }

        public Builder ioConcurrency(int requests) {
            this.ioConcurrency = requests;
            return this;
        }

        public Builder maxChunksInFlight(int chunks) {
            this.maxChunksInFlight = chunks;
            return this;
        }

        public Builder clock(Clock v) {
            this.clock = v;
            return this;
        }

        public Builder sleeper(Sleeper v) {
            this.sleeper = v;
            return this;
        }

        public Builder gcGrace(Duration v) {
            this.gcGrace = v;
            return this;
        }

        public Builder gcLease(Duration v) {
            this.gcLease = v;
            return this;
        }

        public Builder commitWait(Duration v) {
            this.commitWait = v;
            return this;
        }

        public Builder gcDeleteBatch(int deletes) {
            this.gcDeleteBatch = deletes;
            return this;
        }

        /** Files smaller than {@code bytes} are packed (0: none); see {@link StoreConfig#packBelow()}. */
        public Builder packBelow(int bytes) {
            this.packBelow = bytes;
            return this;
        }

        /** @throws IllegalArgumentException naming the first setting out of range */
        public StoreConfig build() {
            return new StoreConfig(chunkSize, compressionLevel, parallelism, ioConcurrency, maxChunksInFlight, clock, sleeper,
                    gcGrace, gcLease, commitWait, gcDeleteBatch, packBelow);
        }
    }
}

package dev.ckpt.store.chunk;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.ckpt.store.error.CorruptObjectException;

import java.util.Objects;

/**
 * Encodes chunks for storage and decodes them back, verifying every decoded chunk's
 * SHA-256 against its name: a mismatch raises {@link CorruptObjectException} and the
 * bytes are never returned.
 *
 * <p>Compressed chunks are single standard zstd frames with the content size and the
 * content checksum, so the {@code zstd} command-line tool can decompress a chunk object.
 * A chunk is stored raw when zstd does not make it smaller.
 */
public final class ChunkCodec {
    /** Chosen by measurement on float32 tensors: see docs/benchmarks.md. */
    public static final int DEFAULT_LEVEL = 1;
    /** zstd's hashLog for byte-grouped chunks at the default level: see {@code Scratch}. */
    static final int GROUPED_HASH_LOG = 8;
    /** zstd's minMatch for byte-grouped chunks at the default level. */
    static final int GROUPED_MIN_MATCH = 7;

    private final int level;
    /**
     * Per thread: a compression context and an output buffer of compressBound(chunk),
     * reused across chunks — a fresh 8 MiB buffer and context per chunk cost allocation,
     * zeroing and GC work on every chunk of a save (see docs/benchmarks.md). The encoded
     * bytes are handed out in this buffer, not copied ({@link Encoded}).
     */
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private final class Scratch {
        final ZstdCompressCtx ctx = new ZstdCompressCtx();
        final ZstdCompressCtx groupedCtx = new ZstdCompressCtx();
        byte[] dst = new byte[0];
        byte[] grouped = new byte[0];

        Scratch() {
            for (ZstdCompressCtx c : new ZstdCompressCtx[]{ctx, groupedCtx}) {
                c.setLevel(level);
                c.setChecksum(true);
                c.setContentSize(true);
            }
            if (level == DEFAULT_LEVEL) {
                // Grouped float bytes gain from Huffman-coded literals (the exponent bytes), hardly
                // from matches: a 256-entry match table that stays in L1 and matches of at least 7
                // bytes cost 2.2 instead of 2.8 core-seconds per GB, and store 0.832 of the raw
                // bytes instead of 0.840 (GroupingBenchmark, docs/benchmarks.md)
                groupedCtx.setHashLog(GROUPED_HASH_LOG);
                groupedCtx.setMinMatch(GROUPED_MIN_MATCH);
            }
        }
    }

    public ChunkCodec(int level) {
        if (level < Zstd.minCompressionLevel() || level > Zstd.maxCompressionLevel()) {
            throw new IllegalArgumentException("zstd level " + level + " is outside "
                    + Zstd.minCompressionLevel() + ".." + Zstd.maxCompressionLevel());
        }
        this.level = level;
    }

    public int level() {
        return level;
    }

    /**
     * An encoded chunk: its reference and the bytes to store, the first {@code length} bytes
     * of {@code buffer}. The buffer is the encoding thread's own output buffer (compressed)
     * or the caller's input array (stored raw); it is valid until the same thread encodes
     * again, so write it before the next chunk, or take {@link #stored()}.
     */
    public record Encoded(ChunkRef ref, byte[] buffer, int length) {
        /** A copy of exactly the bytes to store. */
        public byte[] stored() {
            return java.util.Arrays.copyOf(buffer, length);
        }
    }

    /** Hashes and compresses {@code length} bytes of {@code data} from {@code offset}. */
    public Encoded encode(byte[] data, int offset, int length) {
        String hash = Hashes.sha256Hex(data, offset, length);
        return encode(hash, data, offset, length);
    }

    /** Compresses bytes whose hash is already known, without grouping. */
    public Encoded encode(String hash, byte[] data, int offset, int length) {
        return encode(hash, data, offset, length, 1);
    }

    /**
     * Compresses bytes whose hash is already known into this thread's output buffer,
     * grouped by {@code groupWidth} (1: not grouped; 2, 4 or 8: see {@link ByteGrouping}).
     */
    public Encoded encode(String hash, byte[] data, int offset, int length, int groupWidth) {
        Scratch s = scratch.get();
        int bound = maxEncodedLength(length);
        if (s.dst.length < bound) {
            s.dst = new byte[bound];
        }
        return encodeInto(hash, data, offset, length, groupWidth, s.dst);
    }

    /** The most bytes {@link #encodeInto} writes for a chunk of {@code length} bytes. */
    public static int maxEncodedLength(int length) {
        return (int) Zstd.compressBound(length);
    }

    /**
     * Compresses bytes whose hash is already known into {@code dst} (at least
     * {@link #maxEncodedLength} long), grouped by {@code groupWidth} (1 for none). The result's
     * buffer is {@code dst}, or {@code data} itself when the chunk is stored raw (then only if
     * {@code offset} is 0; a copy otherwise).
     */
    public Encoded encodeInto(String hash, byte[] data, int offset, int length, int groupWidth, byte[] dst) {
        Scratch s = scratch.get();
        Codec codec = Codec.zstdGroupedBy(groupWidth);
        byte[] in = data;
        int inOffset = offset;
        if (groupWidth > 1) {
            if (s.grouped.length < length) {
                s.grouped = new byte[length];
            }
            ByteGrouping.group(data, offset, length, groupWidth, s.grouped);
            in = s.grouped;
            inOffset = 0;
        }
        ZstdCompressCtx ctx = groupWidth > 1 ? s.groupedCtx : s.ctx;
        int size = ctx.compressByteArray(dst, 0, dst.length, in, inOffset, length);
        if (size < length) {
            return new Encoded(new ChunkRef(hash, length, size, codec), dst, size);
        }
        byte[] raw = offset == 0 ? data : java.util.Arrays.copyOfRange(data, offset, offset + length);
        return new Encoded(new ChunkRef(hash, length, length, Codec.RAW), raw, length);
    }

    /**
     * zstd's reason in a reader's words where its own would mislead: "Restored data doesn't
     * match checksum" (zstd's name for a frame whose checksum fails, read as if a restore's
     * output were wrong: helper-141) is the frame's checksum failing; others as zstd says them.
     */
    static String zstdSays(String reason) {
        if (reason != null && reason.toLowerCase(java.util.Locale.ROOT).contains("checksum")) {
            return "the frame's checksum does not match its decoded bytes: the stored object changed after it was written";
        }
        return reason;
    }

    /**
     * Encodes {@code data} exactly as {@code ref} records it (its codec): for re-creating a
     * chunk object that must match a manifest already written.
     */
    public Encoded encodeAs(ChunkRef ref, byte[] data, int offset, int length) {
        if (ref.codec() == Codec.RAW) {
            byte[] raw = java.util.Arrays.copyOfRange(data, offset, offset + length);
            return new Encoded(new ChunkRef(ref.hash(), length, length, Codec.RAW), raw, length);
        }
        Scratch s = scratch.get();
        int w = ref.codec().groupWidth();
        byte[] in = data;
        int inOffset = offset;
        if (w > 1) {
            in = new byte[length];
            ByteGrouping.group(data, offset, length, w, in);
            inOffset = 0;
        }
        byte[] dst = new byte[maxEncodedLength(length)];
        int size = (w > 1 ? s.groupedCtx : s.ctx).compressByteArray(dst, 0, dst.length, in, inOffset, length);
        return new Encoded(new ChunkRef(ref.hash(), length, size, ref.codec()), dst, size);
    }

    /**
     * What an existing chunk object holds: the reference under which {@code stored} decodes
     * to the chunk {@code hash} of {@code rawLength} bytes, trying every codec, or null if it
     * decodes to other bytes under all of them. For a chunk object that already existed when
     * a save tried to create it, written by another save, perhaps with another codec.
     */
    public static ChunkRef identify(String hash, int rawLength, byte[] stored) {
        for (Codec c : Codec.values()) {
            ChunkRef candidate = new ChunkRef(hash, rawLength, stored.length, c);
            try {
                decode(candidate, stored);
                return candidate;
            } catch (CorruptObjectException e) {
                // not this codec
            }
        }
        return null;
    }

    /**
     * Decodes a stored chunk and verifies its hash and length.
     *
     * @throws CorruptObjectException naming the chunk key if the bytes do not decode to
     *         exactly the chunk named by {@code ref}
     */
    public static byte[] decode(ChunkRef ref, byte[] stored) {
        // exact: a raw chunk's buffer is stored itself, a compressed one's is rawLength long, both checked
        return decode(ref, stored, stored.length, new byte[ref.codec().compressed() ? ref.rawLength() : 0], true).buffer();
    }

    /**
     * {@link #decode(ChunkRef, byte[])} of the first {@code storedLength} bytes of {@code stored}
     * into an array of its own (a raw chunk is copied out): {@code stored} may be reused after.
     */
    public static byte[] decode(ChunkRef ref, byte[] stored, int storedLength) {
        byte[] raw = decode(ref, stored, storedLength, new byte[ref.codec().compressed() ? ref.rawLength() : 0], true)
                .buffer();
        return raw == stored ? java.util.Arrays.copyOf(stored, storedLength) : raw;
    }

    /** A decoded chunk: the first {@code length} bytes of {@code buffer}. */
    public record Decoded(byte[] buffer, int length) {
    }

    private static final ThreadLocal<byte[]> DECODE_BUFFER = ThreadLocal.withInitial(() -> new byte[0]);

    /**
     * {@link #decode(ChunkRef, byte[])} into this thread's own output buffer, reused across
     * chunks (no multi-MiB array per chunk, as for encoding): the result is valid until
     * the same thread decodes again. A raw chunk is returned in {@code stored} itself.
     */
    public static Decoded decodeReusing(ChunkRef ref, byte[] stored) {
        return decodeReusing(ref, stored, stored.length);
    }

    /** {@link #decodeReusing(ChunkRef, byte[])} of the first {@code storedLength} bytes of {@code stored}. */
    public static Decoded decodeReusing(ChunkRef ref, byte[] stored, int storedLength) {
        return decode(ref, stored, storedLength, decodeBuffer(ref), true);
    }

    /**
     * {@link #decodeReusing(ChunkRef, byte[], int)} without the chunk's SHA-256 (its zstd frame and length are
     * still checked): for a caller that checks a hash covering these bytes itself — a
     * whole-file restore checks each file's SHA-256 over every byte it writes, and looks
     * for the corrupt chunk only when that fails. One SHA-256 pass per byte instead of two
     * (docs/benchmarks.md, "One SHA-256 per byte on restore; the file hash off the save's
     * reader").
     *
     * @throws CorruptObjectException naming the chunk key if the bytes do not decode to
     *         {@code ref.rawLength()} bytes
     */
    public static Decoded decodeReusingUnhashed(ChunkRef ref, byte[] stored, int storedLength) {
        return decode(ref, stored, storedLength, decodeBuffer(ref), false);
    }

    private static byte[] decodeBuffer(ChunkRef ref) {
        byte[] dst = DECODE_BUFFER.get();
        if (ref.codec().compressed() && dst.length < ref.rawLength()) {
            dst = new byte[ref.rawLength()];
            DECODE_BUFFER.set(dst);
        }
        return dst;
    }

    /** The error for a chunk whose decoded bytes hash to {@code actual}, not to its name. */
    public static CorruptObjectException hashMismatch(ChunkRef ref, String actual) {
        return new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: its content hashes to "
                + actual);
    }

    private static final ThreadLocal<byte[]> GROUPED_BUFFER = ThreadLocal.withInitial(() -> new byte[0]);

    /** This thread's buffer for a grouped chunk's decompressed bytes, before they are ungrouped. */
    private static byte[] groupedBuffer(int length) {
        byte[] b = GROUPED_BUFFER.get();
        if (b.length < length) {
            b = new byte[length];
            GROUPED_BUFFER.set(b);
        }
        return b;
    }

    private static Decoded decode(ChunkRef ref, byte[] stored, int storedLength, byte[] dst, boolean hash) {
        Objects.checkFromIndexSize(0, storedLength, stored.length);
        byte[] raw;
        int length;
        if (ref.codec() == Codec.RAW) {
            raw = stored;
            length = storedLength;
        } else {
            try {
                long size = Zstd.getFrameContentSize(stored, 0, storedLength);
                if (size != ref.rawLength()) {
                    throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: its zstd frame declares "
                            + size + " bytes but the manifest says " + ref.rawLength());
                }
                int w = ref.codec().groupWidth();
                byte[] out = w > 1 ? groupedBuffer(ref.rawLength()) : dst;
                long n = Zstd.decompressByteArray(out, 0, ref.rawLength(), stored, 0, storedLength);
                if (Zstd.isError(n)) {
                    throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: zstd cannot decode it ("
                            + zstdSays(Zstd.getErrorName(n)) + ")");
                }
                length = (int) n;
                if (w > 1 && length == ref.rawLength()) {
                    ByteGrouping.ungroup(out, length, w, dst);
                }
                raw = dst;
            } catch (ZstdException | IllegalArgumentException | IndexOutOfBoundsException e) {
                // an index error: zstd-jni reads an empty or cut object's frame header past its end (helper-110)
                throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: zstd cannot decode it ("
                        + zstdSays(e.getMessage()) + ")", e);
            }
        }
        if (length != ref.rawLength()) {
            throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: " + length
                    + " bytes instead of " + ref.rawLength());
        }
        if (hash) {
            String actual = Hashes.sha256Hex(raw, 0, length);
            if (!actual.equals(ref.hash())) {
                throw hashMismatch(ref, actual);
            }
        }
        return new Decoded(raw, length);
    }
}

package dev.ckpt.store.chunk;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.ckpt.store.error.CorruptObjectException;

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
        byte[] dst = new byte[0];

        Scratch() {
            ctx.setLevel(level);
            ctx.setChecksum(true);
            ctx.setContentSize(true);
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

    /** Compresses bytes whose hash is already known. */
    public Encoded encode(String hash, byte[] data, int offset, int length) {
        Scratch s = scratch.get();
        int bound = (int) Zstd.compressBound(length);
        if (s.dst.length < bound) {
            s.dst = new byte[bound];
        }
        int size = s.ctx.compressByteArray(s.dst, 0, bound, data, offset, length);
        if (size < length) {
            return new Encoded(new ChunkRef(hash, length, size, Codec.ZSTD), s.dst, size);
        }
        byte[] raw = offset == 0 ? data : java.util.Arrays.copyOfRange(data, offset, offset + length);
        return new Encoded(new ChunkRef(hash, length, length, Codec.RAW), raw, length);
    }

    /**
     * Decodes a stored chunk and verifies its hash and length.
     *
     * @throws CorruptObjectException naming the chunk key if the bytes do not decode to
     *         exactly the chunk named by {@code ref}
     */
    public static byte[] decode(ChunkRef ref, byte[] stored) {
        // exact: a raw chunk's buffer is stored itself, a compressed one's is rawLength long, both checked
        return decode(ref, stored, new byte[ref.codec() == Codec.RAW ? 0 : ref.rawLength()]).buffer();
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
        byte[] dst = DECODE_BUFFER.get();
        if (ref.codec() != Codec.RAW && dst.length < ref.rawLength()) {
            dst = new byte[ref.rawLength()];
            DECODE_BUFFER.set(dst);
        }
        return decode(ref, stored, dst);
    }

    private static Decoded decode(ChunkRef ref, byte[] stored, byte[] dst) {
        byte[] raw;
        int length;
        if (ref.codec() == Codec.RAW) {
            raw = stored;
            length = stored.length;
        } else {
            try {
                long size = Zstd.getFrameContentSize(stored);
                if (size != ref.rawLength()) {
                    throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: its zstd frame declares "
                            + size + " bytes but the manifest says " + ref.rawLength());
                }
                raw = dst;
                long n = Zstd.decompressByteArray(dst, 0, ref.rawLength(), stored, 0, stored.length);
                if (Zstd.isError(n)) {
                    throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: zstd cannot decode it ("
                            + Zstd.getErrorName(n) + ")");
                }
                length = (int) n;
            } catch (ZstdException | IllegalArgumentException e) {
                throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: zstd cannot decode it ("
                        + e.getMessage() + ")", e);
            }
        }
        if (length != ref.rawLength()) {
            throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: " + length
                    + " bytes instead of " + ref.rawLength());
        }
        String actual = Hashes.sha256Hex(raw, 0, length);
        if (!actual.equals(ref.hash())) {
            throw new CorruptObjectException(ref.key(), "chunk " + ref.key() + " is corrupt: its content hashes to "
                    + actual + "; restore it from another copy or re-save the checkpoint");
        }
        return new Decoded(raw, length);
    }
}

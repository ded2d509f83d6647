package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.util.ThreadPools;

import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * The file-hash stage of a save: one thread that takes the chunks the reader read, in the
 * order it read them, adds each to its file's SHA-256 (the manifest's {@code sha256}, which
 * needs the bytes in order), then hands it to the pipeline (chunk hash, compression,
 * upload). The reader only reads: with the file hash on the reader, reading and hashing
 * were one serial path, 0.7 CPU s per GB on this machine's cores before a byte reached
 * the CPU pool (docs/benchmarks.md, "One SHA-256 per byte on restore; the file hash off the
 * save's reader").
 *
 * <p>Rejected: taking the SHA-256 of a file whose chunks all equal the previous
 * checkpoint's entry at that path from that entry (one SHA-256 per byte, 0.3 CPU s less on
 * the benchmark's second save): a previous entry with a wrong hash (a manifest re-blessed
 * by {@code recover}, an old faulty writer) would pass the wrong hash on to every later
 * checkpoint of an unchanged file, so none of them would restore.
 *
 * <p>Memory: a chunk waiting here holds its read buffer and its permit from the reader, as
 * in the pipeline.
 */
final class FileHashStage implements AutoCloseable {
    private final ExecutorService thread = ThreadPools.single("ckpt-file-hash");
    private final SavePipeline pipeline;

    FileHashStage(SavePipeline pipeline) {
        this.pipeline = pipeline;
    }

    /** One file being hashed. Only the stage's thread touches its digest. */
    static final class File {
        private final int pieces;
        private final MessageDigest digest = Hashes.sha256();
        /** The file's SHA-256 in hex, once its last chunk was hashed. */
        final CompletableFuture<String> sha256 = new CompletableFuture<>();

        private File(int pieces) {
            this.pieces = pieces;
            if (pieces == 0) {
                sha256.complete(Hashes.hex(digest.digest()));
            }
        }
    }

    /** A file of {@code pieces} chunks to hash. */
    File open(int pieces) {
        return new File(pieces);
    }

    /**
     * Chunk {@code index} of {@code file}, read into {@code buf} (which the pipeline gives
     * back, with the reader's permit): added to the file's hash here, then handed to the
     * pipeline. Chunks of a file must come in order, the files one after another.
     *
     * @return the chunk's reference once it is known or stored
     */
    CompletableFuture<ChunkRef> add(File file, int index, byte[] buf, Chunker.Piece piece, List<Saver.Location> loc) {
        CompletableFuture<ChunkRef> result = new CompletableFuture<>();
        try {
            thread.execute(pipeline.guarded(() -> {
                try {
                    file.digest.update(buf, 0, piece.length());
                    if (index == file.pieces - 1) {
                        file.sha256.complete(Hashes.hex(file.digest.digest()));
                    }
                } catch (Throwable t) {
                    file.sha256.completeExceptionally(t);
                    pipeline.fail(result, t, buf);
                    return;
                }
                pipeline.submit(buf, piece, loc, result); // last: the buffer is the CPU stage's from here on
            }));
        } catch (Throwable t) { // rejected: closed after a failure; or no memory to queue it
            pipeline.fail(result, t, buf);
        }
        return result;
    }

    /** No more files: the thread ends once the chunks queued are handed on (or skipped after a failure). */
    @Override
    public void close() {
        thread.shutdown();
    }
}

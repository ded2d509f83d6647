package dev.ckpt.store.commit;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Chunker;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.commit.SourceDir.SourceFile;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.manifest.FileEntry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The file-hash stage of a save: one thread that takes the chunks the reader read, in the
 * order it read them, adds each to its file's SHA-256 (the manifest's {@code sha256}, which
 * needs the bytes in order), then hands it to the pipeline (chunk hash, compression,
 * upload). The reader only reads: with the file hash on the reader, reading and hashing
 * were one serial path (docs/benchmarks.md, "Restore and second save: one SHA-256 per byte").
 *
 * <p><b>Files the previous checkpoint has.</b> For a file that the run's latest checkpoint
 * holds at the same path with the same size, each chunk's own SHA-256 is computed here
 * first, and the file's is not: while every chunk equals the previous entry's chunk at the
 * same index, the file is those same bytes, so its SHA-256 is the previous entry's (one
 * SHA-256 per byte instead of two). At the first chunk that differs, the chunks before it
 * are read again from the file, each checked against the hash it had (a file rewritten
 * meanwhile is refused), and added to the file's SHA-256; from there on the file is hashed
 * as any other. The chunk's hash computed here goes with it, so the pipeline does not
 * compute it again.
 *
 * <p>Memory: a chunk waiting here holds its read buffer and its permit from the reader, as
 * in the pipeline; re-reading a prefix uses one chunk-sized buffer of this stage.
 */
final class FileHashStage implements AutoCloseable {
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "ckpt-file-hash");
        t.setDaemon(true);
        return t;
    });
    private final SavePipeline pipeline;
    private byte[] prefixBuffer;

    FileHashStage(SavePipeline pipeline) {
        this.pipeline = pipeline;
    }

    /** One file being hashed. Only the stage's thread touches its state. */
    final class File {
        final SourceFile source;
        /** The previous checkpoint's entry at this path and size; null once a chunk differs (or there is none). */
        private FileEntry prior;
        private final int pieces;
        private final MessageDigest digest = Hashes.sha256();
        /** Chunks that matched {@code prior}'s, from the first: not yet in {@code digest}. */
        private int matched;
        /** The file's SHA-256 in hex, once its last chunk was hashed. */
        final CompletableFuture<String> sha256 = new CompletableFuture<>();

        private File(SourceFile source, FileEntry prior, int pieces) {
            this.source = source;
            this.prior = prior != null && prior.size() == source.size() && !prior.packed() && !prior.chunks().isEmpty()
                    ? prior : null;
            this.pieces = pieces;
            if (pieces == 0) {
                sha256.complete(Hashes.hex(digest.digest()));
            }
        }
    }

    /**
     * A file of {@code pieces} chunks to hash; {@code prior}: the same path's entry in the
     * run's latest checkpoint, or null.
     */
    File open(SourceFile source, FileEntry prior, int pieces) {
        return new File(source, prior, pieces);
    }

    /**
     * Chunk {@code index} of {@code file}, read into {@code buf} (which the pipeline gives
     * back, with the reader's permit): hashed here, then handed to the pipeline. Chunks of
     * a file must come in order, the files one after another.
     *
     * @return the chunk's reference once it is known or stored
     */
    CompletableFuture<ChunkRef> add(File file, int index, byte[] buf, Chunker.Piece piece, List<Saver.Location> loc) {
        CompletableFuture<ChunkRef> result = new CompletableFuture<>();
        try {
            thread.execute(() -> {
                try {
                    String hash = hash(file, index, buf, piece);
                    pipeline.submit(buf, piece, loc, hash).whenComplete((ref, t) -> {
                        if (t != null) {
                            result.completeExceptionally(t);
                        } else {
                            result.complete(ref);
                        }
                    });
                } catch (Throwable t) {
                    file.sha256.completeExceptionally(t);
                    pipeline.fail(result, t, buf);
                }
            });
        } catch (RuntimeException e) { // rejected: closed after a failure
            pipeline.fail(result, e, buf);
        }
        return result;
    }

    /** Adds the chunk to its file's hash, or matches it against the previous entry; its own hash if computed here. */
    private String hash(File file, int index, byte[] buf, Chunker.Piece piece) {
        String hash = null;
        if (file.prior != null) {
            hash = Hashes.sha256Hex(buf, 0, piece.length());
            List<ChunkRef> before = file.prior.chunks();
            if (index == file.matched && index < before.size() && before.get(index).hash().equals(hash)
                    && before.get(index).rawLength() == piece.length()) {
                file.matched++;
                if (index == file.pieces - 1) {
                    if (file.matched == before.size()) {
                        file.sha256.complete(file.prior.sha256()); // the same chunks in the same order
                    } else {
                        catchUp(file);
                        file.sha256.complete(Hashes.hex(file.digest.digest()));
                    }
                }
                return hash;
            }
            catchUp(file);
        }
        file.digest.update(buf, 0, piece.length());
        if (index == file.pieces - 1) {
            file.sha256.complete(Hashes.hex(file.digest.digest()));
        }
        return hash;
    }

    /**
     * The file's chunks so far matched the previous entry's and are not in its SHA-256: reads
     * them again, checks each against the hash it had and adds it; the file is hashed as any
     * other from here on.
     */
    private void catchUp(File file) {
        List<ChunkRef> before = file.prior.chunks();
        file.prior = null;
        if (file.matched == 0) {
            return;
        }
        try (FileChannel ch = FileChannel.open(file.source.path(), StandardOpenOption.READ)) {
            catchUp(file, before, ch);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read file " + file.source.path() + " again (it changed while it was"
                    + " being saved?): " + e.getMessage() + "; save it again once it is complete", e);
        }
    }

    private void catchUp(File file, List<ChunkRef> before, FileChannel ch) throws IOException {
        long offset = 0;
        for (int j = 0; j < file.matched; j++) {
            ChunkRef c = before.get(j);
            if (prefixBuffer == null || prefixBuffer.length < c.rawLength()) {
                prefixBuffer = new byte[Math.max(c.rawLength(), pipeline.raw.size())];
            }
            ByteBuffer bb = ByteBuffer.wrap(prefixBuffer, 0, c.rawLength());
            while (bb.hasRemaining() && ch.read(bb, offset + bb.position()) >= 0) {
                // read fully; a file now shorter leaves bytes unread
            }
            if (bb.hasRemaining() || !Hashes.sha256Hex(prefixBuffer, 0, c.rawLength()).equals(c.hash())) {
                throw changed(file);
            }
            file.digest.update(prefixBuffer, 0, c.rawLength());
            offset += c.rawLength();
        }
    }

    private static InvalidInputException changed(File file) {
        return new InvalidInputException("file " + file.source.path() + " changed while it was being saved (its first"
                + " bytes differ from a moment before); save it again once it is complete");
    }

    /** No more files: the thread ends once the chunks queued are handed on (or skipped after a failure). */
    @Override
    public void close() {
        thread.shutdown();
    }
}

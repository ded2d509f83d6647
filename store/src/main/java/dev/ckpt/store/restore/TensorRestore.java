package dev.ckpt.store.restore;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.TensorEntry;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.StoredBytes;
import dev.ckpt.store.util.ChunkBuffers;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.Tasks;
import dev.ckpt.store.util.TempNames;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Writes the tensors of a {@link TensorSelection}: for each selected file, a valid
 * safetensors file holding only its selected tensors (a new header with the same names,
 * dtypes and shapes; the same bytes, packed in file order). Only the chunks that overlap the
 * selected tensors are fetched — a few at a time on the I/O executor, each once per file —
 * and each is checked against its SHA-256 when decoded. The whole-file SHA-256 of the
 * manifest cannot be checked (the file written is not the file saved), but every byte
 * written comes from a verified chunk. The safetensors {@code __metadata__} of the source
 * file is not kept (the index does not record it).
 *
 * <p>Writing goes through {@link TargetDirectory} as a whole restore does: every destination
 * checked first, temporaries renamed into place only once all files are written, never
 * through a link, and a failure leaves the target as it was.
 */
final class TensorRestore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ObjectStore store;
    private final ExecutorService io;
    private final int window;
    private final AtomicInteger downloaded = new AtomicInteger();
    /** GET buffers, one per read in flight, given back once the chunk is decoded (as a whole restore reads). */
    private final ChunkBuffers reads;

    /** {@code chunkSize}: the store's chunk size, for the GET buffers (a larger chunk is read into an array of its own). */
    TensorRestore(ObjectStore store, ExecutorService io, int window, int chunkSize) {
        this.store = store;
        this.io = io;
        this.window = Math.max(1, window);
        this.reads = new ChunkBuffers(ChunkCodec.maxEncodedLength(chunkSize));
    }

    TensorRestoreResult run(Manifest m, TensorSelection sel, Path target) {
        long t0 = System.nanoTime();
        Path root = target.toAbsolutePath().normalize();
        List<Path> finals = new ArrayList<>();
        for (TensorSelection.FileSelection f : sel.files()) {
            Path dest = root.resolve(f.file().path()).normalize();
            if (!dest.startsWith(root) || dest.equals(root)) {
                throw new CorruptObjectException(m.key(), "manifest " + m.key() + " names file '" + f.file().path()
                        + "' outside the restore directory; refused, nothing written");
            }
            finals.add(dest);
        }
        TargetDirectory dir = new TargetDirectory(root, m, TargetDirectory.Mover.ATOMIC);
        List<Path> temps = new ArrayList<>();
        List<Object> keys = new ArrayList<>();
        boolean ok = false;
        long bytes = 0;
        TargetDirectory.Leftovers leftovers;
        int replaced;
        dev.ckpt.store.error.CkptException failed = null;
        try {
            dir.check(finals);
            dir.createDirectories(finals);
            for (int i = 0; i < finals.size(); i++) {
                TensorSelection.FileSelection f = sel.files().get(i);
                Path tmp = finals.get(i).resolveSibling(TempNames.next(".tmp"));
                FileChannel ch;
                try {
                    ch = dir.createTemp(tmp, f.file().mode());
                } catch (IOException e) {
                    throw TargetDirectory.cannot("create a temporary file in " + tmp.getParent() + " for "
                            + f.file().path(), root, e);
                }
                temps.add(tmp);
                try (ch) {
                    write(f, ch);
                    ch.force(true);
                } catch (IOException e) {
                    throw TargetDirectory.cannot("write " + f.file().path(), root, e);
                } catch (RuntimeException e) {
                    throw ChunkProblems.located(e, "file " + dev.ckpt.store.util.Printable.of(f.file().path()) + " of checkpoint " + m.id(), root, store);
                }
                keys.add(Restorer.setMode(dir, tmp, f.file().mode()));
                bytes += f.tensorBytes();
            }
            replaced = dir.publish(temps, finals, keys);
            ok = true;
            // named, never deleted (see TargetDirectory.findLeftovers); the checkpoint's files not selected are not leftovers
            leftovers = dir.findLeftovers(finals, m.files().stream().map(f -> root.resolve(f.path()).normalize()).toList());
        } catch (dev.ckpt.store.error.CkptException e) {
            failed = e;
            throw e;
        } finally {
            if (!ok) {
                Restorer.removeTemporaries(dir, temps, failed);
                dir.removeCreatedDirectories();
            }
            dir.close();
        }
        List<String> paths = sel.files().stream().map(f -> f.file().path()).toList();
        return new TensorRestoreResult(m.id(), m.run(), m.step(), paths, sel.tensorCount(), bytes, downloaded.get(),
                Duration.ofNanos(System.nanoTime() - t0), leftovers.temporaries(), leftovers.replacedVersions(), replaced,
                sel.unindexed(), leftovers.replacedFrom(), leftovers.journals());
    }

    /** The new header and the selected tensors' bytes, from the file's chunks that hold them. */
    private void write(TensorSelection.FileSelection f, FileChannel ch) throws IOException {
        FileEntry file = f.file();
        long[] starts = new long[file.chunks().size() + 1];
        for (int i = 0; i < file.chunks().size(); i++) {
            starts[i + 1] = starts[i] + file.chunks().get(i).sliceLength();
        }
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (TensorEntry t : f.tensors()) {
            ObjectNode n = header.putObject(t.name());
            n.put("dtype", t.dtype());
            com.fasterxml.jackson.databind.node.ArrayNode shape = n.putArray("shape");
            t.shape().forEach(shape::add);
            n.putArray("data_offsets").add(offset).add(offset + t.length());
            offset += t.length();
        }
        byte[] h = JSON.writeValueAsBytes(header);
        int padded = (h.length + 7) / 8 * 8; // the data starts 8-byte aligned, as the safetensors writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(h);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        LocalFiles.writeFully(ch, head.flip());

        Chunks chunks = new Chunks(file, f.chunks());
        try {
            for (TensorEntry t : f.tensors()) {
                long pos = t.begin();
                while (pos < t.end()) {
                    int index = TensorSelection.chunkAt(starts, pos);
                    byte[] data = chunks.get(index);
                    int from = (int) (pos - starts[index]);
                    int n = (int) Math.min(t.end() - pos, data.length - from);
                    LocalFiles.writeFully(ch, ByteBuffer.wrap(data, from, n));
                    pos += n;
                }
            }
        } finally {
            chunks.cancel();
        }
    }

    /**
     * The selected chunks of one file, fetched in order with up to {@code window} GETs ahead;
     * a chunk asked for out of order (overlapping tensors) is fetched again.
     */
    private final class Chunks {
        private final FileEntry file;
        private final List<Integer> order;
        private final ArrayDeque<CompletableFuture<byte[]>> ahead = new ArrayDeque<>();
        private final ArrayDeque<Integer> aheadIndex = new ArrayDeque<>();
        private int next;
        private int currentIndex = -1;
        private byte[] current;

        Chunks(FileEntry file, List<Integer> order) {
            this.file = file;
            this.order = order;
            fill();
        }

        private void fill() {
            while (ahead.size() < window && next < order.size()) {
                int index = order.get(next++);
                ChunkRef ref = file.chunks().get(index);
                ahead.add(CompletableFuture.supplyAsync(() -> fetch(ref), io));
                aheadIndex.add(index);
            }
        }

        byte[] get(int index) {
            if (index == currentIndex) {
                return current;
            }
            while (!aheadIndex.isEmpty() && aheadIndex.peek() < index) {
                aheadIndex.poll();
                ahead.poll().cancel(false);
                fill();
            }
            if (!aheadIndex.isEmpty() && aheadIndex.peek() == index) {
                aheadIndex.poll();
                current = Tasks.await(ahead.poll(), "restore tensors");
                fill();
            } else {
                current = fetch(file.chunks().get(index));
            }
            currentIndex = index;
            return current;
        }

        void cancel() {
            ahead.forEach(c -> c.cancel(false));
        }
    }

    /** GETs a chunk and decodes it, checking its length and SHA-256. */
    private byte[] fetch(ChunkRef ref) {
        byte[] buffer = reads.takeFor(ref.storedLength());
        StoredBytes stored = ChunkProblems.getInto(store, ref, buffer); // failed: the buffer is dropped
        byte[] data;
        try {
            data = ChunkCodec.decode(ref.whole(), stored.array(), stored.length());
        } finally {
            reads.give(buffer);
        }
        downloaded.incrementAndGet();
        // a packed file's bytes are its slice of the pack (packed files are not safetensors, but a manifest may say so)
        return ref.sliced() ? java.util.Arrays.copyOfRange(data, ref.sliceOffset(), ref.sliceOffset() + ref.sliceLength()) : data;
    }
}

package dev.ckpt.store.restore;

import dev.ckpt.store.util.NonFiles;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.StoredBytes;
import dev.ckpt.store.util.ChunkBuffers;
import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.TempNames;
import dev.ckpt.store.util.Tasks;
import dev.ckpt.store.util.TransferListener;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The data path of one restore: writes every file of a checkpoint into its temporary,
 * verified, flushed and closed, or fails with the first error and leaves no task running.
 *
 * <p>Stages: a chunk is fetched on the I/O executor (a GET, or a read of a local copy),
 * decoded (length and zstd's checksum checked) on the CPU executor, and written at its offset into the
 * temporary by the same CPU thread (positioned writes, so any order). Each file's
 * SHA-256 is computed from its chunks in order as they are written — a chunk that
 * arrives before its predecessors waits with its bytes, holding its permit — so no file
 * is read again. The file's SHA-256 is the check of a downloaded chunk's bytes: its own
 * hash is computed only to name it once its file failed (one SHA-256 per byte, not two);
 * a chunk from anywhere else (a local copy, a read-back, a pack) is hashed before use.
 * A verified file is flushed ({@code fsync}) and closed on the I/O
 * executor, many at once; a file under {@link #FLUSH_EACH_MIN_BYTES} is only closed, and
 * all such files are flushed together once every file is written: one {@code syncfs} per
 * filesystem ({@link FilesystemSync}), else an fsync each. Memory: every chunk holds one of {@code permits} from dispatch
 * until it is hashed (the last one of a file until its file is flushed and closed), so at
 * most that many chunks are in memory, plus one decode buffer per CPU thread, and at most
 * that many temporaries are open, whatever the checkpoint's size. Permits are taken in
 * dispatch order and every chunk only ever waits for chunks dispatched before it (its
 * predecessors in its file, the first occurrence of its content), which never wait for a
 * permit: no deadlock. No task blocks on another task, so CPU and I/O may share one pool.
 *
 * <p>Each distinct chunk is fetched once: a later occurrence waits until the first one is
 * written, reads it back from that temporary and checks its hash again. Small files packed
 * into one chunk are written from that chunk, fetched once ({@link PackRuns}).
 */
final class RestoreRun {
    private final ObjectStore store;
    private final Manifest manifest;
    private final Path root;
    private final List<Path> localDirs;
    private final TargetDirectory dir;
    private final TransferListener listener;
    private final Executor cpu;
    private final Executor io;
    private final Semaphore permits;
    private final long total;

    private final AtomicLong done = new AtomicLong();
    private final AtomicInteger downloaded = new AtomicInteger();
    private final AtomicInteger reused = new AtomicInteger();
    /** Tasks submitted and not yet finished: after a failure, cleanup waits for none. */
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger filesDone = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Object signal = new Object();
    private final Set<FileChannel> open = ConcurrentHashMap.newKeySet();
    private final List<Path> temps = new ArrayList<>();
    /** The temporaries whose create succeeded (a packed file's is named in {@link #temps} before its create). */
    private final java.util.Set<Path> createdTemps = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Temporaries closed without an fsync of their own (small files): flushed together by {@link #flushSmall}. */
    private final Queue<Path> unflushed = new ConcurrentLinkedQueue<>();
    private final FilesystemSync filesystemSync;
    private final PackRuns packs;
    /** See repeatedChunks. */
    private final Set<String> repeated;
    /**
     * Buffers for GETs, read-backs and chunks that wait for their file's hash, of the largest raw or
     * stored chunk length, for a large chunk ({@link ChunkBuffers#takeFor}). They are at most
     * as many as chunks in flight, so memory stays within the bound above.
     */
    private final ChunkBuffers buffers;

    RestoreRun(ObjectStore store, Manifest manifest, Path root, List<Path> reuse, TargetDirectory dir,
               TransferListener listener, Executor cpu, Executor io, int permits, FilesystemSync filesystemSync) {
        this.store = store;
        this.manifest = manifest;
        this.root = root;
        List<Path> dirs = new ArrayList<>();
        dirs.add(root);
        dirs.addAll(reuse);
        this.localDirs = List.copyOf(dirs);
        this.dir = dir;
        this.listener = listener;
        this.cpu = cpu;
        this.io = io;
        this.permits = new Semaphore(Math.max(2, permits)); // a pack's run and one of its files hold one each
        this.total = manifest.logicalBytes();
        this.filesystemSync = filesystemSync;
        this.repeated = repeatedChunks(manifest.files());
        this.buffers = new ChunkBuffers(manifest.files().stream().flatMap(f -> f.chunks().stream())
                .mapToInt(c -> Math.max(c.rawLength(), c.storedLength())).max().orElse(0));
        this.packs = new PackRuns(store, manifest.files(), new PackRuns.Stages() {
            @Override
            public void io(PackRuns.Step step) {
                submit(RestoreRun.this.io, step::run);
            }

            @Override
            public void cpu(PackRuns.Step step) {
                submit(RestoreRun.this.cpu, step::run);
            }

            @Override
            public boolean acquire() {
                return RestoreRun.this.acquire();
            }

            @Override
            public void release() {
                RestoreRun.this.permits.release();
            }

            @Override
            public void downloaded() {
                downloaded.incrementAndGet();
            }

            @Override
            public RuntimeException located(RuntimeException e, ChunkRef pack) {
                List<String> names = manifest.files().stream().filter(f -> f.packed()
                        && f.chunks().get(0).hash().equals(pack.hash())).map(FileEntry::path).toList();
                // quoted: names holding ", " or a space at an end read as other names (helper-142)
                String shown = String.join(", ", names.subList(0, Math.min(3, names.size())).stream()
                        .map(n -> "'" + n + "'").toList())
                        + (names.size() > 3 ? " and " + (names.size() - 3) + " more" : "");
                return ChunkProblems.located(e, "the pack of small files " + shown + " of checkpoint " + manifest.id(),
                        root, store);
            }
        });
    }

    /** The temporaries, in the manifest's file order (once the run is done, every one created). */
    List<Path> temps() {
        return temps;
    }

    /**
     * The temporaries this run created, for the cleanup after a failure: only these are its to
     * delete (a name it chose but whose create failed may be another process's file).
     */
    java.util.Collection<Path> createdTemps() {
        return createdTemps;
    }

    int downloaded() {
        return downloaded.get();
    }

    int reused() {
        return reused.get();
    }

    /** Where the first occurrence of a chunk's content is written, and when it is (true: all zeros, left as a hole). */
    private record Source(FileState file, long offset, CompletableFuture<Boolean> written) {
    }

    /**
     * One occurrence of a chunk: the {@code index}-th chunk of {@code file}, at {@code offset};
     * {@code written} completes when a first occurrence is written, true if its bytes are all zeros
     * (null for a later one).
     */
    private record Piece(FileState file, int index, long offset, ChunkRef ref, CompletableFuture<Boolean> written) {
    }

    /**
     * Files smaller than this (bytes) get no fsync of their own: they are flushed together
     * after the last one is written ({@link #flushSmall}). An fsync of a small file costs
     * mostly its inode's synchronous write, which one syncfs shares among many; a larger
     * file's fsync is mostly its data, and runs while other files download.
     */
    static final long FLUSH_EACH_MIN_BYTES = 1 << 20;

    /**
     * Writes every file into a new temporary beside its destination ({@code finals}, in the
     * manifest's order) and returns when all are verified, flushed and closed.
     *
     * @throws RuntimeException the first failure of any stage, as it was thrown
     */
    void run(List<Path> finals) {
        Map<String, Source> firsts = new HashMap<>();
        List<FileEntry> files = manifest.files();
        dispatch:
        for (int i = 0; i < files.size(); i++) {
            FileEntry f = files.get(i);
            packs.before(f); // a pack's run ends before a member of another pack takes a permit
            if (f.packed()) {
                // no permit of its own: its pack's run holds one for the pack and its members' temporaries,
                // created when the pack is in, so many packs are fetched at once (not one per permits/members)
                Path tmp = finals.get(i).resolveSibling(TempNames.next(".tmp"));
                temps.add(tmp);
                if (!packs.add(f.chunks().get(0), (pack, from, length, closed) -> writeMember(f, tmp, pack, from, length,
                        closed))) {
                    break;
                }
                continue;
            }
            if (!acquire()) {
                break;
            }
            Path tmp = finals.get(i).resolveSibling(TempNames.next(".tmp"));
            FileChannel ch;
            try {
                ch = dir.createTemp(tmp, f.mode()); // relative to the verified directory, never through a link
            } catch (IOException e) {
                permits.release();
                throw TargetDirectory.cannot("create a temporary file in " + tmp.getParent() + " for " + f.path(), root, e);
            }
            temps.add(tmp);
            createdTemps.add(tmp);
            open.add(ch);
            FileState file = new FileState(f, tmp, ch, permits::release);
            if (f.chunks().isEmpty()) {
                file.finish();
                continue;
            }
            long offset = 0;
            for (int k = 0; k < f.chunks().size(); k++) {
                if (k > 0 && !acquire()) {
                    break dispatch;
                }
                ChunkRef c = f.chunks().get(k);
                long at = offset;
                offset += c.rawLength();
                Source first = firsts.get(c.hash());
                if (first == null) {
                    Piece p = new Piece(file, k, at, c, new CompletableFuture<>());
                    firsts.put(c.hash(), new Source(file, at, p.written()));
                    submit(io, () -> fetch(p, 0));
                } else {
                    // the first occurrence was dispatched earlier and waits for nothing dispatched after it
                    Piece p = new Piece(file, k, at, c, null);
                    first.written().thenAccept(zeros -> {
                        try {
                            if (zeros) { // its content was checked as zeros: nothing to read back, it is a hole here too
                                submit(cpu, () -> {
                                    reused.incrementAndGet();
                                    write(p, new byte[p.ref().rawLength()], 0, p.ref().rawLength(), true);
                                });
                            } else {
                                submit(io, () -> readBack(p, first));
                            }
                        } catch (Throwable t) { // no memory for the task: thrown here it would be lost, and the run wait
                            fail(t);
                        }
                    });
                }
            }
        }
        packs.end();
        await(filesDone, files.size());
        flushSmall();
    }

    /**
     * Makes the temporaries closed without their own fsync durable: one syncfs per
     * filesystem, or where that cannot be done an fsync each, many at once on the I/O
     * executor. Returns when all are flushed; throws the first failure.
     */
    private void flushSmall() {
        if (unflushed.isEmpty()) {
            return;
        }
        Set<Path> dirs = new LinkedHashSet<>();
        for (Path t : unflushed) {
            dirs.add(t.getParent());
        }
        if (filesystemSync.sync(dirs)) {
            return;
        }
        List<Path> each = List.copyOf(unflushed);
        AtomicInteger flushed = new AtomicInteger();
        for (Path t : each) {
            submit(io, () -> {
                try (SeekableByteChannel ch = dir.openRead(t)) {
                    if (ch instanceof FileChannel fc) {
                        fc.force(true);
                    }
                } catch (IOException e) {
                    throw TargetDirectory.cannot("flush " + t.getFileName() + " to disk in " + t.getParent(), root, e);
                }
                if (flushed.incrementAndGet() == each.size()) {
                    wake();
                }
            });
        }
        await(flushed, each.size());
    }

    /**
     * The chunks that occur more than once in the files not packed: their first occurrence is
     * hash-checked when downloaded, so a later one read back and found different means the
     * disk changed it, not that the download was bad.
     */
    private static Set<String> repeatedChunks(List<FileEntry> files) {
        Set<String> seen = new HashSet<>();
        Set<String> repeated = new HashSet<>();
        for (FileEntry f : files) {
            if (!f.packed()) {
                for (ChunkRef c : f.chunks()) {
                    if (!seen.add(c.hash())) {
                        repeated.add(c.hash());
                    }
                }
            }
        }
        return repeated;
    }

    /** Takes a permit; false when a stage failed meanwhile (no more work is dispatched then). */
    private boolean acquire() {
        if (failure.get() != null) {
            return false;
        }
        Tasks.acquire(permits, "restore");
        return failure.get() == null;
    }

    /**
     * Waits until {@code count} reaches {@code n} or a stage failed; on a failure waits until
     * no task runs, then rethrows it.
     */
    private void await(AtomicInteger count, int n) {
        synchronized (signal) {
            while (count.get() < n && failure.get() == null) {
                try {
                    signal.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StoreUnavailableException("restore interrupted", e);
                }
            }
        }
        Throwable t = failure.get();
        if (t != null) {
            abort();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    /**
     * Stops the run (if it still runs): no new work starts, this returns once no task
     * runs any more, and every temporary still open is closed. Nothing is written after.
     */
    void abort() {
        fail(new StoreUnavailableException("restore abandoned"));
        boolean interrupted = false;
        synchronized (signal) {
            while (active.get() > 0) {
                try {
                    signal.wait();
                } catch (InterruptedException e) {
                    interrupted = true; // cleanup must not race a running write
                }
            }
        }
        for (FileChannel ch : open) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to do; the temporary is deleted next
            }
        }
        open.clear();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Records the first failure; later ones (often consequences) are dropped. */
    private void fail(Throwable t) {
        if (failure.compareAndSet(null, t)) {
            permits.release(Integer.MAX_VALUE / 2); // a dispatcher waiting for a permit wakes and stops
        }
        wake();
    }

    private void wake() {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    /** Runs {@code step} on {@code on} unless the run failed; a failure of the step fails the run. */
    private void submit(Executor on, Step step) {
        active.incrementAndGet();
        try {
            on.execute(() -> {
                try {
                    if (failure.get() == null) {
                        step.run();
                    }
                } catch (Throwable t) {
                    fail(t);
                } finally {
                    if (active.decrementAndGet() == 0) {
                        wake();
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            active.decrementAndGet();
            fail(new StoreUnavailableException("restore stopped: the store was closed", e));
        } catch (Throwable t) { // no memory to queue the task: the run fails, and abort() does not wait for it
            active.decrementAndGet();
            fail(t);
        }
    }

    // ---- stages of a first occurrence: local copy or GET (I/O), check or decode (CPU), write

    /** I/O: the chunk from the first local copy at or after {@code from} that holds enough bytes, else a GET. */
    private void fetch(Piece p, int from) {
        for (int i = from; i < localDirs.size(); i++) {
            byte[] local = readLocal(localDirs.get(i), p);
            if (local != null) {
                int tried = i;
                submit(cpu, () -> {
                    if (Hashes.sha256Hex(local).equals(p.ref().hash())) {
                        reused.incrementAndGet();
                        write(p, local, 0, local.length, true);
                    } else {
                        submit(io, () -> fetch(p, tried + 1));
                    }
                });
                return;
            }
        }
        ChunkRef c = p.ref();
        byte[] buffer = buffers.takeFor(c.storedLength());
        StoredBytes stored;
        try {
            stored = ChunkProblems.getInto(store, c, buffer); // failed: the buffer is dropped (ObjectStore.getInto)
        } catch (NotFoundException | CorruptObjectException e) { // missing, or far longer than recorded (not read)
            throw ChunkProblems.located(e, p.file().where(), root, store);
        }
        submit(cpu, () -> {
            try {
                // this thread's buffer, used before its next decode (a raw chunk: stored's array). The chunk's SHA-256
                // is not checked here: its file's SHA-256 covers every byte of it, and a file that fails is searched
                // for its corrupt chunk (finish()). A chunk that repeats is: its later occurrences copy it, and their
                // check must mean the disk.
                ChunkCodec.Decoded d;
                try {
                    d = repeated.contains(c.hash()) ? ChunkCodec.decodeReusing(c, stored.array(), stored.length())
                            : ChunkCodec.decodeReusingUnhashed(c, stored.array(), stored.length());
                } catch (CorruptObjectException e) {
                    throw ChunkProblems.located(e, p.file().where(), root, store);
                }
                downloaded.incrementAndGet();
                write(p, d.buffer(), 0, d.length(), false);
            } finally {
                buffers.give(buffer); // write() copied what it keeps; a store that read into a new array left it unused
            }
        });
    }

    /**
     * CPU: a packed file, from its pack's verified bytes: creates its temporary, writes and
     * hashes its slice; {@code closed} runs once the file is flushed and closed.
     */
    private void writeMember(FileEntry f, Path tmp, byte[] pack, int from, int length, Runnable closed) {
        FileChannel ch;
        try {
            ch = dir.createTemp(tmp, f.mode()); // relative to the verified directory, never through a link
        } catch (IOException e) {
            throw TargetDirectory.cannot("create a temporary file in " + tmp.getParent() + " for " + f.path(), root, e);
        }
        createdTemps.add(tmp);
        open.add(ch);
        FileState file = new FileState(f, tmp, ch, closed);
        write(new Piece(file, 0, 0, f.chunks().get(0), null), pack, from, length, false);
    }

    /** The bytes at the piece's place in the same file below {@code dir}, unchecked; null when there are none. */
    private static byte[] readLocal(Path dir, Piece p) {
        Path path = dir.resolve(p.file().entry.path());
        int length = p.ref().rawLength();
        try {
            if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || Files.size(path) < p.offset() + length) {
                return null;
            }
            try (FileChannel ch = NonFiles.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buf = ByteBuffer.allocate(length);
                LocalFiles.readFully(ch, buf, p.offset());
                return buf.hasRemaining() ? null : buf.array();
            }
        } catch (IOException e) {
            return null; // not usable: downloaded instead
        }
    }

    // ---- a later occurrence: read back from the first one's temporary (I/O), check (CPU), write

    private void readBack(Piece p, Source from) throws IOException {
        int length = p.ref().rawLength();
        ByteBuffer buf = ByteBuffer.wrap(buffers.takeFor(length), 0, length);
        try (SeekableByteChannel ch = dir.openRead(from.file().tmp)) {
            ch.position(from.offset());
            LocalFiles.readFully(ch, buf);
        } catch (IOException e) {
            throw TargetDirectory.cannot("read back " + from.file().entry.path() + " of checkpoint " + manifest.id()
                    + " from " + from.file().tmp.getParent(), root, e);
        }
        // A chunk of zeros is never read back (see run()); a read short of the range leaves zeros in the rest (not
        // a reused buffer's earlier bytes), and the hash check below refuses it.
        byte[] bytes = buf.array();
        Arrays.fill(bytes, buf.position(), length, (byte) 0);
        submit(cpu, () -> {
            try {
                readBackChecked(p, from, bytes, length);
            } finally {
                buffers.give(bytes);
            }
        });
    }

    /** CPU: a read-back's {@code length} bytes of {@code bytes}, checked against their chunk's hash, written. */
    private void readBackChecked(Piece p, Source from, byte[] bytes, int length) {
        if (!Hashes.sha256Hex(bytes, 0, length).equals(p.ref().hash())) {
            throw new InvalidInputException("cannot restore checkpoint " + manifest.id() + " into " + root
                    + ": chunk " + p.ref().hash() + " of " + from.file().entry.path() + ", read back from its"
                    + " temporary file in " + from.file().tmp.getParent() + " to write " + p.file().entry.path()
                    + ", is not what was written there (a failing disk, or something else writing into "
                    + root + "?); nothing was written, check the disk and restore again");
        }
        reused.incrementAndGet();
        write(p, bytes, 0, length, false);
    }

    /**
     * CPU: writes verified chunk bytes ({@code length} bytes of {@code bytes} from {@code from}:
     * a pack's slice, or a whole chunk from 0) at their offset, releases the chunk's later
     * occurrences, and feeds the file's in-order hash. {@code owned}: the array is this
     * chunk's alone (not a thread's reused decode buffer, nor a pack), so it may wait without a copy.
     */
    private void write(Piece p, byte[] bytes, int from, int length, boolean owned) {
        FileState file = p.file();
        ByteBuffer buf = ByteBuffer.wrap(bytes, from, length);
        boolean zeros;
        try {
            // A temporary is new, so a range never written reads as zeros: a chunk of zeros is left as a
            // hole (no write, no disk space, as cp --sparse makes); finish() gives the file its full length.
            zeros = isZero(bytes, from, length);
            if (!zeros) {
                LocalFiles.writeFully(file.channel, buf, p.offset());
            }
        } catch (IOException e) {
            throw TargetDirectory.cannot("write " + file.entry.path() + " of checkpoint " + manifest.id() + " into "
                    + file.tmp.getParent(), root, e, manifest.logicalBytes(), dir.freeAtStart());
        }
        if (p.written() != null) {
            p.written().complete(zeros); // later occurrences may read it back now
        }
        listener.progress(done.addAndGet(length), total);
        file.written(p, bytes, from, length, owned);
    }

    /** Zeros to compare against, a block at a time (Arrays.mismatch is vectorized: far faster than the write it saves). */
    private static final byte[] ZEROS = new byte[64 << 10];

    /** Whether {@code length} bytes of {@code b} from {@code from} are all zero; at most one block's look for other data. */
    static boolean isZero(byte[] b, int from, int length) {
        for (int i = from, end = from + length; i < end; i += ZEROS.length) {
            int n = Math.min(ZEROS.length, end - i);
            if (Arrays.mismatch(b, i, i + n, ZEROS, 0, n) >= 0) {
                return false;
            }
        }
        return true;
    }

    /** A chunk's bytes that wait for its file's hash: the first {@code length} of {@code array}. */
    private record Held(byte[] array, int length) {
    }

    /** A copy of {@code length} bytes of {@code bytes} from {@code from}, in a reused buffer for a chunk-sized one. */
    private Held copy(byte[] bytes, int from, int length) {
        byte[] b = buffers.takeFor(length);
        System.arraycopy(bytes, from, b, 0, length);
        return new Held(b, length);
    }

    /** A file being written: its temporary, and the SHA-256 of its chunks so far, in order. */
    private final class FileState {
        final FileEntry entry;
        final Path tmp;
        final FileChannel channel;
        private final MessageDigest digest = Hashes.sha256();
        /** Guarded by this: the next chunk to hash, chunks written ahead of it, and whether a thread hashes. */
        private int next;
        private final TreeMap<Integer, Held> waiting = new TreeMap<>();
        private boolean hashing;

        /** Runs once the file is flushed and closed: gives back its permit (or its pack's hold). */
        private final Runnable closed;

        FileState(FileEntry entry, Path tmp, FileChannel channel, Runnable closed) {
            this.entry = entry;
            this.tmp = tmp;
            this.channel = channel;
            this.closed = closed;
        }

        /** A chunk is written: hash it now if it is next (then the ones that waited for it), else let it wait. */
        void written(Piece p, byte[] bytes, int from, int length, boolean owned) {
            synchronized (this) {
                if (p.index() != next || hashing) {
                    waiting.put(p.index(), owned && from == 0 ? new Held(bytes, length) : copy(bytes, from, length));
                    return;
                }
                hashing = true;
            }
            byte[] b = bytes;
            int off = from;
            int len = length;
            boolean held = false;
            while (true) {
                digest.update(b, off, len);
                if (held) {
                    buffers.give(b);
                }
                int hashed;
                synchronized (this) {
                    hashed = next++;
                }
                if (hashed == entry.chunks().size() - 1) {
                    finish(); // keeps the last chunk's permit until the file is flushed and closed
                    return;
                }
                permits.release();
                synchronized (this) {
                    Held h = waiting.remove(next);
                    if (h == null) {
                        hashing = false;
                        return;
                    }
                    b = h.array();
                    off = 0;
                    len = h.length();
                    held = true;
                }
            }
        }

        /**
         * The error after the file's SHA-256 ({@code actual}) failed: the first of its chunks
         * whose bytes, read back from the temporary, do not hash to the chunk's name (chunks
         * downloaded for a file are not hashed one by one, see fetch()); when every chunk
         * matches, the manifest's file hash itself is wrong, and the error says so. A pack's
         * member is not searched: its pack was checked.
         */
        private RuntimeException corruptChunk(String actual) {
            String wrong = where() + " restored with SHA-256 " + actual + " but its manifest records " + entry.sha256();
            String kept = "; nothing was written, " + root + " is as it was";
            if (!entry.packed()) { // a pack's member: its pack was checked
                long offset = 0;
                for (ChunkRef c : entry.chunks()) {
                    ByteBuffer buf = ByteBuffer.allocate(c.rawLength());
                    try {
                        LocalFiles.readFully(channel, buf, offset); // a hole reads as zeros
                    } catch (IOException e) {
                        CorruptObjectException x = new CorruptObjectException(manifest.key(), wrong + ", and reading it"
                                + " back to find the corrupt chunk failed (" + e.getMessage() + ")");
                        x.addNote(kept + "; check the disk of " + root + ", then run ckpt-tool verify --read-data "
                                + dev.ckpt.store.util.ShellWords.word(store.describe()) + " and restore again");
                        return x;
                    }
                    String hash = Hashes.sha256Hex(buf.array());
                    if (!hash.equals(c.hash())) {
                        return ChunkProblems.located(ChunkCodec.hashMismatch(c, hash), where(), root, store);
                    }
                    offset += c.rawLength();
                }
            }
            CorruptObjectException x = new CorruptObjectException(manifest.key(), wrong + ", and every chunk of it matches"
                    + " its own hash: the file hash in the manifest is wrong (a faulty writer, or an edited manifest)");
            x.addNote(kept + "; restore an earlier checkpoint"); // a note: see ChunkProblems.located
            return x;
        }

        /** The file and its checkpoint, for messages. */
        String where() {
            return "file " + dev.ckpt.store.util.Printable.of(entry.path()) + " of checkpoint " + manifest.id();
        }

        /**
         * Every chunk hashed: checks the file's SHA-256, then flushes and closes it on the I/O
         * executor; a small one (see {@link #FLUSH_EACH_MIN_BYTES}) is closed here, on this
         * thread, as a handoff per file cost more than its close.
         */
        void finish() {
            String actual = Hashes.hex(digest.digest());
            if (!actual.equals(entry.sha256())) {
                throw corruptChunk(actual);
            }
            if (entry.size() < FLUSH_EACH_MIN_BYTES) {
                close(false);
            } else {
                submit(io, () -> close(true));
            }
        }

        /** Gives the file its full length, flushes it ({@code flush}) or leaves that to flushSmall, and closes it. */
        private void close(boolean flush) {
            try {
                if (channel.size() < entry.size()) { // it ends in a hole (chunks of zeros were not written)
                    channel.write(ByteBuffer.allocate(1), entry.size() - 1);
                }
                if (flush) {
                    channel.force(true);
                } else {
                    unflushed.add(tmp);
                }
                channel.close();
            } catch (IOException e) {
                throw TargetDirectory.cannot("write " + entry.path() + " of checkpoint " + manifest.id() + " into "
                        + tmp.getParent(), root, e, manifest.logicalBytes(), dir.freeAtStart());
            }
            open.remove(channel);
            closed.run();
            if (filesDone.incrementAndGet() == manifest.files().size()) {
                wake(); // the dispatcher waits for the last one only
            }
        }
    }
}

package dev.ckpt.store.restore;

import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.util.Tasks;
import dev.ckpt.store.util.TransferListener;
import dev.ckpt.store.chunk.ChunkCodec;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.InvalidInputException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.objectstore.ObjectStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Restores a checkpoint into a directory. Every destination is checked before anything is
 * written (a directory or file in the way, an unwritable directory). Chunks are downloaded
 * in parallel with a fixed number in flight, each decoded chunk's SHA-256 is checked, then
 * each whole file's. Every file is written under a short temporary name; only when all
 * files of the checkpoint verified are they renamed into place, and if one rename fails
 * the ones before it are undone (see {@link TargetDirectory}), so a failed restore leaves
 * the target as it was, and nothing is ever written outside the target: a symbolic link on
 * a checkpoint file's path below the target is refused, and the writes go through directory
 * handles that do not follow links (see {@link TargetDirectory}). A chunk
 * whose bytes are already at the same place in an existing local copy (the target or a
 * given reuse directory) is read from there instead of downloaded, after its hash matches.
 */
public final class Restorer {
    private final ObjectStore store;
    private final ManifestLoader manifests;
    private final StoreConfig config;
    private final ExecutorService cpu;
    private final ExecutorService io;
    private final TargetDirectory.Mover mover;

    public Restorer(ObjectStore store, ManifestLoader manifests, StoreConfig config, ExecutorService cpu, ExecutorService io) {
        this(store, manifests, config, cpu, io, TargetDirectory.Mover.ATOMIC);
    }

    /** With the rename of the publish phase replaced: tests make it fail half-way. */
    Restorer(ObjectStore store, ManifestLoader manifests, StoreConfig config, ExecutorService cpu, ExecutorService io,
             TargetDirectory.Mover mover) {
        this.store = store;
        this.manifests = manifests;
        this.config = config;
        this.cpu = cpu;
        this.io = io;
        this.mover = mover;
    }

    /**
     * Restores the newest checkpoint among {@code newestFirst} that verifies; each one
     * that fails verification is reported in {@link RestoreResult#fallbacks()}.
     */
    public RestoreResult restoreFirstGood(List<CheckpointEntry> newestFirst, Path target, List<Path> reuse) {
        List<String> fallbacks = new ArrayList<>();
        CkptException last = null;
        for (CheckpointEntry e : newestFirst) {
            try {
                return restore(e, target, reuse).withFallbacks(fallbacks);
            } catch (CorruptObjectException | NotFoundException ex) {
                fallbacks.add("checkpoint " + e.id() + " (step " + e.step() + ") failed verification: " + ex.getMessage());
                last = ex;
            }
        }
        if (last == null) {
            throw new NotFoundException("", "no checkpoint to restore");
        }
        throw new CorruptObjectException("", "no checkpoint could be restored; every candidate failed verification: "
                + String.join(" | ", fallbacks), last);
    }

    public RestoreResult restore(CheckpointEntry entry, Path target, List<Path> reuse) {
        return restore(entry, target, reuse, TransferListener.NONE);
    }

    /** Restores and reports the bytes written so far to {@code listener}. */
    public RestoreResult restore(CheckpointEntry entry, Path target, List<Path> reuse, TransferListener listener) {
        long t0 = System.nanoTime();
        Manifest m = manifests.load(entry);
        long total = m.logicalBytes();
        AtomicLong done = new AtomicLong();
        listener.progress(0, total);
        Path root = target.toAbsolutePath().normalize();
        List<Path> finals = new ArrayList<>();
        for (FileEntry f : m.files()) {
            Path dest;
            try {
                dest = root.resolve(f.path()).normalize();
            } catch (InvalidPathException e) {
                // a name this JVM cannot encode: its file-name charset comes from the locale at start
                // (sun.jnu.encoding), ASCII under LANG=C, while manifests hold names in UTF-8
                throw new InvalidInputException("checkpoint " + m.id() + " holds file '" + f.path() + "', whose name this"
                        + " JVM cannot write: " + LocalFiles.encodingHint() + "; nothing was written", e);
            }
            if (!dest.startsWith(root) || dest.equals(root)) {
                throw new CorruptObjectException(m.key(), "manifest " + m.key() + " names file '" + f.path()
                        + "' outside the restore directory; refused, nothing written");
            }
            finals.add(dest);
        }
        TargetDirectory dir = new TargetDirectory(root, m, mover);
        dir.check(finals); // every destination, before anything is written
        List<Path> temps = new ArrayList<>();
        Semaphore inFlight = new Semaphore(config.maxChunksInFlight());
        AtomicInteger downloaded = new AtomicInteger();
        AtomicInteger reused = new AtomicInteger();
        List<Future<?>> futures = new ArrayList<>();
        List<FileChannel> channels = new ArrayList<>();
        boolean ok = false;
        try {
            dir.createDirectories(finals);
            for (int i = 0; i < m.files().size(); i++) {
                FileEntry f = m.files().get(i);
                Path dest = finals.get(i);
                Path tmp = dest.resolveSibling(LocalFiles.tempName(".tmp"));
                FileChannel ch;
                try {
                    ch = dir.createTemp(tmp); // relative to the verified directory, never through a link
                } catch (IOException e) {
                    throw TargetDirectory.cannot("create a temporary file in " + tmp.getParent() + " for " + f.path(), root, e);
                }
                temps.add(tmp);
                channels.add(ch);
                long offset = 0;
                for (ChunkRef c : f.chunks()) {
                    long at = offset;
                    offset += c.rawLength();
                    Tasks.acquire(inFlight, "restore");
                    futures.add(io.submit(() -> {
                        try {
                            byte[] raw = localCopy(f.path(), at, c, root, reuse);
                            int length;
                            if (raw != null) {
                                length = raw.length;
                                reused.incrementAndGet();
                            } else {
                                ChunkCodec.Decoded d = fetch(c); // this thread's buffer: written before the next fetch
                                raw = d.buffer();
                                length = d.length();
                                downloaded.incrementAndGet();
                            }
                            ByteBuffer buf = ByteBuffer.wrap(raw, 0, length);
                            try {
                                while (buf.hasRemaining()) {
                                    ch.write(buf, at + buf.position());
                                }
                            } catch (IOException e) {
                                throw TargetDirectory.cannot("write " + f.path() + " of checkpoint " + m.id() + " into "
                                        + tmp.getParent(), root, e);
                            }
                            listener.progress(done.addAndGet(length), total);
                            return null;
                        } finally {
                            inFlight.release();
                        }
                    }));
                }
            }
            for (Future<?> fu : futures) {
                Tasks.await(fu, "restore");
            }
            for (int i = 0; i < m.files().size(); i++) {
                FileEntry f = m.files().get(i);
                FileChannel ch = channels.get(i);
                String actual;
                try {
                    ch.force(true);
                    actual = sha256(ch, f.size());
                } catch (IOException e) {
                    throw TargetDirectory.cannot("write " + f.path() + " of checkpoint " + m.id() + " into "
                            + temps.get(i).getParent(), root, e);
                }
                if (!actual.equals(f.sha256())) {
                    throw new CorruptObjectException(m.key(), "file " + f.path() + " of checkpoint " + m.id()
                            + " restored with SHA-256 " + actual + " but the manifest says " + f.sha256()
                            + "; nothing was written");
                }
            }
            closeAll(channels);
            for (int i = 0; i < temps.size(); i++) {
                setMode(dir, temps.get(i), m.files().get(i).mode());
            }
            dir.publish(temps, finals); // all or nothing: rolls back what it renamed if one fails
            ok = true;
        } finally {
            if (!ok) {
                futures.forEach(fu -> fu.cancel(true));
                for (Future<?> fu : futures) {
                    try {
                        fu.get();
                    } catch (Exception ignored) {
                        // already failed or cancelled; wait so no task writes after cleanup
                    }
                }
                closeAll(channels);
                for (Path t : temps) {
                    try {
                        dir.delete(t);
                    } catch (IOException | RuntimeException ignored) {
                        // best effort: a leftover temporary never has a checkpoint file's name
                    }
                }
                dir.removeCreatedDirectories();
            }
            dir.close();
        }
        long bytes = m.logicalBytes();
        return new RestoreResult(m.id(), m.run(), m.step(), m.files().size(), bytes, downloaded.get(), reused.get(),
                List.of(), Duration.ofNanos(System.nanoTime() - t0));
    }

    private ChunkCodec.Decoded fetch(ChunkRef c) {
        byte[] stored;
        try {
            stored = store.get(c.key()).data();
        } catch (NotFoundException e) {
            throw new NotFoundException(c.key(), "chunk " + c.key() + " is missing from " + store.describe());
        }
        return ChunkCodec.decodeReusing(c, stored);
    }

    private static byte[] localCopy(String rel, long offset, ChunkRef c, Path root, List<Path> reuse) {
        List<Path> dirs = new ArrayList<>();
        dirs.add(root);
        dirs.addAll(reuse);
        for (Path dir : dirs) {
            Path p = dir.resolve(rel);
            try {
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || Files.size(p) < offset + c.rawLength()) {
                    continue;
                }
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                    ByteBuffer buf = ByteBuffer.allocate(c.rawLength());
                    while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) > 0) {
                        // read fully
                    }
                    if (!buf.hasRemaining() && Hashes.sha256Hex(buf.array()).equals(c.hash())) {
                        return buf.array();
                    }
                }
            } catch (IOException ignored) {
                // not usable: download instead
            }
        }
        return null;
    }

    private static String sha256(FileChannel ch, long size) throws IOException {
        MessageDigest md = Hashes.sha256();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        long pos = 0;
        while (pos < size) {
            buf.clear();
            int n = ch.read(buf, pos);
            if (n <= 0) {
                break;
            }
            buf.flip();
            md.update(buf);
            pos += n;
        }
        if (ch.size() != size) {
            return "size-" + ch.size();
        }
        return Hashes.hex(md.digest());
    }

    private static void setMode(TargetDirectory dir, Path p, int mode) {
        if (mode == 0) {
            return;
        }
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission perm : PosixFilePermission.values()) {
            if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
                perms.add(perm);
            }
        }
        dir.setPermissions(p, perms);
    }

    private static void closeAll(List<FileChannel> channels) {
        for (FileChannel c : channels) {
            try {
                c.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }
}

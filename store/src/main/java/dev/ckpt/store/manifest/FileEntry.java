package dev.ckpt.store.manifest;

import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Hashes;

import java.util.List;

/** One file of a checkpoint: relative path, size, POSIX mode, SHA-256 and ordered chunks. */
public record FileEntry(String path, long size, int mode, String sha256, List<ChunkRef> chunks) {
    public FileEntry {
        SafePaths.check(path);
        if (!Hashes.isSha256Hex(sha256)) {
            throw new IllegalArgumentException("file " + path + ": sha256 must be 64 lower-case hex digits");
        }
        chunks = List.copyOf(chunks);
        long sum = 0;
        for (ChunkRef c : chunks) {
            sum += c.rawLength();
        }
        if (sum != size) {
            throw new IllegalArgumentException("file " + path + ": chunks add up to " + sum + " bytes but size is " + size);
        }
    }
}

package dev.ckpt.trainer;

import dev.ckpt.store.manifest.FileEntry;
import dev.ckpt.store.manifest.Manifest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Whether a staged copy ({@code <staging>/<run>/step-N}) holds exactly the files of a
 * committed checkpoint: the same relative paths, sizes and SHA-256 as its manifest, and
 * nothing else (no other file, no link). A resume then takes it as it is instead of restoring
 * a second copy beside it, which needed room for the checkpoint twice on the staging disk (a
 * break test's case: a disk that held the staged checkpoints could not hold the resume's
 * restore as well). Every file is read once, and its SHA-256 is the one the manifest records,
 * which the save computed over the bytes it uploaded: the bytes loaded are the committed ones.
 */
final class StagedCopy {
    private StagedCopy() {
    }

    /**
     * Empty when {@code dir} holds exactly {@code manifest}'s files; else why not, in words
     * ("file model.safetensors: SHA-256 differs"). A manifest of several ranks' parts is never
     * matched here (each rank stages its part only).
     *
     * @throws IOException when {@code dir} cannot be read
     */
    static Optional<String> mismatch(Manifest manifest, Path dir) throws IOException {
        if (manifest.parts() != null && !manifest.parts().isEmpty() || manifest.part() != null) {
            return Optional.of("it is a checkpoint of several ranks");
        }
        Map<String, FileEntry> wanted = new HashMap<>();
        for (FileEntry f : manifest.files()) {
            wanted.put(f.path(), f);
        }
        Set<String> seen = new HashSet<>();
        try (Stream<Path> walk = Files.walk(dir)) { // does not follow links: a link is reported below
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (p.equals(dir)) {
                    continue;
                }
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String rel = dir.relativize(p).toString().replace(java.io.File.separatorChar, '/');
                if (a.isDirectory()) {
                    continue;
                }
                if (!a.isRegularFile()) {
                    return Optional.of(rel + " is not a regular file");
                }
                FileEntry f = wanted.get(rel);
                if (f == null) {
                    return Optional.of("it holds " + rel + ", which the checkpoint does not");
                }
                if (a.size() != f.size()) {
                    return Optional.of("file " + rel + " has " + a.size() + " bytes, the checkpoint's " + f.size());
                }
                if (!sha256(p).equals(f.sha256())) {
                    return Optional.of("file " + rel + ": its SHA-256 differs from the checkpoint's");
                }
                seen.add(rel);
            }
        }
        for (String path : wanted.keySet()) {
            if (!seen.contains(path)) {
                return Optional.of("file " + path + " is missing");
            }
        }
        return Optional.empty();
    }

    private static String sha256(Path p) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}

package dev.ckpt.store.objectstore;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.BiFunction;

/**
 * A listing of a {@link LocalObjectStore}: walks the directories depth-first, reading one
 * directory at a time (its entries sorted with a directory's name followed by '/', so keys
 * come out in key order) and descending only into directories that can hold keys with the
 * prefix. Hidden names (temporaries, lock files) and anything not a regular file are
 * skipped; a file or directory deleted while the listing runs is simply not part of it.
 */
final class LocalListing implements Iterator<ObjectInfo> {
    /** A file (its object) or a directory (its key followed by '/', object null), sorted by that key. */
    private record Entry(String sortKey, ObjectInfo object) {
    }

    private final Path root;
    private final String prefix;
    /** The error for a directory that cannot be read: (its key or the prefix, the cause). */
    private final BiFunction<String, IOException, RuntimeException> failure;
    /** Per open directory, its remaining entries in key order. */
    private final Deque<Iterator<Entry>> stack = new ArrayDeque<>();
    private ObjectInfo next;

    LocalListing(Path root, String prefix, BiFunction<String, IOException, RuntimeException> failure) {
        this.root = root;
        this.prefix = prefix;
        this.failure = failure;
        stack.push(entries(""));
    }

    /** The sorted entries of the directory holding the keys that start with {@code dirKey} ("" or ending in '/'). */
    private Iterator<Entry> entries(String dirKey) {
        Path dir = dirKey.isEmpty() ? root : root.resolve(dirKey);
        List<Entry> entries = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (NoSuchFileException e) {
                    continue; // deleted while we listed: not part of the listing
                }
                String key = dirKey + name;
                if (a.isDirectory()) {
                    String sub = key + "/";
                    if (sub.startsWith(prefix) || prefix.startsWith(sub)) {
                        entries.add(new Entry(sub, null));
                    }
                } else if (a.isRegularFile() && key.startsWith(prefix) && Keys.isValid(key)) {
                    entries.add(new Entry(key, new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant(), null)));
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            return Collections.emptyIterator(); // deleted while we listed
        } catch (IOException e) {
            throw failure.apply(dirKey.isEmpty() ? prefix : dirKey, e);
        }
        entries.sort(java.util.Comparator.comparing(Entry::sortKey));
        return entries.iterator();
    }

    @Override
    public boolean hasNext() {
        while (next == null && !stack.isEmpty()) {
            Iterator<Entry> top = stack.peek();
            if (!top.hasNext()) {
                stack.pop();
            } else {
                Entry e = top.next();
                if (e.object() == null) {
                    stack.push(entries(e.sortKey()));
                } else {
                    next = e.object();
                }
            }
        }
        return next != null;
    }

    @Override
    public ObjectInfo next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        ObjectInfo o = next;
        next = null;
        return o;
    }
}

package dev.ckpt.store.util;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How a local path lies against a local store's directory, links resolved: a command that
 * writes into the one while reading or writing the other must not (a push of the store into
 * itself, a restore beside ROOT, an archive among the objects gc deletes, a trainer staging
 * its checkpoints inside the store it uploads them to).
 */
public enum Overlap {
    /** Neither holds the other. */
    NONE,
    /** The same directory. */
    SAME,
    /** The path is inside the store. */
    INSIDE,
    /** The path holds the store. */
    HOLDS;

    /** Where {@code path} lies against the store's directory {@code store}; either may not exist yet. */
    public static Overlap of(Path store, Path path) {
        return find(store, path).kind();
    }

    /**
     * How {@code path} lies against the store's directory {@code store}, and through which
     * second name when the names alone do not show it. A bind mount (or a directory mounted
     * twice) gives a directory a second name the paths' text cannot show: a restore into a
     * directory holding such a mount of the store wrote over its ROOT, and a push of one failed
     * with "ROOT changed while it was being saved" on every try (helper-122). Looked for by
     * identity (device and inode): {@code path} and its ancestors against the store's directory
     * and its subdirectories; the mount points below {@code path} ({@code /proc/self/mountinfo})
     * against the store's directory, its ancestors and its subdirectories.
     */
    public static Found find(Path store, Path path) {
        Path s = real(store);
        Path p = real(path);
        Overlap byName = p.equals(s) ? SAME : p.startsWith(s) ? INSIDE : s.startsWith(p) ? HOLDS : NONE;
        if (byName != NONE) {
            return new Found(byName, null, null);
        }
        // by the mount table: each path as the directory it is on its file system's main mount, so a second name at
        // any depth is seen (helper-124: a bind of the store's parent, or of chunks/8d, got past the identities below)
        List<Mount> mounts = mounts();
        Path cs = canonical(s, mounts);
        Mount on = mountOf(p, mounts);
        Path cp = canonical(p, mounts);
        Overlap viaMount = cp.equals(cs) ? SAME : cp.startsWith(cs) ? INSIDE : cs.startsWith(cp) ? HOLDS : NONE;
        if (viaMount != NONE && on != null) {
            // the second name is the path's (it lies on a bind), or else the store's (given through one)
            return cp.equals(p) ? new Found(viaMount, s, "the directory " + cs)
                    : new Found(viaMount, on.point(), as(canonical(on.point(), mounts), cs));
        }
        for (Mount m : mounts) {
            if (m.point().startsWith(p) && !m.point().equals(p)) {
                Path cm = canonical(m.point(), mounts);
                if (cs.startsWith(cm) || cm.startsWith(cs)) {
                    return new Found(HOLDS, m.point(), as(cm, cs));
                }
            }
        }
        // by identity, where the table did not tell (no /proc): the store's directory must exist
        Object storeKey = key(s);
        if (storeKey == null) {
            return new Found(NONE, null, null);
        }
        Set<Object> inside = new HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(s)) {
            for (Path c : ds) {
                if (Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS)) {
                    inside.add(key(c));
                }
            }
        } catch (IOException | RuntimeException e) {
            // unlistable: the store's own directory is still compared
        }
        inside.remove(null);
        for (Path a = p; a != null; a = a.getParent()) {
            Object k = key(a);
            if (k != null && (k.equals(storeKey) || inside.contains(k))) {
                return new Found(a.equals(p) && k.equals(storeKey) ? SAME : INSIDE, a, k.equals(storeKey)
                        ? "the store's directory" : "a directory of the store");
            }
        }
        Set<Object> holding = new HashSet<>();
        for (Path a = s.getParent(); a != null; a = a.getParent()) {
            holding.add(key(a));
        }
        holding.remove(null);
        for (Path m : mounts.stream().map(Mount::point).toList()) {
            if (m.startsWith(p) && !m.equals(p)) {
                Object k = key(m);
                if (k != null && (k.equals(storeKey) || inside.contains(k) || holding.contains(k))) {
                    return new Found(HOLDS, m, k.equals(storeKey) ? "the store's directory" : inside.contains(k)
                            ? "a directory of the store" : "a directory that holds the store");
                }
            }
        }
        return new Found(NONE, null, null);
    }

    /**
     * An {@link Overlap} and the directory through which it was found when the paths' text does
     * not show it (a mount point, or an ancestor of the path), else null; {@code as}: what that
     * directory is under its other name ("the store's directory").
     */
    public record Found(Overlap kind, Path through, String as) {
        /** {@link Overlap#says}, and where the second name is. */
        public String says(Path store) {
            String said = kind.says(store);
            return through == null || kind == NONE ? said : said + " (" + Printable.of(through.toString()) + " is " + as
                    + " under a second name:"
                    + " a bind mount, or the same file system mounted twice)";
        }
    }

    /** What a directory is to the store, both as their main mounts name them. */
    private static String as(Path dir, Path store) {
        return dir.equals(store) ? "the store's directory" : dir.startsWith(store) ? "a directory of the store"
                : "a directory that holds the store";
    }

    /**
     * One line of {@code /proc/self/mountinfo}: where it is mounted, the directory of its file
     * system that is the mount's root ({@code /} for a whole file system, a subdirectory for a
     * bind mount of it), and the file system's device ({@code major:minor}).
     */
    record Mount(Path point, Path root, String device) {
    }

    /** The mount {@code p} lies on: the one with the longest mount point that holds it; null if none is known. */
    private static Mount mountOf(Path p, List<Mount> mounts) {
        Mount on = null;
        for (Mount m : mounts) {
            if (p.startsWith(m.point()) && (on == null || m.point().getNameCount() >= on.point().getNameCount())) {
                on = m; // the later of two at one point is the one on top
            }
        }
        return on;
    }

    /**
     * {@code p} as the main mount of its file system names it: the mount of that device with the
     * shallowest root (the first listed of those), through which a bind mount's directories have
     * their first names. {@code p} itself where the table does not say.
     */
    static Path canonical(Path p, List<Mount> mounts) {
        Mount on = mountOf(p, mounts);
        if (on == null) {
            return p;
        }
        // of the mounts of that device whose root holds this mount's root, the shallowest (helper-125: the first of
        // all its mounts with the shallowest root, when the file system's own root was mounted nowhere, held another
        // subtree, and a bind of the store's parent was not seen); one still in view at its mount point, not one
        // another mount covers (helper-125: a covered mount named another file system's directories as the store's)
        Mount main = null;
        for (Mount m : mounts) {
            if (m.device().equals(on.device()) && on.root().startsWith(m.root()) && mountOf(m.point(), mounts) == m
                    && (main == null || m.root().getNameCount() < main.root().getNameCount())) {
                main = m;
            }
        }
        if (main == null || main == on || !on.root().startsWith(main.root())) {
            return p;
        }
        return main.point().resolve(main.root().relativize(on.root())).resolve(on.point().relativize(p));
    }

    /** The mounts of this process's mount namespace; none where {@code /proc/self/mountinfo} cannot be read. */
    static List<Mount> mounts() {
        List<Mount> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4) {
                    mounts.add(new Mount(Path.of(unescape(f[4])), Path.of(unescape(f[3])), f[2]));
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no /proc: only the names and the identities are compared
        }
        return mounts;
    }

    /** Device and inode of a directory, links followed; null when it cannot be read. */
    private static Object key(Path dir) {
        try {
            return Files.readAttributes(dir, BasicFileAttributes.class).fileKey();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** A mountinfo field: space, tab, newline and backslash are written as octal escapes ({@code \040}). */
    static String unescape(String field) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 4 <= field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** "it is the store", "it is inside the store S", "it holds the store S"; "" for {@link #NONE}. */
    public String says(Path store) {
        return switch (this) {
            case NONE -> "";
            case SAME -> "it is the store";
            case INSIDE -> "it is inside the store " + store;
            case HOLDS -> "it holds the store " + store;
        };
    }

    /**
     * Where {@code p} is as the system resolves it, component by component: a link is
     * followed where it stands (to where it points, even if nothing is there yet: where a
     * directory made through it goes), and {@code ..} is the parent of the place reached so far
     * (so {@code link/..} is the parent of the link's target, not the link's own directory; a
     * helper's {@code --staging lnk/../chunks} staged inside the store, and {@code nx/../lnk}
     * with {@code nx} missing went through {@code lnk} as the directories were made). Two names
     * of one place compare equal. A caller that normalizes a path's text itself before using it
     * (restore, a store's directory) passes it normalized.
     */
    public static Path real(Path p) {
        return real(p.toAbsolutePath(), 0);
    }

    private static Path real(Path abs, int links) {
        Path at = abs.getRoot();
        for (Path name : abs) {
            String n = name.toString();
            if (n.equals(".")) {
                continue;
            }
            if (n.equals("..")) {
                at = at.getParent() == null ? at : at.getParent(); // "at" holds no link: its parent is the system's ".."
                continue;
            }
            Path next = at.resolve(n);
            if (links < 40 && Files.isSymbolicLink(next)) {
                try {
                    next = real(at.resolve(Files.readSymbolicLink(next)), links + 1);
                } catch (IOException | RuntimeException e) {
                    // unreadable: taken as it stands
                }
            }
            at = next;
        }
        return at;
    }
}

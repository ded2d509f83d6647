package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.BadConfigurationException;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;

/** Builds object stores from URLs. */
public final class ObjectStores {
    private ObjectStores() {
    }

    /** A store on a local or shared POSIX filesystem; the directory is created if missing. */
    public static ObjectStore local(Path directory) {
        return new LocalObjectStore(directory);
    }

    /**
     * A store on a local directory that is only read: every write is refused with
     * {@code ReadOnlyStoreException} naming the store. {@link #local} opens this way by
     * itself when the directory is on a read-only mount or not writable by this user.
     */
    public static ObjectStore localReadOnly(Path directory) {
        return new LocalObjectStore(directory, true, false);
    }

    /**
     * Why {@code store} cannot be written (e.g. "Read-only file system"), or empty when it
     * can or when only a write would tell (object stores over a network).
     */
    public static Optional<String> readOnlyReason(ObjectStore store) {
        return local(store).flatMap(LocalObjectStore::readOnlyReason);
    }

    /**
     * For a store on a local or shared filesystem, what stands where its writes must go: a
     * directory or FIFO at ROOT ({@code rootKey}: the object store knows no key's meaning) or at
     * ROOT's lock file, a file where the store keeps a
     * directory; each said with what to do. Empty when nothing does, and for other stores
     * (on S3 a key is never in the way). Nothing is written.
     */
    public static List<String> obstructions(ObjectStore store, String rootKey) {
        return local(store).map(l -> l.obstructions(rootKey)).orElse(List.of());
    }

    /**
     * For a store on a local or shared filesystem, what stands at {@code key} that is no
     * object (a directory, FIFO, socket or device; a file where the store keeps a directory; a
     * symbolic link that leads nowhere) or that the store's listing does not see (a symbolic
     * link at the key or at a directory on the way), said with what to do; empty when nothing
     * does, and for other stores. For a key a listing did not show: why it is absent, when it
     * is not lost.
     */
    public static Optional<String> inPlaceOf(ObjectStore store, String key) {
        return local(store).flatMap(l -> l.inPlaceOf(key));
    }

    /** The local store under {@code store}'s forwarding layers (fault injection, probing, deadlines), if it is one. */
    private static Optional<LocalObjectStore> local(ObjectStore store) {
        ObjectStore s = store;
        while (s instanceof ForwardingObjectStore f) {
            s = f.delegate();
        }
        return s instanceof LocalObjectStore l ? Optional.of(l) : Optional.empty();
    }

    /** The directory of a store on a local or shared filesystem; empty for other stores. */
    public static Optional<Path> localDirectory(ObjectStore store) {
        return local(store).map(LocalObjectStore::root);
    }

    /**
     * Opens a store from a URL: {@code file:///path}, a plain path, {@code s3://bucket/prefix},
     * or a scheme an {@link ObjectStoreProvider} on the class path opens.
     *
     * @throws BadConfigurationException for an unknown scheme or a malformed URL; the
     *         message names the URL
     */
    public static ObjectStore open(String url) {
        return open(url, true);
    }

    /**
     * The directory {@link #open} makes a local store of for {@code url}, absolute and
     * normalized as the store uses it: a plain path (no {@code scheme://}) or a {@code file:} URL
     * ({@code file:///abs}, {@code file:/abs}, any case); empty for another scheme. A
     * {@code file:} prefix is always a URL: {@code file:/tmp/x} was opened as the relative
     * directory {@code ./file:/tmp/x} (a helper's case); a directory named so is {@code ./file:x}.
     *
     * @throws BadConfigurationException naming {@code url} if it is neither a valid path nor a
     *         valid file URL
     */
    public static Optional<Path> localPath(String url) {
        notUtf8(url);
        if (url.regionMatches(true, 0, "file:", 0, 5)) {
            return Optional.of(fileUrl(url, "store URL").toAbsolutePath().normalize());
        }
        if (SCHEME.matcher(url).lookingAt()) {
            return Optional.empty();
        }
        java.util.regex.Matcher slashes = SLASH_SHORT.matcher(url);
        if (slashes.lookingAt()) {
            // helper-118: "s3:/bucket/x" was a local directory ./s3:/bucket/x, "no store at ...: does not exist"
            String scheme = slashes.group(1);
            throw new BadConfigurationException("store '" + url + "' is neither a URL nor meant as a path: write "
                    + scheme.toLowerCase(Locale.ROOT) + "://" + (url.length() == slashes.end() ? "BUCKET/PREFIX"
                    : url.substring(slashes.end())) + " (two slashes after '"
                    + scheme + ":'), or ./" + url + " for a directory named so");
        }
        try {
            return Optional.of(Path.of(url).toAbsolutePath().normalize()); // "./a://b" too: './a' is no scheme
        } catch (InvalidPathException e) {
            throw new BadConfigurationException("store '" + url + "' is not a valid path: " + e.getMessage(), e);
        }
    }

    /** The s3 scheme with fewer than two slashes after it ({@code s3:/b/p}, {@code S3:b}): a URL mistyped. */
    private static final java.util.regex.Pattern SLASH_SHORT = java.util.regex.Pattern.compile(
            "(s3):/?(?!/)", java.util.regex.Pattern.CASE_INSENSITIVE); // not http: no store scheme (helper-119)

    /** A URL's scheme and "://" (RFC 3986: a letter, then letters, digits, '+', '-', '.'). */
    private static final java.util.regex.Pattern SCHEME = java.util.regex.Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*://");

    /**
     * A local path as a command line gives it: a {@code file:} URL (as for a store:
     * {@code file:///abs}, {@code file:/abs}, {@code file://localhost/abs}) is the path it
     * names, anything else the path as written, neither made absolute nor normalized (the
     * system resolves it). A helper's {@code restore S latest file:///tmp/x} wrote into
     * {@code ./file:/tmp/x}.
     *
     * @throws BadConfigurationException naming {@code arg} for a {@code file:} URL that names no local path
     */
    public static Path path(String arg) {
        notUtf8(arg);
        return arg.regionMatches(true, 0, "file:", 0, 5) ? fileUrl(arg, "file URL") : Path.of(arg);
    }

    /**
     * Refuses a path the JVM decoded with a replacement character (U+FFFD) for bytes that are not
     * UTF-8: used as decoded, it names another file (helper-128: a restore into {@code new\xfe}
     * made and filled {@code new\uFFFD} beside it, exit 0). A name that truly holds U+FFFD is
     * refused too; the JVM cannot tell the two apart.
     */
    private static void notUtf8(String arg) {
        if (arg.indexOf('\uFFFD') >= 0) {
            throw new BadConfigurationException("'" + dev.ckpt.store.util.Printable.of(arg) + "' holds bytes that are not"
                    + " UTF-8 (shown as \uFFFD), and ckpt would read it as another name: rename it to UTF-8"
                    + " (convmv -f latin1 -t utf8 --notest NAME), or give a path without such a name");
        }
    }

    private static Path fileUrl(String url, String what) {
        String u = url.regionMatches(true, 0, "file://localhost/", 0, 17) ? "file:///" + url.substring(17) : url;
        try {
            return Path.of(new URI(u));
        } catch (URISyntaxException | IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            String host = url.regionMatches(true, 0, "file://", 0, 7) ? url.substring(7).split("/", 2)[0] : "";
            // file://ckpt-store reads ckpt-store as a host: Java said "URI has an authority component" (helper-98)
            throw new BadConfigurationException(what + " '" + url + "' is not a valid file URL: write file:///absolute/path"
                    + " (a space as %20), or the path alone" + (host.isEmpty() ? "" : "; '" + host + "' would be a host name")
                    + (url.regionMatches(true, 0, "file:/", 0, 6) ? "" : "; a directory whose name starts with file: is ./"
                    + url), e);
        }
    }

    /**
     * How many entries the local directory of {@code url} holds while it holds no store (no
     * ROOT): opening it to write makes a new store among them, which a program should say
     * (helper-118: {@code --store} naming a restored checkpoint's directory; helper-121:
     * {@code init file:///} made one at the filesystem's root). Not counted: a store's own
     * names (another process making the same new store may have written them already), hidden
     * ones, {@code lost+found} (a new filesystem mounted as the store). 0 for an empty or missing
     * directory, a store, a URL of another scheme, or a directory that cannot be listed (opening
     * it says what is wrong).
     */
    public static long entriesWithoutStore(String url) {
        Path p;
        try {
            p = localPath(url).orElse(null);
        } catch (RuntimeException e) {
            return 0;
        }
        if (p == null || !Files.isDirectory(p) || Files.exists(p.resolve(Keys.ROOT), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        try (java.util.stream.Stream<Path> entries = Files.list(p)) {
            return entries.map(e -> e.getFileName().toString()).filter(n -> !n.startsWith(".") && !n.equals("lost+found")
                    && !Keys.TOP_LEVEL.contains(n)).count();
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * For a local store: what stands where it keeps one of its directories (a file named
     * {@code chunks}, {@code manifests} or {@code gc}), said with what to do, or empty (also for
     * another scheme, or a path that does not resolve: opening it says why).
     */
    public static Optional<String> obstructedStore(String url) {
        try {
            return localPath(url).map(p -> {
                String blocked = LocalObjectStore.obstructedDirectory(p);
                return blocked == null ? null : "cannot use " + p + " as a store: " + blocked;
            });
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * What is wrong with {@code url}'s shape as a store's location, or empty: what {@link #open}
     * would refuse before it touches a disk or a server (a blank URL, a mistyped {@code s3:/}, an
     * invalid path or file URL, an unknown scheme, an S3 URL without a bucket or with a bucket
     * name S3 refuses). The command lines say it as a usage error (exit 2), as a checkpoint name
     * of the wrong shape; a store that is missing or unreachable is {@link #open}'s to say.
     */
    public static Optional<String> locationProblem(String url) {
        if (url == null || url.isBlank()) {
            return Optional.of("no store given: pass a URL like file:///data/ckpt, s3://bucket/prefix or a path");
        }
        try {
            if (localPath(url).isPresent()) {
                return Optional.empty();
            }
        } catch (BadConfigurationException e) {
            return Optional.of(e.getMessage());
        }
        String scheme = url.substring(0, url.indexOf("://")).toLowerCase(Locale.ROOT);
        if (scheme.equals("s3")) {
            return dev.ckpt.store.objectstore.s3.S3Config.urlProblem(url);
        }
        for (ObjectStoreProvider p : ServiceLoader.load(ObjectStoreProvider.class)) {
            if (p.scheme().equals(scheme)) {
                return Optional.empty();
            }
        }
        return Optional.of(unknownScheme(url, scheme));
    }

    private static String unknownScheme(String url, String scheme) {
        return "store URL '" + url + "' has unknown scheme '" + scheme + "'; supported: file:///path, a plain path,"
                + " s3://bucket/prefix";
    }

    /**
     * {@link #open(String)}; with {@code create} false, a local store whose directory does not
     * exist is refused instead of created, so a command that only reads never makes a store
     * out of a mistyped path (and never reports "no checkpoints" or "ok" for it).
     *
     * @throws BadConfigurationException also for a missing local directory when {@code create} is false
     */
    public static ObjectStore open(String url, boolean create) {
        if (url == null || url.isBlank()) {
            throw new BadConfigurationException("no store given: pass a URL like file:///data/ckpt, s3://bucket/prefix or a path");
        }
        Optional<Path> local = localPath(url);
        if (local.isPresent()) {
            return new LocalObjectStore(local.get(), false, create);
        }
        int colon = url.indexOf("://");
        String scheme = url.substring(0, colon).toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "s3":
                return dev.ckpt.store.objectstore.s3.S3ObjectStores.open(url, System.getenv());
            default:
                for (ObjectStoreProvider p : ServiceLoader.load(ObjectStoreProvider.class)) {
                    if (p.scheme().equals(scheme)) {
                        return p.open(url);
                    }
                }
                throw new BadConfigurationException(unknownScheme(url, scheme));
        }
    }
}

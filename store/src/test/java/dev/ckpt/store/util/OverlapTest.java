package dev.ckpt.store.util;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.objectstore.ObjectStores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OverlapTest {
    @TempDir
    Path tmp;

    @Test
    void aPathIsPlacedAsTheSystemResolvesItLinksBeforeDotDot() throws Exception {
        Path store = Files.createDirectories(tmp.resolve("store/deep"));
        store = store.getParent();
        Files.createSymbolicLink(tmp.resolve("lnk"), store.resolve("deep"));
        // lnk/.. is the store (the parent of lnk's target), not tmp: a textual normalize first said NONE (helper-100)
        assertEquals(Overlap.INSIDE, Overlap.of(store, tmp.resolve("lnk/../chunks")));
        assertEquals(Overlap.SAME, Overlap.of(store, tmp.resolve("lnk/..")));
        assertEquals(Overlap.INSIDE, Overlap.of(store, tmp.resolve("lnk/../s/new/deeper")));
        assertEquals(Overlap.NONE, Overlap.of(store, tmp.resolve("other/../elsewhere")));
        assertEquals(Overlap.HOLDS, Overlap.of(store, tmp.resolve("store/deep/../..")));
        // a missing directory, "..", then a link: made one by one, the directories go through the link (helper-101)
        Files.createSymbolicLink(tmp.resolve("lst"), store.resolve("chunks"));
        assertEquals(Overlap.INSIDE, Overlap.of(store, tmp.resolve("nx/../lst/run")));
        // a link that points nowhere yet: where a directory made through it would be
        Files.createSymbolicLink(tmp.resolve("dangling"), store.resolve("sub"));
        assertEquals(Overlap.INSIDE, Overlap.of(store, tmp.resolve("dangling/run")));
        Files.createSymbolicLink(tmp.resolve("nowhere"), tmp.resolve("missing/dir"));
        assertEquals(Overlap.NONE, Overlap.of(store, tmp.resolve("nowhere/run")));
        // a loop of links ends
        Files.createSymbolicLink(tmp.resolve("loopA"), tmp.resolve("loopB"));
        Files.createSymbolicLink(tmp.resolve("loopB"), tmp.resolve("loopA"));
        assertEquals(Overlap.NONE, Overlap.of(store, tmp.resolve("loopA/x")));
        assertTrue(Overlap.SAME.says(store).equals("it is the store"));
        assertEquals("it holds the store " + store, Overlap.HOLDS.says(store));
    }

    @Test
    void aFileUrlIsAlwaysAUrlAndAPlainPathIsNormalizedAsTheStoreOpensIt() {
        Path abs = tmp.resolve("s").toAbsolutePath();
        assertEquals(Optional.of(abs), ObjectStores.localPath("file:" + abs)); // file:/abs: was ./file:/abs
        assertEquals(Optional.of(abs), ObjectStores.localPath("FILE://" + abs));
        assertEquals(Optional.of(abs), ObjectStores.localPath(tmp + "/x/../s/"));
        assertEquals(Optional.empty(), ObjectStores.localPath("s3://bucket/prefix"));
        BadConfigurationException relative = assertThrows(BadConfigurationException.class,
                () -> ObjectStores.localPath("file:x/../ckpt-staging"));
        assertTrue(relative.getMessage().startsWith("store URL 'file:x/../ckpt-staging' is not a valid file URL: write"
                + " file:///absolute/path (a space as %20), or the path alone; a directory whose name starts with file: is"
                + " ./file:x/../ckpt-staging"), relative.getMessage());
        assertEquals(Optional.of(abs), ObjectStores.localPath("file://localhost" + abs)); // RFC 8089
        assertEquals(Optional.of(Path.of("a://b").toAbsolutePath().normalize()), ObjectStores.localPath("./a://b"));
        assertEquals(abs, ObjectStores.path("file:" + abs));
        assertEquals(Path.of("x/../y"), ObjectStores.path("x/../y")); // as written: the system resolves it
        BadConfigurationException host = assertThrows(BadConfigurationException.class,
                () -> ObjectStores.localPath("file://ckpt-store"));
        assertTrue(host.getMessage().contains("'ckpt-store' would be a host name"), host.getMessage());
        assertEquals(Optional.of(Path.of("file:x").toAbsolutePath()), ObjectStores.localPath("./file:x"));
        // a store URL with a slash missing is not a local directory named so (helper-118: "no store at ./s3:/bucket/x")
        for (String[] c : List.of(new String[]{"s3:/bucket/x", "s3://bucket/x"}, new String[]{"S3:bucket", "s3://bucket"},
                new String[]{"s3:", "s3://BUCKET/PREFIX"})) {
            BadConfigurationException short1 = assertThrows(BadConfigurationException.class, () -> ObjectStores.localPath(c[0]));
            assertTrue(short1.getMessage().startsWith("store '" + c[0] + "' is neither a URL nor meant as a path: write "
                    + c[1] + " (two slashes after") && short1.getMessage().endsWith("or ./" + c[0] + " for a directory named"
                    + " so"), short1.getMessage());
        }
        assertEquals(Optional.of(Path.of("s3:x").toAbsolutePath()), ObjectStores.localPath("./s3:x"));
        assertEquals(Optional.of(Path.of("s3x:y").toAbsolutePath()), ObjectStores.localPath("s3x:y"));
        // http is no store scheme: advice to write http://… led to "unknown scheme 'http'" (helper-119)
        assertEquals(Optional.of(Path.of("http:/h/b").toAbsolutePath().normalize()), ObjectStores.localPath("http:/h/b"));
    }

    /** Mount points are read from /proc/self/mountinfo, where a space in a path is \040 (a mount under "a b"). */
    @Test
    void mountInfoEscapesAreUndone() {
        assertEquals("/tmp/a b/c\\d\te", Overlap.unescape("/tmp/a\\040b/c\\134d\\011e"));
        assertEquals("/x\\04", Overlap.unescape("/x\\04"), "a short escape stays as written");
        assertTrue(Overlap.mounts().stream().anyMatch(m -> m.point().equals(Path.of("/"))) || !Files.exists(Path.of("/proc/self/mountinfo")));
        // a bind mount's directory named as on its file system's main mount
        List<Overlap.Mount> table = List.of(new Overlap.Mount(Path.of("/"), Path.of("/"), "8:1"),
                new Overlap.Mount(Path.of("/tmp"), Path.of("/"), "0:40"),
                new Overlap.Mount(Path.of("/mnt/w"), Path.of("/h/ov/st/chunks/8d"), "0:40"),
                new Overlap.Mount(Path.of("/mnt/t"), Path.of("/"), "0:40"));
        assertEquals(Path.of("/tmp/h/ov/st/chunks/8d/x"), Overlap.canonical(Path.of("/mnt/w/x"), table));
        assertEquals(Path.of("/tmp/h/ov"), Overlap.canonical(Path.of("/mnt/t/h/ov"), table), "the first listed main mount");
        assertEquals(Path.of("/tmp/a"), Overlap.canonical(Path.of("/tmp/a"), table));
        assertEquals(Path.of("/home/u"), Overlap.canonical(Path.of("/home/u"), table));
        // the file system's own root mounted nowhere (a container's volumes): the shallowest mount whose root holds the
        // path's, not the first of all (helper-125: /a held another subtree, and /mnt/vc was never renamed)
        List<Overlap.Mount> volumes = List.of(new Overlap.Mount(Path.of("/"), Path.of("/"), "8:1"),
                new Overlap.Mount(Path.of("/mnt/va"), Path.of("/a"), "0:50"),
                new Overlap.Mount(Path.of("/mnt/vb"), Path.of("/b"), "0:50"),
                new Overlap.Mount(Path.of("/mnt/vc"), Path.of("/b/c"), "0:50"));
        assertEquals(Path.of("/mnt/vb/c/x"), Overlap.canonical(Path.of("/mnt/vc/x"), volumes));
        assertEquals(Path.of("/mnt/vb/c/store"), Overlap.canonical(Path.of("/mnt/vb/c/store"), volumes));
        assertEquals(Path.of("/mnt/va/store"), Overlap.canonical(Path.of("/mnt/va/store"), volumes));
        // a mount covered by another at its mount point names nothing of its file system any more (helper-125)
        List<Overlap.Mount> covered = List.of(new Overlap.Mount(Path.of("/"), Path.of("/"), "8:1"),
                new Overlap.Mount(Path.of("/mnt/x"), Path.of("/"), "0:60"),
                new Overlap.Mount(Path.of("/mnt/bx"), Path.of("/"), "0:60"),
                new Overlap.Mount(Path.of("/mnt/x"), Path.of("/"), "0:61"));
        assertEquals(Path.of("/mnt/bx/store"), Overlap.canonical(Path.of("/mnt/bx/store"), covered));
        assertEquals(Path.of("/mnt/x/store/src"), Overlap.canonical(Path.of("/mnt/x/store/src"), covered));
    }

    /** A directory given a second name by a link on its own is found by the names, as before: no mount needed. */
    @Test
    void withoutAMountNothingIsFoundThrough(@TempDir Path tmp) throws Exception {
        Path store = Files.createDirectories(tmp.resolve("store/chunks"));
        Overlap.Found f = Overlap.find(store.getParent(), tmp.resolve("elsewhere"));
        assertEquals(Overlap.NONE, f.kind());
        assertEquals(null, f.through());
        assertEquals(Overlap.INSIDE, Overlap.find(store.getParent(), store.resolve("x")).kind());
    }
}

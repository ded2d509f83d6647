package dev.ckpt.store;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packages of the store are layers, and dependencies point down only:
 * the API ({@code dev.ckpt.store}: {@code CheckpointStore}) → commit, gc, restore → manifest →
 * objectstore SPI and backends, chunk → util → error. A class may use its own layer and the
 * ones below; an import (or a fully qualified name) of a higher layer fails this test, naming
 * the file and the reference. Also: nothing under {@code src/main} is named for faults,
 * crashes or fakes — those are test fixtures and live in the test jar.
 */
class LayerTest {
    private static final Path MAIN = Path.of("src/main/java");

    /** Rank of each package; a package may reference packages of lower rank, and its own group. */
    private static final Map<String, Integer> RANK = Map.ofEntries(
            Map.entry("dev.ckpt.store.error", 0),
            Map.entry("dev.ckpt.store.util", 1),
            Map.entry("dev.ckpt.store.chunk", 2),
            Map.entry("dev.ckpt.store.objectstore", 2),
            Map.entry("dev.ckpt.store.objectstore.s3", 2),
            Map.entry("dev.ckpt.store.manifest", 3),
            Map.entry("dev.ckpt.store.config", 4),
            Map.entry("dev.ckpt.store.commit", 5),
            Map.entry("dev.ckpt.store.gc", 6),
            Map.entry("dev.ckpt.store.restore", 6),
            Map.entry("dev.ckpt.store", 7));

    /** Packages of equal rank that may use each other (a backend and its SPI). */
    private static String group(String pkg) {
        return pkg.startsWith("dev.ckpt.store.objectstore") ? "objectstore" : pkg;
    }

    private static final Pattern REF = Pattern.compile("\\b(dev\\.ckpt\\.store(?:\\.[a-z][a-z0-9]*)*)\\.[A-Z]");

    @Test
    void noPackageReferencesAHigherLayer() throws IOException {
        List<String> violations = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(MAIN)) {
            files = s.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertTrue(files.size() > 50, "found the sources: " + files.size());
        for (Path f : files) {
            String pkg = MAIN.relativize(f.getParent()).toString().replace('/', '.');
            Integer rank = RANK.get(pkg);
            if (rank == null) {
                violations.add(f + ": package " + pkg + " has no layer in LayerTest.RANK; give it one");
                continue;
            }
            List<String> lines = Files.readAllLines(f);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.startsWith("package ") || line.startsWith("*") || line.startsWith("/*") || line.startsWith("//")) {
                    continue;
                }
                Matcher m = REF.matcher(line);
                while (m.find()) {
                    String used = m.group(1);
                    Integer usedRank = RANK.get(used);
                    boolean ok = usedRank != null && (usedRank < rank || group(used).equals(group(pkg)));
                    if (!ok) {
                        violations.add(f + ":" + (i + 1) + ": " + pkg + " (layer " + rank + ") uses " + used
                                + " (layer " + usedRank + "): " + line);
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }

    @Test
    void noMainClassIsNamedForFaultsCrashesOrFakes() throws IOException {
        Pattern fixture = Pattern.compile("(?i).*(fault|crash|fake|mock|stub|simulat|inmemory).*\\.java");
        List<String> named;
        try (Stream<Path> s = Files.walk(MAIN)) {
            named = s.map(p -> p.getFileName().toString()).filter(n -> fixture.matcher(n).matches()).toList();
        }
        assertEquals(List.of(), named, "test fixtures belong in the test jar (store/src/test)");
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.manifest.SafePaths;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

import java.util.List;

/** What import accepts of an archive's entries: names, types, and names that clash with one another. */
final class ArchiveEntries {
    private ArchiveEntries() {
    }

    /** The relative path of a file entry, or null (and the reason added to refused) for a name that cannot be imported. */
    static String safeName(String name, List<String> refused) {
        if (!name.startsWith(ExportCommand.FILES)) {
            refused.add("unexpected entry '" + name + "' (not under " + ExportCommand.FILES + ")");
            return null;
        }
        String rel = name.substring(ExportCommand.FILES.length());
        if (rel.endsWith("/")) {
            rel = rel.substring(0, rel.length() - 1);
        }
        if (rel.isEmpty()) {
            return ".";
        }
        try {
            return SafePaths.check(rel);
        } catch (IllegalArgumentException e) {
            refused.add("entry '" + name + "' refused: " + e.getMessage());
            return null;
        }
    }

    /**
     * Why a file entry cannot be unpacked beside those before it (the same name twice, a file
     * where another entry needs a directory, or the reverse), or null; records it as seen.
     */
    static String clash(String rel, java.util.Set<String> files, java.util.Set<String> directories) {
        if (files.contains(rel)) {
            return "appears more than once in the archive";
        }
        if (directories.contains(rel)) {
            return "is a file where other entries of the archive have a directory";
        }
        for (int slash = rel.indexOf('/'); slash >= 0; slash = rel.indexOf('/', slash + 1)) {
            if (files.contains(rel.substring(0, slash))) {
                return "is below '" + ExportCommand.FILES + rel.substring(0, slash) + "', which the archive holds as a file";
            }
        }
        files.add(rel);
        for (int slash = rel.indexOf('/'); slash >= 0; slash = rel.indexOf('/', slash + 1)) {
            directories.add(rel.substring(0, slash));
        }
        return null;
    }

    /** A regular file's entry: isFile() alone is true for link and device entries (their names do not end in '/'). */
    static boolean regular(TarArchiveEntry te) {
        return te.isFile() && !te.isSymbolicLink() && !te.isLink() && !te.isCharacterDevice() && !te.isBlockDevice()
                && !te.isFIFO();
    }
}

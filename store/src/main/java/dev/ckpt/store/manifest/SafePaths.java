package dev.ckpt.store.manifest;

/**
 * The rule for file paths inside a checkpoint: relative, '/'-separated, with no empty,
 * '.' or '..' segments, no backslashes, drive letters or NUL. A manifest that breaks it
 * is refused before anything is written, so a malicious or corrupt manifest cannot write
 * outside the restore directory.
 */
public final class SafePaths {
    private SafePaths() {
    }

    public static String check(String path) {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("empty file path");
        }
        if (path.startsWith("/")) {
            throw new IllegalArgumentException("unsafe file path '" + path + "': paths must be relative");
        }
        if (path.contains("\\")) {
            throw new IllegalArgumentException("file path '" + path + "' contains a backslash, which checkpoint paths"
                    + " may not hold (it separates directories on Windows); rename the file");
        }
        if (path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("file path '" + path.replace('\0', '?') + "' contains a NUL character");
        }
        if (startsLikeADriveLetter(path)) {
            throw new IllegalArgumentException("file path '" + path + "' starts like a drive letter ('"
                    + path.substring(0, 2) + "'), which checkpoint paths may not; rename the file");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("unsafe file path '" + path + "': no empty, '.' or '..' segments allowed");
            }
        }
        return path;
    }

    /** "C:..." or "c:...": a Windows drive letter is one ASCII letter; "1:x" or "::x" is an ordinary name. */
    private static boolean startsLikeADriveLetter(String path) {
        char c = path.length() >= 2 && path.charAt(1) == ':' ? path.charAt(0) : 0;
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }
}

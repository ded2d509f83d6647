package dev.ckpt.store.util;

/** Sizes and counts as messages say them. */
public final class Sizes {
    private Sizes() {
    }

    /** "1 chunk", "2 chunks", "0 chunks": {@code n} and {@code noun}, plural by an s. */
    public static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    /** {@code bytes} in binary units, one decimal: "512 B", "1.5 KiB", "878.0 MiB". */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.1f %s", v, units[u]);
    }
}

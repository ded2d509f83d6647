package dev.ckpt.store.util;

import org.apache.commons.text.similarity.LevenshteinDistance;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * The names a mistyped command or option was probably meant as, for a usage error's "did you
 * mean". picocli's own suggestions go by letters in common and by prefix alone: {@code ckpt-tool
 * bogus} was asked "Did you mean: ckpt-tool push?", {@code --stepp} was offered
 * {@code --stall-timeout}, and {@code psuh} and {@code --jason} got nothing.
 *
 * <p>A name is near the typed one when, both without their leading dashes and in lower case
 * ({@code LS} is near {@code ls}), their Levenshtein distance (insertions, deletions and
 * substitutions, commons-text's) is at most 1 where the shorter has up to 3 characters and at
 * most 2 otherwise. Two neighbouring letters swapped ({@code sl}, {@code --rnu}) count as one
 * change, and so does a prefix where the shorter has at least 3 characters ({@code --prog} for
 * {@code --progress}, {@code --run-id} for {@code --run}, {@code --keep} for {@code --keep-last}
 * rather than {@code --help}); {@code -json} is near {@code --json}. Only the nearest, by name;
 * at most {@link #MAX}.
 */
public final class NearNames {
    private NearNames() {
    }

    /** The most names one hint offers. */
    public static final int MAX = 3;

    /**
     * The names among {@code names} near {@code typed} (an option's {@code =value} is left out
     * of it), nearest first; empty when none is.
     */
    public static List<String> near(String typed, Collection<String> names) {
        String t = bare(typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed).toLowerCase(java.util.Locale.ROOT);
        record Near(String name, int distance) {
        }
        List<Near> found = new ArrayList<>();
        for (String name : names) {
            String n = bare(name).toLowerCase(java.util.Locale.ROOT);
            int shorter = Math.min(t.length(), n.length());
            if (shorter == 0 || name.equals(typed)) {
                continue;
            }
            int limit = shorter <= 3 ? 1 : 2;
            int d = new LevenshteinDistance(limit).apply(t, n); // -1 beyond the limit
            // two letters swapped (sl, --rnu) and a prefix (--keep of --keep-last) count as one change: --keep was
            // offered --help, two letters changed, ahead of the three options it starts (helper-139)
            if (swapped(t, n) || shorter >= 3 && (n.startsWith(t) || t.startsWith(n))) {
                d = d < 0 ? 1 : Math.min(d, 1);
            }
            if (d >= 0) {
                found.add(new Near(name, d));
            }
        }
        // only the nearest: --step was offered --steps and --seed (2 letters changed) alike
        int nearest = found.stream().mapToInt(Near::distance).min().orElse(0);
        return found.stream().filter(n -> n.distance() == nearest).sorted(Comparator.comparing(Near::name))
                .limit(MAX).map(Near::name).toList();
    }

    /** Whether {@code a} is {@code b} with two neighbouring letters swapped. */
    static boolean swapped(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        int i = 0;
        while (i < a.length() && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i + 1 < a.length() && a.charAt(i) == b.charAt(i + 1) && a.charAt(i + 1) == b.charAt(i)
                && a.substring(i + 2).equals(b.substring(i + 2));
    }

    private static String bare(String name) {
        return name.replaceFirst("^-+", "");
    }
}

package dev.ckpt.store.error;

import java.util.Locale;

/**
 * What to tell a user whose command ran out of memory, by which memory ran out: the JVM
 * names it in the error's message ("Java heap space", "unable to create native thread",
 * "Metaspace", "Direct buffer memory"). Heap advice for a thread limit (helper-86: a run
 * under {@code ulimit -u 24} was told to give the heap more) sends the user the wrong way.
 */
public final class OutOfMemory {
    private OutOfMemory() {
    }

    /**
     * One sentence: what ran out, in the JVM's words, and what to change, e.g. "out of memory
     * (Java heap space): the JVM's heap (256 MiB) is too small for this; give it more, e.g.
     * CKPT_JAVA_OPTS=-Xmx1g". {@code saving}: a save's bound is added to the heap advice.
     */
    public static String explain(OutOfMemoryError e, boolean saving) {
        String what = e.getMessage() == null ? "" : e.getMessage();
        String said = "out of memory (" + (what.isEmpty() ? "no detail" : what) + "): ";
        String lower = what.toLowerCase(Locale.ROOT);
        if (lower.contains("native thread")) {
            return said + "no new thread could be started, as the limit on processes and threads of this user or"
                    + " container is reached (ulimit -u, or the cgroup's pids.max); raise it or end other processes,"
                    + " then run again (more heap does not help)";
        }
        if (lower.contains("metaspace")) {
            return said + "the JVM's space for classes is full; give it more, e.g. CKPT_JAVA_OPTS=-XX:MaxMetaspaceSize=512m";
        }
        if (lower.contains("direct buffer")) {
            return said + "the JVM's direct buffer memory is full; give it more, e.g."
                    + " CKPT_JAVA_OPTS=-XX:MaxDirectMemorySize=1g";
        }
        long mib = Runtime.getRuntime().maxMemory() >> 20;
        return said + "the JVM's heap (" + mib + " MiB) is too small for this; give it more, e.g. CKPT_JAVA_OPTS=-Xmx"
                + (mib < 1024 ? "1g" : 2 * ((mib + 1023) / 1024) + "g")
                + (saving ? " (a save keeps up to a quarter of the heap in chunks in flight; 256 MiB is enough for any"
                + " checkpoint size)" : "");
    }

    /** What an Error other than running out of memory says: the JVM's own words, without its class name. */
    public static String explain(Error e) {
        if (e instanceof OutOfMemoryError o) {
            return explain(o, false);
        }
        return "an internal error of the JVM (" + (e.getMessage() == null ? "no detail" : e.getMessage()) + ")";
    }
}

package dev.ckpt.store.error;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The advice for each memory the JVM says ran out (helper-86: a thread limit was told to give the heap more). */
class OutOfMemoryTest {
    @Test
    void theHeapGetsHeapAdviceAndASaveItsBound() {
        String m = OutOfMemory.explain(new OutOfMemoryError("Java heap space"), true);
        assertTrue(m.startsWith("out of memory (Java heap space): the JVM's heap (" + (Runtime.getRuntime().maxMemory() >> 20)
                + " MiB) is too small for this; give it more, e.g. CKPT_JAVA_OPTS=-Xmx"), m);
        assertTrue(m.contains("a save keeps up to a quarter of the heap"), m);
        String restore = OutOfMemory.explain(new OutOfMemoryError("GC overhead limit exceeded"), false);
        assertTrue(restore.contains("the JVM's heap (") && !restore.contains("a save keeps"), restore);
    }

    @Test
    void aThreadLimitIsNamedAndTheHeapIsNot() {
        String m = OutOfMemory.explain(new OutOfMemoryError("unable to create native thread: possibly out of memory or"
                + " process/resource limits reached"), true);
        assertTrue(m.startsWith("out of memory (unable to create native thread: possibly out of memory or process/resource"
                + " limits reached): no new thread could be started") && m.contains("ulimit -u")
                && m.contains("more heap does not help"), m);
        assertFalse(m.contains("-Xmx"), m);
    }

    @Test
    void classSpaceAndDirectBuffersGetTheirOwnFlags() {
        String meta = OutOfMemory.explain(new OutOfMemoryError("Metaspace"), false);
        assertTrue(meta.contains("-XX:MaxMetaspaceSize=") && !meta.contains("-Xmx"), meta);
        String direct = OutOfMemory.explain(new OutOfMemoryError("Direct buffer memory"), false);
        assertTrue(direct.contains("-XX:MaxDirectMemorySize=") && !direct.contains("-Xmx"), direct);
    }

    @Test
    void anotherErrorIsSaidWithoutItsClassName() {
        String m = OutOfMemory.explain(new StackOverflowError());
        assertTrue(m.equals("an internal error of the JVM (no detail)"), m);
        assertFalse(m.contains("StackOverflow"), m);
    }
}

package dev.ckpt.trainer;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DJL settings that must be in place before the first DJL class loads: offline (the
 * PyTorch natives come from the {@code pytorch-native-cpu} jar on the classpath, never from
 * the network), telemetry opted out, one engine thread (2 cores, and bit-exact repeatable
 * arithmetic), and the native-library cache (about 430 MB, extracted on first use) outside
 * any build directory. Each is only a default: a value the user set wins.
 */
public final class Djl {
    private Djl() {
    }

    /** The properties and their defaults; child JVMs get them as {@code -D} options. */
    public static Map<String, String> defaults() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ai.djl.offline", "true");
        m.put("OPT_OUT_TRACKING", "true");
        m.put("DJL_CACHE_DIR", defaultCacheDir().toString());
        m.put("ai.djl.pytorch.num_threads", "1");
        m.put("ai.djl.pytorch.num_interop_threads", "1");
        return m;
    }

    /** Sets every default the user (or the environment) did not set. */
    public static void configure() {
        for (Map.Entry<String, String> e : defaults().entrySet()) {
            String env = System.getenv(e.getKey());
            if (System.getProperty(e.getKey()) == null) {
                System.setProperty(e.getKey(), env != null ? env : e.getValue());
            }
        }
    }

    /** {@code $DJL_CACHE_DIR}, else {@code ~/.djl.ai} (DJL's own default). */
    static Path defaultCacheDir() {
        String env = System.getenv("DJL_CACHE_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String prop = System.getProperty("DJL_CACHE_DIR");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        return Path.of(System.getProperty("user.home"), ".djl.ai");
    }
}

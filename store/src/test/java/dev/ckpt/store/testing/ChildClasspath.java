package dev.ckpt.store.testing;

import java.io.File;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;

/**
 * The classpath a child JVM needs to run the classes this code runs with. Under Surefire
 * that is {@code java.class.path}; under {@code mvn exec:java} (how the benchmarks are run)
 * {@code java.class.path} is Maven's own launcher and the test classes are in the class
 * loader exec:java made, so a child given {@code java.class.path} cannot find its main
 * class ("Could not find or load main class").
 */
public final class ChildClasspath {
    private ChildClasspath() {
    }

    /** The context class loader's URLs when it has any, else {@code java.class.path}. */
    public static String get() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        if (cl instanceof URLClassLoader u && u.getURLs().length > 0) {
            StringBuilder sb = new StringBuilder();
            for (URL url : u.getURLs()) {
                try {
                    sb.append(sb.length() == 0 ? "" : File.pathSeparator).append(Path.of(url.toURI()));
                } catch (URISyntaxException e) {
                    throw new IllegalStateException("a class-path entry that is not a file: " + url, e);
                }
            }
            return sb.toString();
        }
        return System.getProperty("java.class.path");
    }
}

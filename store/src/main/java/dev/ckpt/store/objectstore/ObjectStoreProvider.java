package dev.ckpt.store.objectstore;

/**
 * Opens stores of a URL scheme that is not built in ({@code file}, plain paths and
 * {@code s3} are). Found with {@link java.util.ServiceLoader} from
 * {@code META-INF/services/dev.ckpt.store.objectstore.ObjectStoreProvider}; the test jar
 * registers {@code mem://NAME}, in-memory stores shared by name within a process.
 */
public interface ObjectStoreProvider {
    /** The scheme this provider opens, lower case, without {@code ://} (e.g. {@code mem}). */
    String scheme();

    /**
     * Opens the store at {@code url}, whose scheme is {@link #scheme()}.
     *
     * @throws dev.ckpt.store.error.BadConfigurationException naming the URL when it is malformed
     */
    ObjectStore open(String url);
}

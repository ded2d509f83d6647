package dev.ckpt.store.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Makes a file that no process of this test can delete, so its directory cannot be removed
 * or replaced: {@code chattr +i} on the file as root (root deletes in a read-only directory),
 * a read-only parent directory otherwise. {@link #close} undoes it, so {@code @TempDir} can
 * clean up. Fails (it does not skip) where neither works, e.g. root on a filesystem without
 * the immutable attribute: the tests that use it need such a file.
 */
public final class Undeletable implements AutoCloseable {
    private final Path file;
    private final boolean root = "root".equals(System.getProperty("user.name"));

    public Undeletable(Path file) throws IOException, InterruptedException {
        this.file = file;
        Process p = new ProcessBuilder(command(true)).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new AssertionError("making " + file + " undeletable (chattr +i needs root and a filesystem with the"
                    + " attribute, e.g. ext4): " + said);
        }
    }

    private List<String> command(boolean on) {
        return root ? List.of("chattr", on ? "+i" : "-i", file.toString())
                : List.of("chmod", on ? "555" : "755", file.getParent().toString());
    }

    @Override
    public void close() throws IOException, InterruptedException {
        new ProcessBuilder(command(false)).start().waitFor();
    }
}

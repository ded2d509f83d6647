package dev.ckpt.store.restore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The permissions a restore's temporaries are created with, and when no chmod needs to follow. */
class FileModesTest {
    @TempDir
    Path tmp;

    /** This process's umask, found by creating a file asking for every bit. */
    private int umask() throws Exception {
        Path probe = Files.createFile(tmp.resolve("umask-probe"),
                PosixFilePermissions.asFileAttribute(FileModes.permissions(0777)));
        return 0777 & ~mode(probe);
    }

    private static int mode(Path p) throws Exception {
        int m = 0;
        for (var perm : Files.getPosixFilePermissions(p)) {
            m |= 1 << (8 - perm.ordinal());
        }
        return m;
    }

    @Test
    void aTemporaryIsCreatedWithItsModeAndTheOwnersReadAndWriteNeverWider() throws Exception {
        int umask = umask();
        TargetDirectory dir = new TargetDirectory(tmp, null, TargetDirectory.Mover.ATOMIC);
        for (int mode : new int[] {0600, 0640, 0644, 0755, 0700, 0400, 0444, 0511, 0664, 0666, 0777, 0200, 0}) {
            Path t = tmp.resolve(String.format("t%04o", mode));
            try (FileChannel ch = dir.createTemp(t, mode)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {1}));
            }
            int expected = (mode == 0 ? 0666 : (mode | 0600)) & ~umask;
            assertEquals(expected, mode(t), String.format("mode %04o under umask %04o", mode, umask));
            if (mode != 0) {
                assertEquals(0, expected & 077 & ~mode, "group or others got a bit the mode does not give");
            }
        }
        dir.close();
    }

}

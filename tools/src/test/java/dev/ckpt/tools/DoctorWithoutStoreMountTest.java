package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * doctor of a location that holds no store, where a store cannot be made: on a read-only
 * mount it said "store is read-only: ls, show, ... work" and exited 0; on a full disk it left
 * an empty {@code probe/} in the directory it made (helper-96). Mounts in a private namespace
 * ({@link MountNamespace}).
 */
class DoctorWithoutStoreMountTest {
    @TempDir
    Path tmp;

    @Test
    void aReadOnlyLocationWithoutAStoreIsNoStoreAndExits1() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), MountNamespace.readOnly(empty), Map.of(),
                List.of(List.of("doctor", empty.toString()), List.of("doctor", empty.toString(), "--json")), null);
        assertEquals(1, rs.get(0).code(), rs.get(0).toString());
        assertTrue(rs.get(0).out().contains("no store here, and none can be made: the location is read-only (Read-only"
                + " file system); init needs a writable mount"), rs.get(0).toString());
        assertEquals(false, rs.get(1).json().get("holdsStore").asBoolean(), rs.get(1).toString());
    }

    @Test
    void aDoctorThatFailsOnAFullDiskLeavesNothing() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        Path full = Files.createDirectories(tmp.resolve("full"));
        Path fresh = full.resolve("new-store");
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), MountNamespace.tmpfs(full, 64)
                        + " && (dd if=/dev/zero of=" + MountNamespace.q(full.resolve("fill")) + " bs=4k 2>/dev/null || true)",
                Map.of(), List.of(List.of("doctor", fresh.toString())), "cd " + MountNamespace.q(full) + " && find . | sort");
        Cli.Result doctor = rs.get(0);
        assertTrue(doctor.code() != 0, doctor.toString());
        assertEquals(List.of(".", "./fill"), rs.get(rs.size() - 1).out().lines().toList(), "nothing left: " + doctor);
    }
}

package dev.ckpt.store.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.objectstore.ObjectStore;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Damages a store the way an attacker with write access, or a buggy tool, could. */
public final class Tamper {
    private Tamper() {
    }

    /** Replaces a checkpoint's manifest and makes ROOT vouch for the new bytes (its recorded SHA-256). */
    public static void replaceManifest(ObjectStore objects, String checkpointId, byte[] manifest) {
        try {
            objects.put(Manifest.keyOf(checkpointId), manifest);
            ObjectNode root = (ObjectNode) Json.MAPPER.readTree(objects.get("ROOT").data());
            ((ObjectNode) root.with("checkpoints").get(checkpointId)).put("manifestSha256", Hashes.sha256Hex(manifest));
            objects.put("ROOT", Json.MAPPER.writeValueAsBytes(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.error.PreconditionFailedException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Child-process side of the cross-process races of {@link ObjectStoreContractTest}.
 * Usage: {@code ContractChild URL GO_FILE create KEY ID} or
 * {@code ContractChild URL GO_FILE increment KEY N}.
 */
public final class ContractChild {
    public static void main(String[] args) throws Exception {
        ObjectStore store = ObjectStores.open(args[0]);
        Path go = Path.of(args[1]);
        long deadline = System.currentTimeMillis() + 30_000;
        while (!Files.exists(go)) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("no start signal");
            }
            Thread.onSpinWait();
        }
        switch (args[2]) {
            case "create" -> System.out.println(store.putIfAbsent(args[3], args[4].getBytes(StandardCharsets.UTF_8)));
            case "increment" -> {
                int n = Integer.parseInt(args[4]);
                int conflicts = 0;
                for (int i = 0; i < n; ) {
                    StoredObject cur = store.get(args[3]);
                    long v = Long.parseLong(new String(cur.data(), StandardCharsets.UTF_8));
                    try {
                        store.putIfMatch(args[3], Long.toString(v + 1).getBytes(StandardCharsets.UTF_8), cur.etag());
                        i++;
                    } catch (PreconditionFailedException e) {
                        conflicts++;
                    }
                }
                System.out.println("done conflicts=" + conflicts);
            }
            default -> throw new IllegalArgumentException(args[2]);
        }
    }
}

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
        // ends with the test that started it: an increment retries an unavailable store for ever, and two children of a
        // test run killed with its server span two cores for 96 minutes, slowing the next CI run to a timeout
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(3)));
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
            case "create" -> {
                byte[] data = args[4].getBytes(StandardCharsets.UTF_8);
                System.out.println(store.putIfAbsent(args[3], data, 0, data.length));
            }
            case "increment" -> {
                // Each increment has an id and the object keeps the history of applied ids, as ROOT
                // keeps its recent transaction ids: after a lost response the writer looks for its id
                // instead of applying the increment twice.
                int n = Integer.parseInt(args[4]);
                int conflicts = 0;
                for (int i = 0; i < n; i++) {
                    String op = ProcessHandle.current().pid() + "-" + i;
                    while (true) {
                        StoredObject cur;
                        try {
                            cur = store.get(args[3]);
                        } catch (dev.ckpt.store.error.StoreUnavailableException e) {
                            continue;
                        }
                        String text = new String(cur.data(), StandardCharsets.UTF_8);
                        if (java.util.Arrays.asList(text.split("[:,]")).contains(op)) {
                            break; // an attempt whose response was lost did land
                        }
                        long v = Long.parseLong(text.split(":")[0]);
                        String history = text.contains(":") ? text.substring(text.indexOf(':') + 1) + "," : "";
                        try {
                            store.putIfMatch(args[3], ((v + 1) + ":" + history + op).getBytes(StandardCharsets.UTF_8), cur.etag());
                            break;
                        } catch (PreconditionFailedException | dev.ckpt.store.error.StoreUnavailableException e) {
                            conflicts++;
                        }
                    }
                }
                System.out.println("done conflicts=" + conflicts);
            }
            default -> throw new IllegalArgumentException(args[2]);
        }
        store.close();
        System.exit(0); // HTTP clients may keep non-daemon threads alive for a while
    }
}

package dev.ckpt.store.objectstore;

import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.PreconditionFailedException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks that a backend really honours conditional writes, with a scratch object under
 * {@code probe/}: a second create-only write must be refused, a write with a stale ETag
 * must be refused, a write with the current ETag must succeed. Some S3-compatible servers
 * accept the headers and ignore them; on those the store would silently lose updates.
 * The current-ETag write comes before the stale one: it is where an HTTP backend learns
 * which {@link IfMatchForm} the server honours, so the stale write tests that form.
 */
public final class ConditionalWriteProbe {
    /**
     * Where the probe writes its scratch objects, {@code probe/<16 hex>}, and deletes them within
     * seconds; one that stays was left by a probe interrupted (GC removes those over an hour old).
     */
    public static final String PREFIX = "probe/";

    private static final java.util.regex.Pattern KEY = java.util.regex.Pattern.compile("probe/[0-9a-f]{16}");

    /** Whether {@code key} is one the probe writes ({@code probe/<16 hex>}); nothing else under probe/ is its. */
    public static boolean isScratchKey(String key) {
        return KEY.matcher(key).matches();
    }

    /**
     * What the probe found. {@code problems} is empty when everything the store needs works.
     * {@code ifMatchForm} is the ETag spelling the backend sends in {@code If-Match}, or null
     * where that does not apply (no HTTP) or no conditional replace succeeded.
     */
    public record Result(String store, boolean createOnly, boolean staleIfMatchRefused, boolean currentIfMatchAccepted,
                         IfMatchForm ifMatchForm, List<String> problems) {
        public Result {
            problems = List.copyOf(problems);
        }

        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private ConditionalWriteProbe() {
    }

    /**
     * Probes {@code store} with a scratch object it deletes afterwards.
     *
     * @throws dev.ckpt.store.error.StoreUnavailableException when a request fails transiently: that says nothing
     *         about the server's conditions, so there is no verdict ({@link ProbingObjectStore} probes again on
     *         the next conditional write)
     * @throws dev.ckpt.store.error.PermissionDeniedException when the credentials may not write or read the
     *         scratch object: no verdict either
     * @throws dev.ckpt.store.error.EndpointRedirectException when the server redirects a request: no verdict
     * @throws CkptException whatever the first request, a plain read of the scratch key, gets other than "not
     *         found" (a missing bucket, credentials the server rejects): a store the probe cannot reach says
     *         nothing about its conditions, so no verdict (those used to read as "conditional writes NOT honoured")
     */
    public static Result run(ObjectStore store) {
        String key = PREFIX + RandomIds.hex(8); // isScratchKey
        List<String> problems = new ArrayList<>();
        boolean createOnly = false;
        boolean staleRefused = false;
        boolean currentAccepted = false;
        boolean reached = false;
        try {
            try {
                store.get(key); // the one plain request first: it must answer "not found"
            } catch (dev.ckpt.store.error.NotFoundException absent) {
                // as expected
            }
            reached = true;
            byte[] first = bytes("first");
            byte[] second = bytes("second");
            if (store.putIfAbsent(key, first, 0, first.length) != PutResult.CREATED) {
                problems.add("a create-only write (If-None-Match: *) of a new object " + key + " was refused");
            }
            PutResult secondResult = store.putIfAbsent(key, second, 0, second.length);
            StoredObject afterSecond = store.get(key);
            createOnly = secondResult == PutResult.ALREADY_EXISTS
                    && new String(afterSecond.data(), StandardCharsets.UTF_8).equals("first");
            if (!createOnly) {
                problems.add("the server ignores If-None-Match: * (a second create-only write of " + key
                        + " replaced the object)");
            }
            String stale = afterSecond.etag();
            String current = store.put(key, bytes("third"));
            // the current ETag first: an HTTP backend learns here which If-Match form the server honours
            // (IfMatchForm), and the stale write below is then sent in that form
            try {
                store.putIfMatch(key, bytes("fourth"), current);
                currentAccepted = new String(store.get(key).data(), StandardCharsets.UTF_8).equals("fourth");
                if (!currentAccepted) {
                    problems.add("a write of " + key + " with the current ETag reported success but did not apply");
                }
            } catch (PreconditionFailedException e) {
                problems.add("a write of " + key + " with the current ETag was refused, quoted (\"" + current
                        + "\", RFC 7232) and bare alike");
            }
            try {
                store.putIfMatch(key, bytes("stale"), stale);
                problems.add("the server ignores If-Match (a write of " + key + " with a stale ETag was accepted)");
            } catch (PreconditionFailedException e) {
                staleRefused = true;
            }
        } catch (dev.ckpt.store.error.StoreUnavailableException e) {
            // a transient failure says nothing about the server's conditions: no verdict, the caller may try again.
            // Said as what the user asked for, not only as the scratch object it happened on.
            String m = "before its first commit, ckpt checks that " + store.describe() + " honours conditional writes"
                    + " (with a scratch object under probe/), and that check could not finish: " + e.getMessage();
            throw e.needsAction() ? dev.ckpt.store.error.StoreUnavailableException.needingAction(m, e)
                    : new dev.ckpt.store.error.StoreUnavailableException(m, e);
        } catch (dev.ckpt.store.error.PermissionDeniedException | dev.ckpt.store.error.EndpointRedirectException e) {
            // credentials that may not write here (a read-only role; the message names the permission), or an
            // endpoint that redirects (the message says what to set): no verdict either way
            throw e;
        } catch (CkptException e) {
            if (!reached) {
                throw e; // nothing conditional was asked yet
            }
            // a verdict only from a store that still answers: a bucket deleted or credentials expired during the
            // probe fail a plain read too, and then say nothing about conditions (helper-72)
            try {
                store.get(key);
            } catch (dev.ckpt.store.error.NotFoundException absent) {
                // answers
            } catch (CkptException unreachable) {
                throw unreachable;
            }
            problems.add("probing " + key + " failed: " + e.getMessage());
        } finally {
            try {
                if (reached) { // else nothing was written
                    store.delete(key);
                }
            } catch (CkptException ignored) {
                // a leftover probe object is harmless
            }
        }
        return new Result(store.describe(), createOnly, staleRefused, currentAccepted, store.ifMatchForm().orElse(null), problems);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}

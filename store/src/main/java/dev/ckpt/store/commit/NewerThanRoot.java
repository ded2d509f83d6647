package dev.ckpt.store.commit;

import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectStore;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A manifest that ROOT does not reference, written by a writer epoch above the one ROOT records
 * for its run (or for a run ROOT does not know): ROOT is then older than that checkpoint, a
 * backup of ROOT put back by hand or another store's ROOT, and the checkpoints committed since
 * are not in it (helper-120: ls, verify and doctor said all was well, and GC would have deleted
 * them). No store in order holds one: a writer's epoch is claimed in ROOT before it writes a
 * manifest, ROOT's epochs never go down, and recover sets every run's above all it saw.
 *
 * <p>Limit (helper-121): a ROOT copy taken while the same writer kept saving records that
 * writer's epoch, and the checkpoints it lacks look exactly like saves killed between their
 * manifest and their commit; they are not found here.
 *
 * @param manifest    the manifest's key, {@code manifests/<id>.json}
 * @param rootEpoch   the epoch ROOT records for {@code run}, 0 when {@code runKnown} is false
 */
public record NewerThanRoot(String manifest, String run, long step, long writerEpoch, long rootEpoch, boolean runKnown) {

    /** What was found, as a sentence's subject and verb: "manifests/x.json (run 'a', step 5) was written by ...". */
    public String describe() {
        return manifest + " (run '" + run + "', step " + step + ") was written by writer epoch " + writerEpoch
                + ", but ROOT records " + (runKnown ? "epoch " + rootEpoch + " for run '" + run + "'" : "no run '" + run + "'")
                + ", so ROOT is older than checkpoints in the store (an older copy put back, or another store's ROOT)";
    }

    /** What to do, for the store named by the shell word {@code store}. */
    public String advice(String store) {
        // the command that writes, not only the dry run (helper-124: "recover STORE" wrote nothing)
        return "Put the newest ROOT back if you have it; else move ROOT aside and rebuild it from the manifests:"
                + " ckpt-tool recover " + store + " shows what it would do, ckpt-tool recover " + store + " --apply does it"
                // recover's own refusal says this too, but only after it was run (helper-125)
                + " (add --force within 15 minutes of the store's last write, once no job writes to it;"
                + " pins and verified marks are lost)";
    }

    /**
     * The first of {@code unreferenced} (manifest keys ROOT {@code s} does not reference; others
     * are passed over) written by a writer epoch above the one {@code s} records for its run.
     * Reads each top-level manifest among them once. A part manifest ({@code manifests/<id>/...})
     * and a manifest that does not read are passed over: damage is verify's to report.
     */
    public static Optional<NewerThanRoot> among(ObjectStore store, RootState s, Iterable<String> unreferenced) {
        return among(store, s, unreferenced, null);
    }

    /** As above, of run {@code run} only (null: any run). */
    private static Optional<NewerThanRoot> among(ObjectStore store, RootState s, Iterable<String> unreferenced, String run) {
        for (String key : unreferenced) {
            if (!key.startsWith("manifests/") || key.indexOf('/', "manifests/".length()) >= 0 || !Manifest.isOwnKey(key)) {
                continue;
            }
            Manifest m;
            try {
                m = Json.readManifest(key, store.get(key).data(), null);
            } catch (CkptException | IllegalArgumentException e) {
                continue; // deleted meanwhile (a GC), damaged, or of a newer format
            }
            if (run != null && !run.equals(m.run())) {
                continue;
            }
            RunState state = s.runs().get(m.run());
            long rootEpoch = state == null ? 0 : state.writerEpoch();
            if (m.writer() != null && m.writer().epoch() > rootEpoch) {
                return Optional.of(new NewerThanRoot(key, m.run(), m.step(), m.writer().epoch(), rootEpoch, state != null));
            }
        }
        return Optional.empty();
    }

    /**
     * Looks through every manifest in the store for one newer than ROOT: lists {@code manifests/}
     * and reads each top-level manifest ROOT does not reference (one GET each; they are the
     * checkpoints retention dropped since the last GC, and saves under way or killed). What it
     * finds is checked against ROOT read again, so a job that claimed its run and saved after
     * the first read is not taken for an older ROOT.
     */
    public static Optional<NewerThanRoot> find(ObjectStore store, Supplier<RootState> root) {
        return find(store, root.get(), root);
    }

    /** {@link #find(ObjectStore, Supplier)} from ROOT {@code read} already: {@code root} reads it again only on a finding. */
    public static Optional<NewerThanRoot> find(ObjectStore store, RootState read, Supplier<RootState> root) {
        List<String> keys = new ArrayList<>();
        for (ObjectInfo o : store.list("manifests/")) {
            keys.add(o.key());
        }
        return find(store, read, root, keys);
    }

    /** As above, among {@code keys} (manifest keys listed after ROOT {@code read} was read). */
    public static Optional<NewerThanRoot> find(ObjectStore store, RootState read, Supplier<RootState> root, List<String> keys) {
        RootState s = read;
        for (int pass = 0; ; pass++) {
            Optional<NewerThanRoot> found = among(store, s, unreferenced(s, keys));
            if (found.isEmpty() || pass == 1) {
                return found;
            }
            RootState fresh = root.get();
            if (fresh.version() == s.version()) {
                return found;
            }
            s = fresh;
        }
    }

    /** How far the store's clock may run behind its writers' for {@link #forClaim}'s cut by time. */
    static final java.time.Duration CLOCK_SKEW = java.time.Duration.ofHours(1);

    /**
     * {@link #find} for a claim of {@code run}: that run's manifests ROOT {@code s} does not
     * reference and the store wrote after the newest checkpoint ROOT holds was created (less
     * {@link #CLOCK_SKEW}). A checkpoint an older copy of ROOT lacks was committed after every
     * checkpoint in that copy, at any step (helper-125: a restarted run's lower step was missed
     * by a cut by step); what retention or forget dropped was written before the checkpoint that
     * dropped it, which ROOT holds, so it is not read. One listing by the run's name (its first
     * 40 characters, which every id of the run keeps, {@link dev.ckpt.store.manifest.Ids}) and a
     * GET for each manifest after that cut; only the run's own count (helper-125: another run
     * of the same prefix, found first, hid it). A claim over an older ROOT took that ROOT's
     * epoch + 1, the epoch of the newer checkpoints' writer, and verify, doctor and GC no longer
     * saw them: GC deleted them (helper-124).
     *
     * <p>ROOT is read through {@code root}; what is found is checked against ROOT read again, as
     * {@link #find} does: a writer that claimed the run after the first read and saved before
     * the listing is not an older ROOT (CI's torture: a claim refused, "written by writer epoch
     * 58, but ROOT records epoch 57", when ROOT already recorded 58). An older ROOT put back by
     * hand does not change between the two reads, so it is still found.
     */
    public static Optional<NewerThanRoot> forClaim(ObjectStore store, Supplier<RootState> root, String run) {
        RootState s = root.get();
        Optional<NewerThanRoot> found = forClaim(store, s, run);
        if (found.isEmpty()) {
            return found;
        }
        RootState fresh = root.get();
        return fresh.version() == s.version() ? found : forClaim(store, fresh, run);
    }

    /** {@link #forClaim(ObjectStore, Supplier, String)} against ROOT {@code s} as read, once. */
    private static Optional<NewerThanRoot> forClaim(ObjectStore store, RootState s, String run) {
        java.time.Instant newest = null;
        Set<String> referenced = new HashSet<>();
        for (CheckpointEntry e : s.checkpoints().values()) {
            referenced.add(e.manifest());
            if (e.created() != null && (newest == null || e.created().isAfter(newest))) {
                newest = e.created();
            }
        }
        java.time.Instant cut = newest == null ? java.time.Instant.MIN : newest.minus(CLOCK_SKEW);
        List<String> candidates = new ArrayList<>();
        for (ObjectInfo o : store.list("manifests/" + run.substring(0, Math.min(run.length(), 40)))) {
            if (!referenced.contains(o.key()) && (o.lastModified() == null || o.lastModified().isAfter(cut))) {
                candidates.add(o.key());
            }
        }
        return among(store, s, candidates, run);
    }

    private static List<String> unreferenced(RootState s, List<String> keys) {
        Set<String> referenced = new HashSet<>();
        for (CheckpointEntry e : s.checkpoints().values()) {
            referenced.add(e.manifest());
        }
        return keys.stream().filter(k -> !referenced.contains(k)).toList();
    }
}

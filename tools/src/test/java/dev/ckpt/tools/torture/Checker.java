package dev.ckpt.tools.torture;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.VerifyRequest;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;
import dev.ckpt.store.restore.VerifyReport;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The invariants a torture round must leave true, checked in this process while no torture
 * process runs (they are paused), from the store and from the journals of every process so far.
 * Each finding is one line naming the checkpoint, run or process.
 *
 * <ol>
 * <li>ROOT reads; every checkpoint in it restores, byte for byte, to {@link Content} of its
 *     (run, step): no checkpoint listed but not restorable, none holding other bytes.</li>
 * <li>A deep verify of the whole store is clean: no manifest in ROOT whose chunks are missing
 *     (nothing half visible), no live object deleted by GC.</li>
 * <li>Every checkpoint in ROOT was written by a writer that claimed that epoch of that run.</li>
 * <li>A fenced writer never commits: a commit whose save began after a newer epoch of its run
 *     had been claimed (the claim returned) is a violation, and so is a checkpoint in ROOT from
 *     a save that was refused as fenced.</li>
 * <li>No epoch of a run is claimed twice, and ROOT's epoch of a run is never below a claimed one.</li>
 * <li>A committed checkpoint leaves ROOT only through retention, which always keeps the run's
 *     newest: a reported commit missing from ROOT with no checkpoint of its run at the same or a
 *     later step is lost.</li>
 * <li>Readers found nothing wrong while everything ran (they report a restore or deep verify that
 *     failed while the checkpoint stayed in ROOT), and no process failed with an exception that is
 *     not one of the store's own errors.</li>
 * </ol>
 */
final class Checker {
    /** What one check found, and how much it looked at. */
    record Result(List<String> violations, int checkpoints, int restores) {
    }

    private Checker() {
    }

    static Result check(CheckpointStore store, long dataSeed, List<JsonNode> journal, Path scratch) {
        Set<String> v = new LinkedHashSet<>();
        RootState root;
        try {
            root = store.root();
        } catch (RuntimeException e) {
            v.add("ROOT cannot be read: " + e.getMessage());
            return new Result(List.copyOf(v), 0, 0);
        }
        Map<String, Map<Long, List<JsonNode>>> claims = new HashMap<>();
        for (JsonNode e : journal) {
            if (e.path("ev").asText().equals("claim")) {
                claims.computeIfAbsent(e.get("run").asText(), k -> new HashMap<>())
                        .computeIfAbsent(e.get("epoch").asLong(), k -> new ArrayList<>()).add(e);
            }
        }
        int restores = 0;
        int n = 0;
        for (CheckpointEntry e : root.checkpoints().values()) {
            String what = "checkpoint " + e.id() + " (run " + e.run() + ", step " + e.step() + ")";
            Manifest m;
            try {
                m = store.manifest(e);
            } catch (RuntimeException x) {
                v.add(what + " is in ROOT but its manifest cannot be read: " + x.getMessage());
                continue;
            }
            Manifest.Writer w = m.writer();
            List<JsonNode> claimed = claims.getOrDefault(e.run(), Map.of()).getOrDefault(w == null ? -1 : w.epoch(), List.of());
            if (w == null || claimed.stream().noneMatch(c -> c.get("writer").asText().equals(w.id()))) {
                v.add(what + " was committed by writer " + (w == null ? "(none)" : w.id() + " epoch " + w.epoch())
                        + ", which no process claimed");
            }
            Path dir = scratch.resolve("check-" + e.id());
            try {
                store.restore(e, dir, List.of());
                restores++;
                String diff = Content.difference(Content.of(dataSeed, e.run(), e.step()), Content.read(dir));
                if (diff != null) {
                    v.add(what + " restores other bytes than were saved: " + diff);
                }
            } catch (RuntimeException x) {
                v.add(what + " is in ROOT but does not restore: " + x.getClass().getSimpleName() + ": " + x.getMessage());
            } finally {
                TortureChild.deleteTree(dir);
            }
            n++;
        }
        try {
            VerifyReport r = store.verify(VerifyRequest.deep());
            for (VerifyReport.Problem p : r.problems()) {
                v.add("deep verify: checkpoint " + p.checkpointId() + ": " + p.kind() + " " + p.key() + ": " + p.message());
            }
        } catch (RuntimeException x) {
            v.add("deep verify failed: " + x.getClass().getSimpleName() + ": " + x.getMessage());
        }
        claims.forEach((run, byEpoch) -> byEpoch.forEach((epoch, cs) -> {
            if (cs.size() > 1) {
                v.add("epoch " + epoch + " of run " + run + " was claimed " + cs.size() + " times: " + cs);
            }
            RunState rs = root.runs().get(run);
            if (rs == null || rs.writerEpoch() < epoch) {
                v.add("ROOT's writer epoch of run " + run + " is " + (rs == null ? "absent" : rs.writerEpoch())
                        + ", below the claimed epoch " + epoch);
            }
        }));
        for (JsonNode c : journal) {
            String ev = c.path("ev").asText();
            if (ev.equals("commit")) {
                checkCommit(root, claims, c, v);
            } else if (ev.equals("fenced")) {
                checkFenced(store, root, c, v);
            } else if (ev.equals("violation")) {
                v.add(c.get("child").asText() + " reported: " + c.get("text").asText());
            } else if (ev.equals("error") && !c.path("ckpt").asBoolean()) {
                v.add(c.get("child").asText() + " failed with an exception that is not a store error, in "
                        + c.path("what").asText() + ": " + c.path("kind").asText() + ": " + c.path("message").asText());
            }
        }
        return new Result(List.copyOf(v), n, restores);
    }

    private static void checkCommit(RootState root, Map<String, Map<Long, List<JsonNode>>> claims, JsonNode c, Set<String> v) {
        String run = c.get("run").asText();
        long epoch = c.get("epoch").asLong();
        long step = c.get("step").asLong();
        String id = c.get("id").asText();
        String what = "commit of " + id + " (run " + run + ", step " + step + ") by " + c.get("writer").asText()
                + " with epoch " + epoch;
        claims.getOrDefault(run, Map.of()).forEach((newer, cs) -> {
            for (JsonNode claim : cs) {
                if (newer > epoch && claim.get("t").asLong() < c.get("t0").asLong()) {
                    v.add(what + " succeeded although epoch " + newer + " had been claimed by " + claim.get("writer").asText()
                            + " " + (c.get("t0").asLong() - claim.get("t").asLong()) + " us before the save began:"
                            + " a fenced writer committed");
                }
            }
        });
        CheckpointEntry e = root.checkpoints().get(id);
        if (e != null) {
            if (!e.run().equals(run) || e.step() != step || e.writerEpoch() != epoch) {
                v.add(what + " is in ROOT as run " + e.run() + ", step " + e.step() + ", epoch " + e.writerEpoch());
            }
        } else if (root.checkpointsOf(run).stream().noneMatch(o -> o.step() >= step)) {
            v.add(what + " was reported committed but is not in ROOT, and the run has no checkpoint at a later step"
                    + " (retention always keeps the newest): a committed checkpoint was lost");
        }
    }

    private static void checkFenced(CheckpointStore store, RootState root, JsonNode f, Set<String> v) {
        String run = f.get("run").asText();
        long step = f.get("step").asLong();
        for (CheckpointEntry e : root.checkpointsOf(run)) {
            if (e.step() == step && e.writerEpoch() == f.get("epoch").asLong()) {
                Manifest.Writer w;
                try {
                    w = store.manifest(e).writer();
                } catch (RuntimeException x) {
                    continue; // reported by the restore check
                }
                if (w != null && w.id().equals(f.get("writer").asText())) {
                    v.add("checkpoint " + e.id() + " (run " + run + ", step " + step + ") is in ROOT although its save by "
                            + w.id() + " epoch " + w.epoch() + " was refused as fenced");
                }
            }
        }
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.objectstore.ConditionalWriteProbe;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.ProbingObjectStore;
import picocli.CommandLine.Command;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "doctor", description = {"Check that the backend can hold checkpoints safely; exits 5 if not.",
        "Checks listing and reading, ROOT, and the conditional writes the store relies on (create-only",
        "If-None-Match: *, compare-and-swap If-Match), and on S3 which form of the ETag the server reads in",
        "If-Match: quoted as RFC 7232 writes it (AWS S3, MinIO) or bare (Ceph RGW 16.2)."},
        footer = {"", "A store on a read-only mount is reported as read-only (exit 0 if it can be read); its writes are not probed.",
                "", "Example:", "  AWS_ENDPOINT_URL=http://ceph:7480 ckpt-tool doctor s3://ckpt/test"})
final class DoctorCommand extends StoreCommand {
    /** doctor writes probe objects anyway: on a new path it checks that a store can be made there. */
    @Override
    boolean createsStore() {
        return true;
    }

    @Override
    int run(CheckpointStore store) {
        ObjectStore objects = store.objectStore();
        ObjectStore raw = objects instanceof ProbingObjectStore p ? p.delegate() : objects;
        List<Map<String, Object>> checks = new ArrayList<>();
        boolean ok = true;
        ok &= check(checks, "list objects", () -> objects.list("manifests/").stream().count() + " manifests listed");
        ok &= check(checks, "read ROOT", () -> {
            var r = store.root();
            return r.version() == 0 ? "no ROOT yet (ckpt-tool init creates it)" : "version " + r.version() + ", "
                    + r.checkpoints().size() + " checkpoints";
        });
        java.util.Optional<String> readOnly = ObjectStores.readOnlyReason(objects);
        if (readOnly.isPresent()) {
            return readOnly(objects, checks, ok, readOnly.get());
        }
        ConditionalWriteProbe.Result probe = ConditionalWriteProbe.run(raw);
        checks.add(result("create-only writes (If-None-Match: *)", probe.createOnly(), probe.createOnly() ? "refused a second create" : "NOT honoured"));
        checks.add(result("compare-and-swap, stale ETag refused (If-Match)", probe.staleIfMatchRefused(),
                probe.staleIfMatchRefused() ? "refused" : "NOT refused"));
        checks.add(result("compare-and-swap, current ETag accepted", probe.currentIfMatchAccepted(),
                probe.currentIfMatchAccepted() ? "accepted" : "NOT accepted"));
        if (probe.ifMatchForm() != null) {
            checks.add(result("If-Match form the server honours", true, probe.ifMatchForm().describe()));
        }
        boolean conditional = probe.ok();
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("store", objects.describe());
            j.put("ok", ok && conditional);
            j.put("readOnly", false);
            j.put("conditionalWrites", conditional);
            j.put("ifMatchForm", probe.ifMatchForm() == null ? null : probe.ifMatchForm().name().toLowerCase(java.util.Locale.ROOT));
            j.put("checks", checks);
            j.put("problems", probe.problems());
            output.printJson(out(), j);
        } else {
            out().println("store " + objects.describe());
            for (Map<String, Object> c : checks) {
                out().printf("  %-4s %-48s %s%n", (Boolean) c.get("ok") ? "ok" : "FAIL", c.get("check"), c.get("detail"));
            }
            probe.problems().forEach(p -> out().println("  problem: " + p));
            out().println(ok && conditional ? "this store can hold checkpoints safely"
                    : conditional ? "fix the failures above" : "this backend cannot commit checkpoints safely: it lacks conditional writes");
        }
        if (!conditional) {
            return ExitCode.NO_CONDITIONAL_WRITES;
        }
        return ok ? ExitCode.OK : ExitCode.ERROR;
    }

    /**
     * A store that can only be read (a read-only mount, a snapshot): the write probe would
     * only fail, so doctor says what works and what does not, and exits 0 if reading works.
     */
    private int readOnly(ObjectStore objects, List<Map<String, Object>> checks, boolean ok, String why) {
        String note = "store is read-only (" + why + "): ls, show, verify, restore, export, diff, stats, doctor and"
                + " gc --dry-run work; push, import, forget, pin, unpin, gc and verify --record need a writable mount";
        checks.add(result("writable", false, "no: " + why + "; conditional writes not probed"));
        if (output.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("store", objects.describe());
            j.put("ok", ok);
            j.put("readOnly", true);
            j.put("readOnlyReason", why);
            j.put("conditionalWrites", null);
            j.put("checks", checks);
            j.put("problems", List.of());
            output.printJson(out(), j);
        } else {
            out().println("store " + objects.describe());
            for (Map<String, Object> c : checks) {
                out().printf("  %-4s %-48s %s%n", (Boolean) c.get("ok") ? "ok" : "--", c.get("check"), c.get("detail"));
            }
            out().println(note);
            if (!ok) {
                out().println("fix the failures above");
            }
        }
        return ok ? ExitCode.OK : ExitCode.ERROR;
    }

    private static Map<String, Object> result(String check, boolean ok, String detail) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("check", check);
        m.put("ok", ok);
        m.put("detail", detail);
        return m;
    }

    private static boolean check(List<Map<String, Object>> checks, String name, java.util.function.Supplier<String> action) {
        try {
            checks.add(result(name, true, action.get()));
            return true;
        } catch (CkptException e) {
            checks.add(result(name, false, e.getMessage()));
            return false;
        }
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.PermissionDeniedException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.objectstore.ConditionalWriteProbe;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.ObjectStores;
import dev.ckpt.store.objectstore.ProbingObjectStore;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

@Command(name = "doctor", description = {"Check that the backend can hold checkpoints safely; exits 5 if not.",
        "Checks listing and reading, ROOT, on a local store that nothing stands where ROOT, its lock file or the"
                + " store's directories must be written, and the conditional writes the store relies on (create-only"
                + " If-None-Match: *, compare-and-swap If-Match), and on S3 which form of the ETag the server reads in"
                + " If-Match: quoted as RFC 7232 writes it (AWS S3, MinIO) or bare (Ceph RGW 16.2)."},
        footer = {"", "A store on a read-only mount, or opened with credentials that may not write (docs/security.md), is"
                + " reported as read-only (exit 0 if it can be read); its writes are not probed.",
                "", "Example:", "  AWS_ENDPOINT_URL=http://ceph:7480 ckpt-tool doctor s3://ckpt/test"})
final class DoctorCommand extends StoreCommand {
    /** doctor writes probe objects anyway: on a new path it checks that a store can be made there. */
    @Override
    boolean createsStore() {
        return true;
    }

    /** A file where the store keeps a directory is one of its checks, not a refusal. */
    @Override
    boolean refusesObstructedStore() {
        return false;
    }

    /** ... and leaves no directory behind: it made one only to probe (helper-95). */
    @Override
    boolean keepsCreatedDirectory() {
        return false;
    }

    /** Whether the location holds a store (a ROOT); null until ROOT was read, and if it could not be. */
    private Boolean holdsStore;

    @Override
    int run(CheckpointStore store) {
        try {
            return diagnose(store);
        } finally {
            if (!Boolean.TRUE.equals(holdsStore)) {
                removeEmptyProbeDirectories(store.objectStore());
            }
        }
    }

    /**
     * In a local directory that holds no store: removes {@code probe/} and {@code .locks/} if
     * the probe left them empty (a probe that failed, on a full disk, left {@code probe/}:
     * helper-96). Only real, empty directories; best effort.
     */
    private static void removeEmptyProbeDirectories(ObjectStore objects) {
        ObjectStores.localDirectory(objects).ifPresent(dir -> {
            for (String name : List.of("probe", ".locks")) {
                java.nio.file.Path p = dir.resolve(name);
                if (java.nio.file.Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    try {
                        java.nio.file.Files.delete(p);
                    } catch (java.io.IOException e) {
                        // not empty, or gone: it stays
                    }
                }
            }
        });
    }

    private int diagnose(CheckpointStore store) {
        ObjectStore objects = store.objectStore();
        ObjectStore raw = objects instanceof ProbingObjectStore p ? p.delegate() : objects;
        List<Check> checks = new ArrayList<>();
        // which server this is: the endpoint in use was nowhere to be seen (helper-76)
        objects.server().ifPresent(s -> checks.add(new Check("server", true, s)));
        boolean ok = true;
        ok &= check(checks, "list objects", () -> dev.ckpt.store.commit.SaveResult.count(
                objects.list("manifests/").stream().count(), "manifest") + " listed");
        ok &= check(checks, "read ROOT", () -> {
            var r = store.root();
            // a location a save wrote chunks into but never committed to is a store that lists as empty, as ls says
            holdsStore = r.version() != 0 || objects.list("chunks/").stream().findAny().isPresent();
            return r.version() == 0 ? "no ROOT yet (ckpt-tool init creates it)" : "version " + r.version() + ", "
                    + dev.ckpt.store.commit.SaveResult.count(r.checkpoints().size(), "checkpoint");
        });
        if (ok) {
            // an older ROOT put back (or lost): ls and the other checks see nothing wrong, and GC refuses to run
            // (helper-121: doctor said all was well)
            String name = "ROOT is not older than the store's checkpoints";
            try {
                java.util.Optional<dev.ckpt.store.commit.NewerThanRoot> newer = store.newerThanRoot();
                ok = newer.isEmpty();
                checks.add(new Check(name, ok, newer.map(n -> n.describe() + ". " + n.advice(
                        dev.ckpt.store.util.ShellWords.word(objects.describe()))).orElse("no manifest was written after it")));
            } catch (CkptException e) {
                ok = false;
                checks.add(new Check(name, false, e.getMessage(), e instanceof StoreUnavailableException u && !u.needsAction()));
            }
        }
        java.util.Optional<String> readOnly = ObjectStores.readOnlyReason(objects);
        if (readOnly.isPresent()) {
            // the write probe would only fail: say what works and what does not, exit 0 if reading works
            checks.add(new Check("writable", false, "no: " + readOnly.get() + "; conditional writes not probed"));
            print(new ReadOnlyDiagnosis(objects.describe(), ok, readOnly.get(), checks, holdsStore));
            return ok && !Boolean.FALSE.equals(holdsStore) ? ExitCode.OK : ExitCode.ERROR;
        }
        if (ObjectStores.localDirectory(objects).isPresent()) {
            // the probe writes under probe/ with lock files of its own: what stands in the way of ROOT's
            // replace or of the store's directories, only a look at them finds
            List<String> inTheWay = ObjectStores.obstructions(objects, dev.ckpt.store.manifest.RootState.KEY);
            ok &= inTheWay.isEmpty();
            checks.add(new Check("nothing stands where the store writes", inTheWay.isEmpty(),
                    inTheWay.isEmpty() ? "ROOT, its lock file and the directories are files and directories as the store keeps them"
                            : String.join("; and ", inTheWay)));
        }
        if (checks.stream().allMatch(c -> !c.ok() && c.unavailable())) {
            // nothing answered: a probe would fail the same way and say "not honoured", which is not what is wrong
            checks.add(new Check("conditional writes", false, "not probed: the store did not answer", true));
            print(new Diagnosis(objects.describe(), false, null, null, checks, List.of(), holdsStore, this.store));
            return ExitCode.UNAVAILABLE;
        }
        ConditionalWriteProbe.Result probe;
        ProbingObjectStore probing = objects instanceof ProbingObjectStore p ? p : null;
        // what was cached before this run's probe, said after it: doctor never goes by a cached verdict
        String cacheDetail = probing == null || !probing.cacheEnabled() ? null : probing.cacheEntry()
                .map(e -> "a passing verdict from " + ago(probing.age(e)) + " ago was cached")
                .orElse("no verdict was cached");
        try {
            // always a fresh probe; a passing verdict refreshes the cache entry, a failing one drops it
            probe = probing != null ? probing.probeAgain() : ConditionalWriteProbe.run(raw);
        } catch (StoreUnavailableException e) {
            // a refusal someone must act on (a file at .locks or probe/, a full disk) is no silent server
            checks.add(new Check("conditional writes", false, "not probed: " + e.getMessage(), !e.needsAction()));
            print(new Diagnosis(objects.describe(), false, null, null, checks, List.of(), holdsStore, this.store));
            return e.needsAction() ? ExitCode.ERROR : ExitCode.UNAVAILABLE;
        } catch (PermissionDeniedException e) {
            // credentials of a read-only role (docs/security.md): what they can do works; the probe says
            // nothing about the server, so report it as for a read-only mount, not as missing conditional writes
            String reason = "these credentials lack " + e.permission();
            checks.add(new Check("writable", false, "no: " + e.getMessage()));
            print(new ReadOnlyDiagnosis(objects.describe(), ok, reason, checks, holdsStore,
                    "credentials with s3:PutObject (docs/security.md)"));
            return ok && !Boolean.FALSE.equals(holdsStore) ? ExitCode.OK : ExitCode.ERROR;
        } catch (CkptException e) {
            // the probe's first, plain read failed (a missing bucket, credentials the server rejects): the store
            // was not reached, which says nothing about its conditions, and the cached verdict stays
            checks.add(new Check("conditional writes", false, "not probed: " + e.getMessage()));
            print(new Diagnosis(objects.describe(), false, null, null, checks, List.of(), holdsStore, this.store));
            return dev.ckpt.store.error.ExitCode.of(e).code();
        }
        checks.add(new Check("conditional writes probed now", true, cacheDetail == null ? "scratch object under probe/"
                : cacheDetail + "; " + (!probe.ok() ? "entry dropped" : probing.verdictRecorded() ? "entry refreshed"
                : "could not write the cache entry in " + probing.cacheDirectory().map(Object::toString).orElse("?")
                + " (make it a writable directory, or set XDG_CACHE_HOME); every run probes until then")));
        checks.add(new Check("create-only writes (If-None-Match: *)", probe.createOnly(), probe.createOnly() ? "refused a second create" : "NOT honoured"));
        checks.add(new Check("compare-and-swap, stale ETag refused (If-Match)", probe.staleIfMatchRefused(),
                probe.staleIfMatchRefused() ? "refused" : "NOT refused"));
        checks.add(new Check("compare-and-swap, current ETag accepted", probe.currentIfMatchAccepted(),
                probe.currentIfMatchAccepted() ? "accepted" : "NOT accepted"));
        if (probe.ifMatchForm() != null) {
            checks.add(new Check("If-Match form the server honours", true, probe.ifMatchForm().describe()));
        }
        boolean conditional = probe.ok();
        print(new Diagnosis(objects.describe(), ok && conditional, conditional,
                probe.ifMatchForm() == null ? null : probe.ifMatchForm().name().toLowerCase(java.util.Locale.ROOT), checks,
                probe.problems(), holdsStore, this.store));
        if (!conditional) {
            return ExitCode.NO_CONDITIONAL_WRITES;
        }
        return ok ? ExitCode.OK : ExitCode.ERROR;
    }

    private static String ago(java.time.Duration d) {
        long s = Math.max(0, d.toSeconds());
        return s < 120 ? s + " s" : s < 7200 ? s / 60 + " min" : s / 3600 + " h";
    }

    /** One check: what was tried, whether it worked, what was seen; {@code unavailable}: it failed because nothing answered. */
    record Check(String check, boolean ok, String detail, @JsonIgnore boolean unavailable) {
        Check(String check, boolean ok, String detail) {
            this(check, ok, detail, false);
        }
    }

    /**
     * The diagnosis of a writable store.
     *
     * @param ok                every check passed and the store has conditional writes
     * @param conditionalWrites create-only and compare-and-swap writes are honoured; null when not probed
     *                          (the store did not answer)
     * @param ifMatchForm       how the server reads If-Match ETags ("quoted", "bare"), null if not probed
     * @param holdsStore        the location holds a store (a ROOT); false: the checks say whether one can be made
     *                          there; null if ROOT could not be read
     * @param given             the store as given on the command line (text form only)
     */
    record Diagnosis(String store, boolean ok, Boolean conditionalWrites, String ifMatchForm, List<Check> checks,
                     List<String> problems, Boolean holdsStore, @JsonIgnore String given) implements OutputOptions.Result {
        @JsonProperty
        public boolean readOnly() {
            return false;
        }

        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.println("store " + ShowCommand.printable(store));
            for (Check c : checks) {
                out.printf("  %-4s %-48s %s%n", c.ok() ? "ok" : "FAIL", c.check(), Printable.message(c.detail()));
            }
            problems.forEach(p -> out.println("  problem: " + Printable.message(p))); // each on one line
            out.println(ok && Boolean.FALSE.equals(holdsStore) ? "no store here yet; one made here can hold checkpoints"
                    + " safely (ckpt-tool init " + dev.ckpt.store.util.ShellWords.word(given) + " makes it)"
                    : ok ? "this store can hold checkpoints safely"
                    : conditionalWrites == null && checks.stream().anyMatch(Check::unavailable)
                    ? "the store did not answer: check the endpoint, the network and that the server is up, then run"
                    + " doctor again (exit 7)"
                    : conditionalWrites == null ? "fix the failures above, then run doctor again to probe the conditional writes"
                    : conditionalWrites ? "fix the failures above" : "this backend cannot commit checkpoints safely: it lacks conditional writes");
        }
    }

    /**
     * The diagnosis of a store that can only be read (a read-only mount, a snapshot): writes are not probed.
     *
     * @param ok         every read check passed
     * @param holdsStore the location holds a store (a ROOT); null if ROOT could not be read
     * @param writesNeed what the writing commands need (a writable mount, credentials with a permission)
     */
    record ReadOnlyDiagnosis(String store, boolean ok, String readOnlyReason, List<Check> checks, Boolean holdsStore,
                             @JsonIgnore String writesNeed)
            implements OutputOptions.Result {
        /** A read-only mount. */
        ReadOnlyDiagnosis(String store, boolean ok, String readOnlyReason, List<Check> checks, Boolean holdsStore) {
            this(store, ok, readOnlyReason, checks, holdsStore, "a writable mount");
        }

        @JsonProperty
        public boolean readOnly() {
            return true;
        }

        /** Not probed: null in JSON. */
        @JsonProperty
        public Boolean conditionalWrites() {
            return null;
        }

        @JsonProperty
        public List<String> problems() {
            return List.of();
        }

        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            out.println("store " + ShowCommand.printable(store));
            for (Check c : checks) {
                out.printf("  %-4s %-48s %s%n", c.ok() ? "ok" : "--", c.check(), Printable.message(c.detail()));
            }
            if (Boolean.FALSE.equals(holdsStore)) { // nothing to read, and nothing can be made (helper-96: exit 0)
                out.println("no store here, and none can be made: the location is read-only (" + readOnlyReason + ");"
                        + " init needs " + writesNeed);
                return;
            }
            out.println("store is read-only (" + readOnlyReason + "): ls, show, verify, restore, export, diff, stats, doctor"
                    + " and gc --dry-run work; push, import, forget, pin, unpin, gc and verify --record need " + writesNeed);
            if (!ok) {
                out.println("fix the failures above");
            }
        }
    }

    private static boolean check(List<Check> checks, String name, java.util.function.Supplier<String> action) {
        try {
            checks.add(new Check(name, true, action.get()));
            return true;
        } catch (CkptException e) {
            checks.add(new Check(name, false, e.getMessage(),
                    e instanceof StoreUnavailableException u && !u.needsAction()));
            return false;
        }
    }

    @Override
    String interrupted(String committing) {
        return "objects it wrote to probe the store may be left under probe/, with their lock files under .locks/"
                + " (in a store, gc removes them once an hour old; in a directory that holds no store, delete them) and"
                + " the directory itself if doctor made it; nothing else was changed";
    }
}

package dev.ckpt.store.commit;

import dev.ckpt.store.util.Durations;
import dev.ckpt.store.util.RandomIds;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.chunk.ChunkRef;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.error.StoreUnavailableException;
import dev.ckpt.store.manifest.CheckpointEntry;
import dev.ckpt.store.manifest.GcState;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.manifest.Manifest;
import dev.ckpt.store.manifest.ManifestLoader;
import dev.ckpt.store.manifest.RootState;
import dev.ckpt.store.manifest.RunState;
import dev.ckpt.store.objectstore.ObjectInfo;
import dev.ckpt.store.objectstore.ObjectListing;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.StoredObject;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rebuilds an unreadable or missing ROOT from the manifests in the store.
 *
 * <p>Every object under {@code manifests/} is read and parsed; it is kept when it parses,
 * names itself correctly and every chunk it references exists with the recorded stored
 * size (one listing of {@code chunks/}, as a structural verify), and skipped with the reason
 * otherwise. The new ROOT holds the kept checkpoints (not pinned, not verified: ROOT held
 * that), every run seen in any manifest with a writer epoch {@link #EPOCH_JUMP} above the
 * highest epoch seen (in manifests and in whatever is left of the damaged ROOT), so every
 * writer that held the run before stays fenced, and an idle GC state at the highest GC
 * generation seen (under {@code gc/} and in the damaged bytes).
 *
 * <p>It never runs beside a live writer or GC unnoticed: a damaged ROOT already stops both
 * (each reads ROOT first), but one may have been mid-upload when ROOT broke, so recovery
 * refuses when any object was written within the quiet period (unless forced); and it
 * writes the new ROOT with {@code If-Match} on the damaged ROOT's ETag (or create-only when
 * ROOT is missing), so a concurrent repair or a second recovery is detected, never
 * overwritten. The damaged bytes are first copied to {@code recovery/} (create-only).
 * A healthy ROOT is never replaced.
 */
public final class RootRecovery {
    /**
     * How far above the highest epoch seen the rebuilt epochs start. A writer that claimed
     * the run after its last commit holds an epoch no manifest shows; claims come one per
     * job start, so any such writer is still fenced unless it claimed this many times
     * without committing once.
     */
    public static final long EPOCH_JUMP = 1000;
    public static final String RECOVERY_PREFIX = "recovery/";
    private static final Pattern EPOCH = Pattern.compile("\"writerEpoch\"\\s*:\\s*(\\d{1,18})");
    private static final Pattern GENERATION = Pattern.compile("\"generation\"\\s*:\\s*(\\d{1,18})");
    private static final Pattern VERSION = Pattern.compile("\"version\"\\s*:\\s*(\\d{1,18})");
    private static final Pattern GC_RECORD = Pattern.compile("gc/(\\d{1,18})\\.json");

    private final ObjectStore store;
    private final StoreConfig config;

    public RootRecovery(ObjectStore store, StoreConfig config) {
        this.store = store;
        this.config = config;
    }

    /**
     * @param apply       write the new ROOT (otherwise a dry run that writes nothing)
     * @param quietPeriod refuse when an object was written more recently than this
     * @param force       rebuild even when an object is younger than the quiet period
     */
    public RecoveryReport run(boolean apply, Duration quietPeriod, boolean force) {
        String where = RootState.KEY + " of " + store.describe();
        StoredObject damaged = null;
        RecoveryReport.Condition condition;
        String problem = null;
        try {
            damaged = store.get(RootState.KEY);
            RootState s = Json.readRoot(where, damaged.data(), store.describe());
            if (s.version() >= 1 && s.txn() != null) {
                return new RecoveryReport(RecoveryReport.Condition.HEALTHY, null, RecoveryReport.Decision.NOTHING_TO_DO,
                        where + " is readable (" + SaveResult.count(s.checkpoints().size(), "checkpoint") + ", version " + s.version()
                                + "); nothing to do: recover only rebuilds a ROOT that cannot be read",
                        List.of(), 0, 0, s.gc().generation(), null, null, null, null);
            }
            condition = RecoveryReport.Condition.DAMAGED;
            problem = where + " parses but has no version or transaction id: ckpt never writes such a ROOT";
        } catch (NotFoundException e) {
            if (e.inItsPlace() != null) { // not lost: rebuilding cannot help until it is moved (a local store's FIFO or directory)
                throw StoreUnavailableException.needingAction("cannot read " + where + ": " + e.inItsPlace()
                        + "; nothing was changed", e);
            }
            condition = RecoveryReport.Condition.MISSING;
        } catch (CorruptObjectException e) {
            condition = RecoveryReport.Condition.DAMAGED;
            String m = String.valueOf(e.getMessage());
            int advice = m.indexOf("; nothing was changed");
            problem = advice < 0 ? m : m.substring(0, advice); // its advice is to run this
        }

        ObjectListing manifestObjects = store.list("manifests/"); // listed anew by each loop: never all in memory
        Map<String, Long> chunkSizes = new HashMap<>();
        ObjectInfo newest = null;
        for (ObjectInfo o : store.list("chunks/")) {
            chunkSizes.put(o.key(), o.size());
            newest = newer(newest, o);
        }
        long generation = 0;
        for (ObjectInfo o : store.list("gc/")) {
            newest = newer(newest, o);
            Matcher m = GC_RECORD.matcher(o.key());
            if (m.matches()) {
                generation = Math.max(generation, Long.parseLong(m.group(1)));
            }
        }
        for (ObjectInfo o : manifestObjects) {
            newest = newer(newest, o);
        }
        if (condition == RecoveryReport.Condition.MISSING && manifestObjects.isEmpty()) {
            return new RecoveryReport(condition, null, RecoveryReport.Decision.NOTHING_TO_DO, "the store "
                    + store.describe() + " has no ROOT and no manifests: nothing to recover (ckpt-tool init creates an empty store)",
                    List.of(), 0, 0, 0, newest == null ? null : newest.key(), newest == null ? null : newest.lastModified(),
                    null, null);
        }

        String text = damaged == null ? "" : new String(damaged.data(), StandardCharsets.ISO_8859_1);
        long highestEpoch = maxOf(EPOCH, text);
        generation = Math.max(generation, maxOf(GENERATION, text));
        Map<String, CheckpointEntry> checkpoints = new TreeMap<>();
        TreeSet<String> runs = new TreeSet<>();
        List<RecoveryReport.Finding> findings = new ArrayList<>();
        ManifestLoader parts = new ManifestLoader(store);
        for (ObjectInfo o : manifestObjects) {
            String id = o.key().substring("manifests/".length()).replaceFirst("\\.json$", "");
            if (id.contains("/") || !Manifest.isOwnKey(o.key())) {
                // a rank's part manifest: read with its checkpoint's top manifest; or no manifest of this store's
                // (another store's, whose prefix lies in this one's manifests/: its ROOT, say)
                continue;
            }
            Manifest m;
            String sha;
            try {
                byte[] data = store.get(o.key()).data();
                sha = Hashes.sha256Hex(data);
                m = Json.readManifest(o.key(), data, null, "to keep its checkpoint, put the manifest back from a"
                        + " backup before recover --apply (a readable ROOT is never rebuilt)");
            } catch (NotFoundException e) {
                findings.add(new RecoveryReport.Finding(o.key(), id, null, 0, false, "gone while recovery ran"));
                continue;
            } catch (CkptException | IllegalArgumentException e) {
                findings.add(new RecoveryReport.Finding(o.key(), id, null, 0, false, "damaged: " + e.getMessage()));
                continue;
            }
            runs.add(m.run());
            if (m.writer() != null) {
                highestEpoch = Math.max(highestEpoch, m.writer().epoch());
            }
            Manifest top = m;
            if (m.parts() != null) {
                // a checkpoint of several ranks: kept only when every part reads, matches the top's hash and
                // has its chunks
                try {
                    m = parts.load(CheckpointEntry.of(m, sha));
                } catch (CkptException | IllegalArgumentException e) {
                    findings.add(new RecoveryReport.Finding(o.key(), m.id(), m.run(), m.step(), false,
                            "a part is missing or damaged: " + e.getMessage()));
                    continue;
                }
            }
            String missing = missingChunk(m, chunkSizes);
            if (missing != null) {
                findings.add(new RecoveryReport.Finding(o.key(), m.id(), m.run(), m.step(), false, missing));
                continue;
            }
            checkpoints.put(m.id(), CheckpointEntry.of(top, sha));
            findings.add(new RecoveryReport.Finding(o.key(), m.id(), m.run(), m.step(), true,
                    SaveResult.count(m.files().size(), "file") + ", " + SaveResult.count(m.chunks().size(), "chunk") + " present"));
        }

        Instant now = config.clock().instant().truncatedTo(ChronoUnit.SECONDS);
        long epoch = highestEpoch + EPOCH_JUMP;
        Map<String, RunState> runStates = new TreeMap<>();
        for (String run : runs) {
            runStates.put(run, new RunState(epoch, "recovered", now));
        }
        RootState rebuilt = new RootState(RootState.FORMAT, maxOf(VERSION, text), null, List.of(), checkpoints, runStates,
                new GcState(GcState.Phase.IDLE, generation, null, null, List.of(), List.of()))
                .stamped(RandomIds.hex(12));
        // named by the damaged bytes, so a dry run names the key --apply then writes (helper: it named one of the dry
        // run's time and transaction, and --apply another); the same bytes kept twice are one object
        String backupKey = damaged == null ? null : RECOVERY_PREFIX + "ROOT-"
                + dev.ckpt.store.chunk.Hashes.sha256Hex(damaged.data()).substring(0, 16) + ".damaged";
        String newestKey = newest == null ? null : newest.key();
        Instant newestAt = newest == null ? null : newest.lastModified().truncatedTo(ChronoUnit.SECONDS);
        long lacking = findings.stream().filter(f -> !f.kept() && !f.reason().equals("gone while recovery ran")).count();
        // a skipped checkpoint is not in the new ROOT, so GC deletes the data only it used (helper-120: a checkpoint
        // skipped for one missing 195 KiB chunk lost its 2.9 MiB intact file to the next GC, with no word of it)
        String kept = checkpoints.size() + " of " + findings.size() + " manifests kept" + (lacking == 0 ? ""
                : "; a skipped checkpoint is not in the new ROOT, and GC deletes the data only it used once the grace"
                + " age has passed: to keep one, put back what it lacks (from a backup) before --apply, since a"
                + " readable ROOT is never rebuilt");
        String keptApplied = checkpoints.size() + " of " + findings.size() + " manifests kept" + (lacking == 0 ? ""
                : "; the skipped checkpoints are not in it, and GC deletes the data only they used once the grace age"
                + " has passed (ckpt-tool gc " + dev.ckpt.store.util.ShellWords.word(store.describe())
                + " --dry-run --list shows what)");

        if (newest != null && !force && newest.lastModified().isAfter(config.clock().instant().minus(quietPeriod))) {
            return new RecoveryReport(condition, problem, RecoveryReport.Decision.REFUSED_RECENT_ACTIVITY,
                    "refused: " + newest.key() + " was written at " + newestAt + ", less than "
                            + Durations.format(quietPeriod) + " ago, so a save or GC may still be running; stop every job"
                            + " writing to " + store.describe() + ", wait until the quiet period has passed and run again"
                            + " (or --force if you are sure nothing is running)",
                    findings, epoch, highestEpoch, generation, newestKey, newestAt, backupKey, rebuilt);
        }
        if (!apply) {
            return new RecoveryReport(condition, problem, RecoveryReport.Decision.WOULD_REWRITE,
                    "dry run: nothing written; " + kept + "; run again with --apply to write the new ROOT"
                            + (backupKey == null ? "" : " (the damaged ROOT is kept as " + backupKey + " first)"),
                    findings, epoch, highestEpoch, generation, newestKey, newestAt, backupKey, rebuilt);
        }
        if (damaged != null && store.putIfAbsent(backupKey, damaged.data(), 0, damaged.data().length)
                == dev.ckpt.store.objectstore.PutResult.ALREADY_EXISTS && !java.util.Arrays.equals(
                store.get(backupKey).data(), damaged.data())) {
            // another object at the key: ROOT is not replaced, or the damaged bytes would be kept nowhere while the
            // message said where (helper-140)
            return new RecoveryReport(condition, problem, RecoveryReport.Decision.CONFLICT,
                    "nothing was replaced: " + backupKey + ", where the damaged ROOT is kept first, holds other bytes;"
                            + " move it out of the store and run again",
                    findings, epoch, highestEpoch, generation, newestKey, newestAt, backupKey, rebuilt);
        }
        boolean written = new RootStore(store).replaceUnreadable(damaged == null ? null : damaged.etag(), rebuilt);
        if (!written) {
            return new RecoveryReport(condition, problem, RecoveryReport.Decision.CONFLICT,
                    where + " changed while recovery ran (someone else repaired or rewrote it); nothing was replaced:"
                            + " look at it with ckpt-tool ls " + dev.ckpt.store.util.ShellWords.word(store.describe()) + " and run recover again only if it is still damaged",
                    findings, epoch, highestEpoch, generation, newestKey, newestAt, backupKey, rebuilt);
        }
        return new RecoveryReport(condition, problem, RecoveryReport.Decision.REWRITTEN,
                "wrote a new " + where + ": " + keptApplied + "; writer epoch " + epoch + " for every run (restart the training"
                        + " jobs: their old writer tokens are fenced)"
                        + (backupKey == null ? "" : "; the damaged ROOT is kept as " + backupKey),
                findings, epoch, highestEpoch, generation, newestKey, newestAt, backupKey, rebuilt);
    }


    private static ObjectInfo newer(ObjectInfo a, ObjectInfo b) {
        return a == null || b.lastModified().isAfter(a.lastModified()) ? b : a;
    }

    private static long maxOf(Pattern p, String text) {
        long max = 0;
        Matcher m = p.matcher(text);
        while (m.find()) {
            max = Math.max(max, Long.parseLong(m.group(1)));
        }
        return max;
    }

    /** Null when every chunk of the manifest is present with its stored size, else why not. */
    private static String missingChunk(Manifest m, Map<String, Long> sizes) {
        for (ChunkRef c : m.chunkRefs().values()) {
            Long size = sizes.get(c.key());
            if (size == null) {
                return "missing chunk " + c.key();
            }
            if (size != c.storedLength()) {
                return "chunk " + c.key() + " has " + size + " bytes, expected " + c.storedLength();
            }
        }
        return null;
    }
}

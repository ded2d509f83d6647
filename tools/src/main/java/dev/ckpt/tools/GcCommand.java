package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.GcRequest;
import dev.ckpt.store.config.StoreConfig;
import dev.ckpt.store.gc.GarbageCollector;
import dev.ckpt.store.gc.GcResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;

@Command(name = "gc", description = {"Delete data no live checkpoint references (older than the grace age).",
        "Safe while saves run. --dry-run deletes nothing and reports exactly what gc would delete.",
        "Also removes the temporary files that writes killed midway left in a local store, once they are older than"
                + " both the grace age and one hour."},
        footer = {"", "Example:", "  ckpt-tool gc s3://ml-ckpt/llama --dry-run --grace 2h"})
final class GcCommand extends StoreCommand {
    @Option(names = "--dry-run", description = "only say what would be deleted")
    boolean dryRun;

    @Option(names = "--grace", paramLabel = "DURATION", converter = Durations.class, defaultValue = "1h",
            description = "spare unreferenced objects younger than this (default 1h): uploads of saves in flight")
    Duration grace;

    @Option(names = "--list", description = "list every deleted (or deletable) object, one line each; --json always lists them (\"deleted\") and says how many (\"deletedObjects\")")
    boolean list;

    @Override
    StoreConfig config() {
        return StoreConfig.defaults().withGcGrace(grace);
    }

    @Override
    RuntimeException onFullDisk(dev.ckpt.store.error.StoreUnavailableException e) {
        return rootNeedsRoom(e, "run gc again");
    }

    @Override
    int run(CheckpointStore store) {
        GcResult r;
        try (OutputOptions.Progress p = output.start(err(), dryRun ? "gc --dry-run" : "gc")) {
            r = store.gc(GcRequest.of(dryRun).withProgress(p::update));
        }
        print(Collected.of(r, Durations.format(grace), list));
        return ExitCode.OK;
    }

    /**
     * @param resumed           this GC finished one that had crashed or stopped on an error
     * @param deleted           the keys deleted (or that would be, in a dry run)
     * @param youngUnreferenced unreferenced objects spared because they are younger than the grace age
     * @param grace             the grace age as written ("1h")
     * @param leftoverFiles     temporary files of writes killed midway (a local store's), removed or that would be:
     *                          those older than the grace age and at least {@link GarbageCollector#LEFTOVER_AGE}
     * @param leftoverBytes     their size in bytes
     * @param leftoverNotes     a line for each killed import's or export's staging directory removed (or that would
     *                          be), or that could not be, with what to do
     * @param refusedNow        dry run only: why a gc started now would be refused (another GC holds the lease); else absent
     * @param list              print every key in the text form (--list)
     */
    record Collected(boolean dryRun, long generation, boolean resumed, int deletedObjects, long deletedBytes,
                     List<String> deleted, int liveCheckpoints, int youngUnreferenced, String grace,
                     int leftoverFiles, long leftoverBytes, List<String> leftoverNotes,
                     @JsonInclude(JsonInclude.Include.NON_NULL) String refusedNow,
                     @JsonIgnore boolean list) implements OutputOptions.Result {
        static Collected of(GcResult r, String grace, boolean list) {
            return new Collected(r.dryRun(), r.generation(), r.resumed(), r.deletedKeys().size(), r.deletedBytes(),
                    r.deletedKeys(), r.liveCheckpoints(), r.youngUnreferenced(), grace, r.leftovers().files(),
                    r.leftovers().bytes(), r.leftovers().notes(), r.refusedNow(), list);
        }

        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            if (list) {
                deleted.forEach(k -> out.println((dryRun ? "would delete " : "deleted ") + k));
            }
            out.printf("%s %s (%s)%s; %s; %s younger than %s spared%n",
                    dryRun ? "would delete" : "deleted", count(deletedObjects, "object"), human(deletedBytes),
                    !resumed ? "" : refusedNow == null ? " finishing a GC that had crashed or stopped"
                            : " finishing the sweep of a GC that holds the lease (below)", count(liveCheckpoints, "live checkpoint"),
                    count(youngUnreferenced, "unreferenced object"), grace);
            if (leftoverFiles > 0) {
                out.printf("%s %s of interrupted writes%s (%s)%n", dryRun ? "would remove" : "removed",
                        count(leftoverFiles, "temporary file"), leftoverNotes.isEmpty() ? ""
                                : ", those of the directories below included", human(leftoverBytes));
            }
            leftoverNotes.forEach(n -> out.println(Printable.message(n))); // a path's line break escaped: one line each
            if (refusedNow != null) {
                out.println("but gc now would be refused: " + Printable.message(refusedNow));
            }
        }
    }

    @Override
    String interrupted(String committing) {
        return "what it deleted no checkpoint referenced; run it again to finish (its lease on the store, if it"
                + " held one, lapses by itself)";
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.manifest.CheckpointEntry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

@Command(name = "ls", description = {"List checkpoints, sorted by run, then step.",
        "Columns: id, run, step, created, ranks (world size: how many ranks saved it), files, logical size, bytes only"
                + " it holds, the day every byte of it was last verified (verify --read-data --record, or a resume that"
                + " read every chunk: retention keeps a run's newest verified checkpoint), pinned (yes, or empty).",
        "A checkpoint whose manifest is missing or damaged cannot be restored: its PINNED column says DAMAGED, and the"
                + " listing then ends with exit 3."},
        footer = {"", "Example:", "  ckpt-tool ls s3://ml-ckpt/llama --run run-42"})
final class LsCommand extends StoreCommand {
    @Option(names = "--run", paramLabel = "RUN", description = "only this run")
    String run;

    /** A --run no push accepts is a usage error, as push says it (helper-119: ls --run ../x exited 0, "no checkpoints"). */
    @Override
    void checkArguments() {
        if (run != null) {
            runName("--run", run);
        }
    }

    @Override
    int run(CheckpointStore store) {
        Inventory inv = new Inventory(store, run, true);
        List<Row> rows = new ArrayList<>();
        for (CheckpointEntry e : inv.checkpoints) {
            rows.add(new Row(e.id(), e.run(), e.step(), e.created(), e.ranks(), e.files(), e.logicalBytes(), inv.uniqueBytes(e.id()),
                    e.pinned(), e.verifiedAt(), e.metadata(), inv.unreadable.get(e.id())));
        }
        // a run with no checkpoints (a typo?): the runs that have some (helper-118: it listed none)
        List<String> runs = run != null && rows.isEmpty() ? store.list(null).stream().map(CheckpointEntry::run).distinct()
                .toList() : List.of();
        print(new Listing(store.objectStore().describe(), run, rows, runs));
        // the damage among the checkpoints listed (helper-104: --run R said another run's), after the listing
        List<String> damage = rows.stream().filter(r -> r.unreadable() != null).map(Row::unreadable).toList();
        if (damage.isEmpty()) {
            return ExitCode.OK;
        }
        damage.forEach(d -> err().println("ckpt-tool ls: " + Printable.message(d))); // one line each
        err().println("ckpt-tool ls: " + dev.ckpt.store.commit.SaveResult.count(damage.size(), "checkpoint")
                + (run == null ? " of the store" : " of run " + run) + " cannot be restored (UNIQUE shows '?' where"
                + " unknown, and counts none of their chunks);"
                + " ckpt-tool verify " + dev.ckpt.store.util.ShellWords.word(this.store) + " says what is damaged,"
                + " ckpt-tool forget drops a checkpoint that cannot be mended");
        return ExitCode.DAMAGE;
    }

    /**
     * @param run  the run asked for (null: all), for the text form only
     * @param runs when that run has no checkpoints, the runs that have some ({@code runsWithCheckpoints} in
     *             {@code --json}, absent when empty: helper-119 found it on stderr only)
     */
    record Listing(String store, @JsonIgnore String run, List<Row> checkpoints,
                   @com.fasterxml.jackson.annotation.JsonProperty("runsWithCheckpoints")
                   @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY)
                   List<String> runs)
            implements OutputOptions.Result {
        @Override
        public void printText(PrintWriter out, PrintWriter err) {
            List<Object[]> rows = new java.util.ArrayList<>();
            rows.add(new Object[]{"ID", "RUN", "STEP", "CREATED", "RANKS", "FILES", "SIZE", "UNIQUE", "VERIFIED", "PINNED"});
            for (Row e : checkpoints) {
                rows.add(new Object[]{e.id(), e.run(), e.step(), e.created().toString().replaceFirst("\\.\\d+Z$", "Z"), e.ranks(),
                        e.files(), human(e.logicalBytes()), e.uniqueBytes() == null ? "?" : human(e.uniqueBytes()),
                        e.verifiedAt() == null ? "" : e.verifiedAt().toString().substring(0, 10), (e.pinned() ? "yes" : "") + (e.unreadable() == null ? "" : (e.pinned() ? " " : "") + "DAMAGED")});
            }
            // each column as wide as its widest cell, at least as before: a 100-letter run name or a step of 19
            // digits pushed its row's columns out of line (helper-145)
            int[] width = {32, 16, 10, 20, 5, 5, 10, 10, 10};
            for (Object[] r : rows) {
                for (int i = 0; i < width.length; i++) {
                    width[i] = Math.max(width[i], shown(r[i]).length());
                }
            }
            String fmt = "%-" + width[0] + "s %-" + width[1] + "s %" + width[2] + "s  %-" + width[3] + "s %" + width[4]
                    + "s %" + width[5] + "s %" + width[6] + "s %" + width[7] + "s  %-" + width[8] + "s  %s";
            for (Object[] r : rows) {
                row(out, fmt, r);
            }
            if (checkpoints.isEmpty()) {
                err.println("no checkpoints" + (run == null ? "" : " for run " + ShowCommand.printable(run)) + " in " + store
                        + runsWithCheckpoints(runs));
            }
        }
    }

    /** "; the runs with checkpoints: a, b" (the first 10, and how many more), or "" for none: for a --run with none. */
    static String runsWithCheckpoints(List<String> runs) {
        return runs.isEmpty() ? "" : "; the runs with checkpoints: " + dev.ckpt.store.util.Printable.firstOf(runs, 10);
    }

    /** A cell as {@link #row} shows it. */
    private static String shown(Object cell) {
        return cell instanceof String t ? ShowCommand.printable(t) : String.valueOf(cell);
    }

    /** A row with no spaces at its end (an unpinned checkpoint's row ended in two: a new-user tryout's find). */
    private static void row(PrintWriter out, String fmt, Object... cells) {
        // a cell as a terminal shows it, a line break too: ROOT is anyone's to edit, and a run name read from it is not
        // checked again (helper-132: a row split in two)
        Object[] shown = java.util.Arrays.stream(cells).map(c -> c instanceof String t ? ShowCommand.printable(t) : c).toArray();
        out.println(String.format(fmt, shown).stripTrailing());
    }

    /**
     * @param ranks       how many ranks saved it (its world size; 1 for a checkpoint of one writer)
     * @param uniqueBytes bytes of the chunks no other listed checkpoint references; null when its manifest
     *                    cannot be read
     * @param verifiedAt  when every byte of it was last verified ({@code verify --read-data --record}, or a resume that
     *                    read every chunk); null if never (as show's)
     * @param unreadable  why its manifest cannot be read (missing, damaged), else null (absent from --json)
     */
    record Row(String id, String run, long step, Instant created, int ranks, int files, long logicalBytes, Long uniqueBytes,
               boolean pinned, Instant verifiedAt, Map<String, String> metadata,
               @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
               String unreadable) {
    }
}

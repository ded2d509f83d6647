package dev.ckpt.tools;

import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * --json, --progress and --verbose, shared by every command, and the one path by which a
 * command prints its result: {@link #print} takes a {@link Result} record and writes it
 * either as JSON (the record's components are the field names) or as its text form.
 */
public final class OutputOptions {
    public enum ProgressMode { auto, plain, none }

    /**
     * What a command prints: a record whose components are the {@code --json} fields
     * (components marked {@code @JsonIgnore} are for the text form only), and its text form.
     */
    interface Result {
        /** The text form: the result on {@code out}; remarks for a person (summaries, warnings) on {@code err}. */
        void printText(PrintWriter out, PrintWriter err);
    }

    /**
     * The one JSON configuration of ckpt-tool: instants as ISO-8601 strings, fields and map
     * keys in alphabetical order (stable output for scripts and diffs), indented.
     */
    static final ObjectMapper JSON = JsonMapper.builder().addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .disable(MapperFeature.SORT_CREATOR_PROPERTIES_FIRST)
            .build();

    @Option(names = "--json", description = "print one JSON document on stdout instead of text")
    boolean json;

    @Option(names = "--progress", paramLabel = "auto|plain|none", defaultValue = "auto",
            description = "progress on stderr for long operations: a live line on a terminal (auto), plain lines, or none")
    ProgressMode progress = ProgressMode.auto;

    @Option(names = {"-v", "--verbose"}, description = "on errors, print the stack trace too")
    boolean verbose;

    /** Whether a result was printed ({@link #print}): a failure after it prints no second JSON document. */
    private volatile boolean printed;

    /**
     * With --json, a command that failed before printing its result prints this instead, so a
     * script always reads one document on stdout (it read nothing: helper-91): {@code {"error":
     * {"command", "exitCode", "message"}}}, the message as stderr says it.
     */
    record Failure(String command, int exitCode, String message) {
    }

    /** Prints {@code failure} as the one JSON document, with --json and when no result was printed; else nothing. */
    void printFailure(PrintWriter out, Failure failure) {
        if (json && !printed) {
            writeFailure(out, failure);
        }
    }

    /** Writes {@code failure}'s JSON document on {@code out}: {@link #printFailure}'s, and a usage error's under --json. */
    static void writeFailure(PrintWriter out, Failure failure) {
        try {
            out.println(JSON.writeValueAsString(java.util.Map.of("error", failure)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write a failure as JSON", e);
        }
        out.flush();
    }

    /** Prints a command's result: one JSON document on {@code out} with --json, else its text form. */
    void print(PrintWriter out, PrintWriter err, Result result) {
        printed = true;
        if (json) {
            try {
                out.println(JSON.writeValueAsString(result));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("cannot write " + result.getClass().getSimpleName() + " as JSON", e);
            }
        } else {
            result.printText(out, err);
        }
        out.flush();
        err.flush();
    }

    /** Starts reporting a long operation on stderr; close the handle when it ends. */
    Progress start(PrintWriter err, String what) {
        ProgressMode mode = progress;
        if (mode == ProgressMode.auto) {
            mode = System.console() != null ? ProgressMode.auto : ProgressMode.plain;
        }
        Progress p = new Progress(err, what, mode, json);
        current = p;
        return p;
    }

    /** The progress of the operation under way, if any: what a signal's message clears and asks ({@link StoreCommand}). */
    volatile Progress current;

    /**
     * Progress of one operation: a live bar on a terminal (bytes done of total, percent,
     * rate), plain lines every 10 s otherwise, plus messages the operation reports.
     */
    static final class Progress implements AutoCloseable, dev.ckpt.store.util.TransferListener {
        private final PrintWriter err;
        private final String what;
        private final ProgressMode mode;
        private final long start = System.nanoTime();
        private final AtomicBoolean finished = new AtomicBoolean();
        private volatile String detail = "";
        private final java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong(-1);
        private volatile long total;
        private final Thread ticker;
        /** The checkpoint whose write of ROOT a save sent ({@link #committing}), null before. */
        private volatile String committing;

        Progress(PrintWriter err, String what, ProgressMode mode, boolean quietStart) {
            // its own \r and erase-line go out as they are; every text in them is escaped here, on one line
            this.err = dev.ckpt.store.error.Redaction.unescaped(err);
            this.what = ShowCommand.printable(what); // "push DIR": a name's escape sequence is shown, not run
            this.mode = mode;
            if (mode == ProgressMode.plain && !quietStart) {
                line(this.what + " ...");
            }
            ticker = mode == ProgressMode.none ? null : new Thread(this::tickQuietly, "ckpt-progress");
            if (ticker != null) {
                ticker.setDaemon(true);
                ticker.start();
            }
        }

        /** A message from the operation (e.g. "deleted 500/2000 objects"). */
        void update(String message) {
            message = ShowCommand.printable(message); // one line: a name's line break too (helper-130)
            detail = message;
            if (mode == ProgressMode.plain) {
                line(what + ": " + message);
            }
        }

        /** The progress line is best effort: a bug in it stops the line, never prints a stack trace. */
        private void tickQuietly() {
            try {
                tick();
            } catch (RuntimeException e) {
                finished.set(true);
            }
        }

        private void tick() {
            long every = mode == ProgressMode.plain ? 10_000 : 200;
            while (!finished.get()) {
                try {
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                }
                if (finished.get()) {
                    return;
                }
                String msg = String.format("%s ... %ds %s", what, elapsedSeconds(), detail);
                long d = done.get();
                if (d >= 0 && total > 0) {
                    int pct = (int) Math.min(100, 100 * d / total); // a miscount must never end the ticker
                    double secs = Math.max(0.001, (System.nanoTime() - start) / 1e9);
                    String bar = "#".repeat(pct / 5) + "-".repeat(20 - pct / 5);
                    msg = mode == ProgressMode.plain
                            ? String.format("%s: %d%% (%s of %s), %ds", what, pct, human(d), human(total), elapsedSeconds())
                            : String.format("%s [%s] %3d%% %s/%s %.1f MB/s", what, bar, pct, human(d), human(total), d / secs / 1e6);
                    if (!detail.isEmpty()) {
                        msg += "; " + detail; // e.g. why the commit waits after 100 %
                    }
                }
                if (mode == ProgressMode.plain) {
                    line(msg);
                } else {
                    synchronized (err) {
                        err.print("\r" + msg + "\u001b[K");
                        err.flush();
                    }
                }
            }
        }

        private long elapsedSeconds() {
            return (System.nanoTime() - start) / 1_000_000_000L;
        }

        private void line(String s) {
            synchronized (err) {
                err.println(s);
                err.flush();
            }
        }

        /** Said at once, on a line of its own, and repeated with each later progress line. */
        @Override
        public void notice(String message) {
            message = ShowCommand.printable(message); // one line: a name's line break too (helper-130)
            detail = message;
            if (mode != ProgressMode.none) {
                line((mode == ProgressMode.auto ? "\r\u001b[K" : "") + what + ": " + message);
            }
        }

        @Override
        public void committing(String checkpointId) {
            synchronized (gateLock) {
                if (gated) { // a signal said nothing was committed: so nothing is (Interruption)
                    throw new IllegalStateException("interrupted by a signal before the commit of " + checkpointId
                            + " was sent; nothing was committed");
                }
                committing = checkpointId;
            }
        }

        private final Object gateLock = new Object();
        private boolean gated;

        /**
         * At a signal: when no commit was sent yet, bars every later one ({@link #committing}
         * throws) and returns true; false once a commit was sent (it may land).
         */
        boolean barCommit() {
            synchronized (gateLock) {
                if (committing == null) {
                    gated = true;
                }
                return gated;
            }
        }

        /** The checkpoint whose commit was sent, null while none was: from then on, it may have landed. */
        String committingId() {
            return committing;
        }

        @Override
        public void progress(long doneBytes, long totalBytes) {
            total = totalBytes;
            done.set(doneBytes);
        }

        private static String human(long b) {
            return dev.ckpt.store.commit.SaveResult.human(b);
        }

        @Override
        public void close() {
            finished.set(true);
            if (ticker != null) {
                ticker.interrupt();
            }
            if (mode == ProgressMode.auto) {
                synchronized (err) {
                    err.print("\r\u001b[K");
                    err.flush();
                }
            }
        }
    }
}

package dev.ckpt.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicBoolean;

/** --json, --progress and --verbose, shared by every command. */
public final class OutputOptions {
    public enum ProgressMode { auto, plain, none }

    static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    @Option(names = "--json", description = "print one JSON document on stdout instead of text")
    boolean json;

    @Option(names = "--progress", paramLabel = "auto|plain|none", defaultValue = "auto",
            description = "progress on stderr for long operations: a live line on a terminal (auto), plain lines, or none")
    ProgressMode progress = ProgressMode.auto;

    @Option(names = {"-v", "--verbose"}, description = "on errors, print the stack trace too")
    boolean verbose;

    void printJson(PrintWriter out, Object value) {
        try {
            out.println(JSON.writeValueAsString(value));
            out.flush();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Starts reporting a long operation on stderr; close the handle when it ends. */
    Progress start(PrintWriter err, String what) {
        ProgressMode mode = progress;
        if (mode == ProgressMode.auto) {
            mode = System.console() != null ? ProgressMode.auto : ProgressMode.plain;
        }
        return new Progress(err, what, mode, json);
    }

    /** Elapsed-time progress of one operation, plus messages the operation reports. */
    static final class Progress implements AutoCloseable {
        private final PrintWriter err;
        private final String what;
        private final ProgressMode mode;
        private final long start = System.nanoTime();
        private final AtomicBoolean done = new AtomicBoolean();
        private volatile String detail = "";
        private final Thread ticker;

        Progress(PrintWriter err, String what, ProgressMode mode, boolean quietStart) {
            this.err = err;
            this.what = what;
            this.mode = mode;
            if (mode == ProgressMode.plain && !quietStart) {
                line(what + " ...");
            }
            ticker = mode == ProgressMode.none ? null : new Thread(this::tick, "ckpt-progress");
            if (ticker != null) {
                ticker.setDaemon(true);
                ticker.start();
            }
        }

        /** A message from the operation (e.g. "deleted 500/2000 objects"). */
        void update(String message) {
            detail = message;
            if (mode == ProgressMode.plain) {
                line(what + ": " + message);
            }
        }

        private void tick() {
            long every = mode == ProgressMode.plain ? 10_000 : 200;
            while (!done.get()) {
                try {
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                }
                if (done.get()) {
                    return;
                }
                String msg = String.format("%s ... %ds %s", what, elapsedSeconds(), detail);
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

        @Override
        public void close() {
            done.set(true);
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

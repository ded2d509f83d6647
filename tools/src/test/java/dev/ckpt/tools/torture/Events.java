package dev.ckpt.tools.torture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The journal a torture child keeps: one JSON object per line on its standard output, which
 * the harness redirects to a file per incarnation. Each line is flushed before the child goes
 * on, so after a SIGKILL the file holds every event the child reported, and perhaps a torn
 * last line (which {@link #read} skips). Times are wall-clock microseconds since the epoch,
 * comparable between processes of one machine.
 *
 * <p>Events: {@code ready}, {@code claim} (run, epoch, writer, t: after the claim returned),
 * {@code commit} (run, epoch, writer, step, id, t0: before save was called, t), {@code fenced}
 * (run, epoch, writer, step, t0), {@code error} (role, kind, message), {@code gc} (deleted),
 * {@code retention} (run, dropped), {@code read} (id), {@code violation} (text), {@code paused} (round).
 */
public final class Events {
    static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;
    private final String child;

    Events(PrintStream out, String child) {
        this.out = out;
        this.child = child;
    }

    static long micros(Instant t) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, t);
    }

    static long now() {
        return micros(Instant.now());
    }

    /** Writes one event: alternating keys and values. */
    void log(String ev, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ev", ev);
        m.put("child", child);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        try {
            String line = JSON.writeValueAsString(m);
            synchronized (out) {
                out.println(line);
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every complete event in a journal file (a torn last line, from a kill mid-write, is skipped). */
    static List<JsonNode> read(Path file) {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            for (String line : text.split("\n", -1)) {
                if (line.startsWith("{") && line.endsWith("}")) {
                    try {
                        out.add(JSON.readTree(line));
                    } catch (IOException torn) {
                        // a line cut by a kill
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}

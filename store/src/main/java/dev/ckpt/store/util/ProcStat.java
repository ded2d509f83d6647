package dev.ckpt.store.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What Linux's {@code /proc/PID/stat} says of a process: its name (field 2, between the first
 * '(' and the last ')', as a name may hold both), its state (field 3: 'R', 'S', 'T' stopped,
 * 't' stopped by a tracer, ...) and its start time (field 22, clock ticks since boot: fixed for
 * the life of the process, so a pid reused later has another).
 */
public record ProcStat(String name, char state, long startTicks) {
    /** The process's stat; empty off Linux, for a process that is gone or not visible from here. */
    public static Optional<ProcStat> of(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            String[] f = stat.substring(close + 2).trim().split(" "); // f[0] is field 3
            return Optional.of(new ProcStat(stat.substring(open + 1, close), f[0].charAt(0), Long.parseLong(f[19])));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Stopped by a signal (SIGSTOP, Ctrl-Z) or a tracer. */
    public boolean stopped() {
        return state == 'T' || state == 't';
    }
}

package dev.ckpt.store.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;

/**
 * The garbage collector's state in ROOT. {@code generation} counts GC runs; {@code dead}
 * is the sealed delete list of the generation in SWEEP; {@code finished} keeps the most
 * recent finished generations with what they deleted, so a commit that started before
 * them can re-upload what it needs.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GcState(Phase phase, long generation, String owner, Instant leaseExpiry, List<String> dead,
                      List<FinishedGeneration> finished) {
    /** How many finished generations ROOT remembers. */
    public static final int KEEP_FINISHED = 32;

    public enum Phase { IDLE, MARK, SWEEP }

    /** A generation that ended: what it deleted (or, when cancelled, may have deleted). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FinishedGeneration(long generation, Instant finishedAt, List<String> deleted, boolean cancelled) {
        public FinishedGeneration {
            deleted = deleted == null ? List.of() : List.copyOf(deleted);
        }
    }

    public GcState {
        phase = phase == null ? Phase.IDLE : phase;
        dead = dead == null ? List.of() : List.copyOf(dead);
        finished = finished == null ? List.of() : List.copyOf(finished);
    }

    public static GcState initial() {
        return new GcState(Phase.IDLE, 0, null, null, List.of(), List.of());
    }

    public boolean leaseValid(Instant now) {
        return phase != Phase.IDLE && leaseExpiry != null && now.isBefore(leaseExpiry);
    }

    /**
     * Who holds the lease and until when, for messages: {@code GC generation 7 (owner
     * 1f2e3d4c@node17 pid 4242; lease until 2026-11-30T17:50:00Z, 9m 56s from now)}.
     */
    public String describeLease(Instant now) {
        String left;
        if (leaseExpiry == null) {
            left = "no lease";
        } else if (now.isBefore(leaseExpiry)) {
            left = "lease until " + leaseExpiry + ", " + human(java.time.Duration.between(now, leaseExpiry)) + " from now";
        } else {
            left = "lease expired at " + leaseExpiry;
        }
        // ROOT is anyone's to edit: an owner is shown up to 200 characters, a refusal stays a line
        String who = owner == null ? "unknown" : dev.ckpt.store.util.Printable.of(owner.length() <= 200 ? owner
                : owner.substring(0, 200) + "… (" + (owner.length() - 200) + " more characters)"); // a line break too
        return "GC generation " + generation + " (owner " + who + "; " + left + ")";
    }

    private static String human(java.time.Duration d) {
        long s = (d.toMillis() + 999) / 1000;
        if (s < 60) {
            return s + "s";
        }
        long m = s / 60;
        return m < 60 ? m + "m " + s % 60 + "s" : m / 60 + "h " + m % 60 + "m";
    }

    /** This state with {@code generation} moved to the finished list. */
    public GcState finish(Instant now, boolean cancelled) {
        List<FinishedGeneration> f = new java.util.ArrayList<>(finished);
        f.add(new FinishedGeneration(generation, now, dead, cancelled));
        while (f.size() > KEEP_FINISHED) {
            f.remove(0);
        }
        return new GcState(Phase.IDLE, generation, null, null, List.of(), f);
    }
}

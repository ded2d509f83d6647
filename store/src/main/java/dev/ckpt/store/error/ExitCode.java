package dev.ckpt.store.error;

import java.util.List;
import java.util.Map;

/**
 * The exit codes of {@code ckpt-tool} and {@code ckpt-train}: one table, so a script or a
 * scheduler reads a number the same way from both. The numbers are stable; both {@code --help}
 * pages print their part of this table ({@link #help}) and the README copies it.
 *
 * <p>{@link #of(Throwable)} is the one mapping from the store's errors to codes. Every exception
 * class of this package is listed in it on purpose (a test fails for one that is not): a new
 * error must choose its code, not fall into "error" by accident.
 */
public enum ExitCode {
    OK(0, "ok", Program.BOTH),
    ERROR(1, "error: the message names the object or file and what to do (also a rank's save that closed its"
            + " step for good: save a later step)", Program.BOTH),
    USAGE(2, "usage error (the message says what is wrong; --help lists the options)", Program.BOTH),
    DAMAGE(3, "damage found by verify (missing or corrupt objects)", Program.CKPT_TOOL),
    FENCED_OR_CONFLICT(4, "fenced: a newer job owns the run, stop writing; or a conflicting writer or GC"
            + " held what was needed (retry later); or a rank whose part is stored saw no commit within"
            + " --ranks-timeout (rank 0 may still commit the step: ckpt-tool ls shows whether it did)", Program.BOTH),
    NO_CONDITIONAL_WRITES(5, "the backend lacks the conditional writes the store needs", Program.BOTH),
    COMMIT_STATE_UNKNOWN(6, "commit state unknown: a ROOT write may or may not have landed; do not clean"
            + " anything up, check with ckpt-tool ls/verify once the store answers", Program.BOTH),
    UNAVAILABLE(7, "store unavailable (network, server, a transient I/O error, a stall past"
            + " ckpt-tool's --deadline): nothing new was committed; retrying later is safe (a rank whose part is stored:"
            + " rank 0 may still commit the step, as the message says)", Program.BOTH),
    /** EX_TEMPFAIL from sysexits.h, what SLURM requeue scripts expect. */
    PREEMPTED(75, "preempted, or stopped by SIGUSR1, SIGTERM or Ctrl-C (EX_TEMPFAIL): the stop's save committed,"
            + " or the latest checkpoint stands (nothing"
            + " trained yet, or no time to save by --preempt-deadline): requeue, then run again with --auto-resume",
            Program.CKPT_TRAIN),
    /** 128 + SIGINT's 2, as shells report it: said by the JVM's own exit on the signal, not chosen by {@link #of}. */
    INTERRUPTED(130, "ended by SIGINT (Ctrl-C): the last line on stderr says what the command left (a push: nothing"
            + " committed, or a commit that was sent and may have landed: check with ckpt-tool ls)", Program.CKPT_TOOL),
    /** 128 + SIGTERM's 15 (a scheduler's kill, a container's stop). */
    TERMINATED(143, "ended by SIGTERM: as 130", Program.CKPT_TOOL);

    /** Which command line prints a code. */
    public enum Program {
        CKPT_TOOL, CKPT_TRAIN, BOTH;

        boolean includes(Program p) {
            return this == BOTH || this == p;
        }
    }

    /**
     * Every exception class of {@code dev.ckpt.store.error} and its code. A subclass outside the
     * package takes its nearest listed superclass's code.
     */
    private static final Map<Class<? extends CkptException>, ExitCode> BY_CLASS = Map.ofEntries(
            Map.entry(FencedException.class, FENCED_OR_CONFLICT),
            Map.entry(CommitConflictException.class, FENCED_OR_CONFLICT),
            Map.entry(GcLeaseHeldException.class, FENCED_OR_CONFLICT),
            Map.entry(RanksIncompleteException.class, FENCED_OR_CONFLICT),
            Map.entry(ConditionalWritesUnsupportedException.class, NO_CONDITIONAL_WRITES),
            Map.entry(CommitStateUnknownException.class, COMMIT_STATE_UNKNOWN),
            Map.entry(StoreUnavailableException.class, UNAVAILABLE),
            // a save or restore abandoned at its caller's deadline: nothing committed, target as it was
            Map.entry(DeadlineExceededException.class, UNAVAILABLE),
            // A 412 the store's own retries could not absorb: what the user sees is a failed
            // command, as before; conflicts that matter reach the CLI as CommitConflictException.
            Map.entry(PreconditionFailedException.class, ERROR),
            Map.entry(AlreadyExistsException.class, ERROR),
            Map.entry(BadConfigurationException.class, ERROR),
            Map.entry(PermissionDeniedException.class, ERROR), // grant the permission: a retry alone fails again
            Map.entry(EndpointRedirectException.class, ERROR), // set the endpoint or region: a retry is redirected again
            // damage is verify's verdict (a report, exit 3); a corrupt object met elsewhere fails the command
            Map.entry(CorruptObjectException.class, ERROR),
            Map.entry(InvalidInputException.class, ERROR),
            Map.entry(RanksDisagreeException.class, ERROR), // ranks started with different options: saving again fails too
            Map.entry(NotFoundException.class, ERROR),
            Map.entry(ReadOnlyStoreException.class, ERROR),
            Map.entry(UnsupportedFormatException.class, ERROR),
            Map.entry(CkptException.class, ERROR));

    private final int code;
    private final String meaning;
    private final Program program;

    ExitCode(int code, String meaning, Program program) {
        this.code = code;
        this.meaning = meaning;
        this.program = program;
    }

    /** The number the process exits with. */
    public int code() {
        return code;
    }

    /** One line: what the code means and what to do. */
    public String meaning() {
        return meaning;
    }

    /** Whether {@code p} can exit with this code. */
    public boolean usedBy(Program p) {
        return program.includes(p);
    }

    /**
     * The code for an error: the outermost store exception in the cause chain decides (a
     * "commit state unknown" caused by an unreachable server stays 6); anything else is
     * {@link #ERROR}, and so is an unavailable store that {@linkplain StoreUnavailableException#needsAction
     * needs action} first (a full disk). Usage errors are the command line's own ({@link #USAGE}).
     */
    public static ExitCode of(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof StoreUnavailableException u && u.needsAction()) {
                return ERROR; // a full disk, a permission: retrying alone would fail again
            }
            if (c instanceof CkptException k) {
                ExitCode e = forClass(c.getClass());
                // "retry later" (4, 7) would send a script back to a step a rank closed for good (helper-76, -78);
                // fenced stays 4 (stop writing), a commit state unknown stays 6 (do not clean up)
                return k.stepClosed() && (e == UNAVAILABLE || e == FENCED_OR_CONFLICT) && !(c instanceof FencedException)
                        ? ERROR : e;
            }
        }
        return ERROR;
    }

    /** The code for an exception class (its nearest listed superclass's for one from elsewhere). */
    public static ExitCode forClass(Class<? extends Throwable> type) {
        for (Class<?> k = type; k != null; k = k.getSuperclass()) {
            ExitCode e = BY_CLASS.get(k);
            if (e != null) {
                return e;
            }
        }
        return ERROR;
    }

    /** The exception classes given a code on purpose (for the test that every one is). */
    public static List<Class<? extends CkptException>> mappedClasses() {
        return List.copyOf(BY_CLASS.keySet());
    }

    /**
     * The "Exit codes:" section of {@code p}'s --help, generated from this table: one code a
     * line, meanings wrapped to 79 columns under themselves.
     */
    public static String help(Program p) {
        StringBuilder b = new StringBuilder("Exit codes:");
        for (ExitCode e : values()) {
            if (e.usedBy(p)) {
                String indent = "       "; // the meanings in one column, under 3-digit codes too (130, 143)
                StringBuilder line = new StringBuilder(String.format("  %3d  ", e.code));
                // ckpt-train has no --deadline: its table named ckpt-tool's option (helper-141)
                String meaning = p == Program.CKPT_TRAIN ? e.meaning.replace(", a stall past ckpt-tool's --deadline", "")
                        : e.meaning;
                for (String word : meaning.split(" ")) {
                    if (line.length() > indent.length() && line.length() + 1 + word.length() > 79) {
                        b.append('\n').append(line.toString().stripTrailing());
                        line = new StringBuilder(indent);
                    }
                    line.append(word).append(' ');
                }
                b.append('\n').append(line.toString().stripTrailing());
            }
        }
        return b.toString();
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.error.ExitCode.Program;

/**
 * ckpt-tool's names for the exit codes, as the ints picocli commands return. The numbers, their
 * meanings and the error-to-code mapping live in the one table shared with ckpt-train,
 * {@link dev.ckpt.store.error.ExitCode}; documented in --help (generated from it) and the README.
 */
public final class ExitCode {
    public static final int OK = dev.ckpt.store.error.ExitCode.OK.code();
    /** Any error (the message says which object or file and what to do). */
    public static final int ERROR = dev.ckpt.store.error.ExitCode.ERROR.code();
    /** Bad command line. */
    public static final int USAGE = dev.ckpt.store.error.ExitCode.USAGE.code();
    /** verify found damage: missing or corrupt objects. */
    public static final int DAMAGE = dev.ckpt.store.error.ExitCode.DAMAGE.code();
    /** This writer is fenced, or another writer or GC holds what the command needs. */
    public static final int FENCED_OR_CONFLICT = dev.ckpt.store.error.ExitCode.FENCED_OR_CONFLICT.code();
    /** The backend lacks the conditional writes the store needs. */
    public static final int NO_CONDITIONAL_WRITES = dev.ckpt.store.error.ExitCode.NO_CONDITIONAL_WRITES.code();
    /** A ROOT write may or may not have landed: do not clean up; check with ls/verify. */
    public static final int COMMIT_STATE_UNKNOWN = dev.ckpt.store.error.ExitCode.COMMIT_STATE_UNKNOWN.code();
    /** The store could not be reached or failed transiently; retrying later is safe. */
    public static final int UNAVAILABLE = dev.ckpt.store.error.ExitCode.UNAVAILABLE.code();

    static final String HELP = dev.ckpt.store.error.ExitCode.help(Program.CKPT_TOOL);

    private ExitCode() {
    }
}

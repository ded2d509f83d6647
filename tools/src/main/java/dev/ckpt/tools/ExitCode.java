package dev.ckpt.tools;

/** Exit codes of ckpt-tool; stable, documented in --help and the README. */
public final class ExitCode {
    public static final int OK = 0;
    /** Any error (the message says which object or file and what to do). */
    public static final int ERROR = 1;
    /** Bad command line. */
    public static final int USAGE = 2;
    /** verify found damage: missing or corrupt objects. */
    public static final int DAMAGE = 3;
    /** This writer is fenced, or another writer or GC holds what the command needs. */
    public static final int FENCED_OR_CONFLICT = 4;
    /** The backend lacks the conditional writes the store needs. */
    public static final int NO_CONDITIONAL_WRITES = 5;

    static final String HELP = """
            Exit codes:
              0  ok
              1  error (the message names the object or file)
              2  usage error
              3  damage found by verify (missing or corrupt objects)
              4  fenced writer, or a conflicting writer or GC (retry later)
              5  the backend lacks the conditional writes the store needs""";

    private ExitCode() {
    }
}

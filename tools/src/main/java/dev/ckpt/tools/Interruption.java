package dev.ckpt.tools;

import dev.ckpt.store.util.Printable;
import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;

/**
 * ckpt-tool's answer to SIGINT (Ctrl-C) and SIGTERM, in the program only ({@link CkptTool#main}):
 * one line saying that the command was interrupted and what it left, then exit 128 + the signal's
 * number (130, 143). It had exited 130 with no word (helper-91); then, as a shutdown hook, it
 * raced the command: a push said "nothing was committed" and its commit landed after, or printed
 * its result and still exited 143 (helper-92).
 *
 * <p>So the command decides at the signal ({@link StoreCommand#atSignal}): a save whose write of
 * ROOT was not sent is stopped from sending it (its progress refuses {@code committing}), and
 * the line says nothing was committed; a save whose commit was sent is waited for, up to
 * {@link #COMMIT_WAIT_SECONDS} or a second signal, and a command that ends in that time exits
 * with its own code and output, and with success says the signal was waited out ({@link #noteDue}). Once the
 * save returned ({@link #settled}), only its output is left: a signal then waits for it, a second
 * one included, and a signal whose line came first keeps the save from saying a result. Other
 * commands are not waited for.
 * A signal before the command runs (the JVM's start, parsing) ends it with the code alone.
 *
 * <p>A command that writes temporaries it can remove ({@link StoreCommand#stopsAtSignal}: restore,
 * export, an import whose commit was not sent) is stopped instead: its thread is interrupted, its
 * own failure path removes what it wrote (a restore leaves the target as it was), and the line,
 * said once it ended (up to {@link #STOP_WAIT_SECONDS}; a second signal does not cut the clean-up
 * short), says so. They had left their temporaries, the line telling the user to delete them
 * (helper-95). A restore that began renaming its files into place (its {@code committing}) is
 * waited for to its end instead, up to {@link #PUBLISH_WAIT_SECONDS} whatever signals follow
 * ({@link StoreCommand#finishesOnceCommitting}): a second signal had cut 20,000 renames short and
 * left its target a mix (helper-97). One that ends with success keeps its output and exit code.
 */
final class Interruption {
    /** How long a signal waits for a commit already sent: a ROOT write takes milliseconds, a slow store seconds. */
    static final long COMMIT_WAIT_SECONDS = 20;
    /** How long a signal waits for a stopped command to remove its temporaries: a local store's restore takes milliseconds. */
    static final long STOP_WAIT_SECONDS = 10;
    /**
     * How long a signal waits for a restore's renames into place, whatever else comes: 20,000
     * files take seconds; a wait this long means a stuck disk, and the line then says so.
     */
    static final long PUBLISH_WAIT_SECONDS = 120;

    private static final Object LOCK = new Object();
    private static StoreCommand command;
    /** The thread running {@link #command}: interrupted to stop it. */
    private static Thread commandThread;
    private static boolean finished;
    /** The command was asked to stop at a signal ({@link StoreCommand#stopsAtSignal}): its own failure is not said. */
    private static volatile boolean stopping;
    /** The code the command finished with. */
    private static int finishedCode;
    private static int signals;
    /** A signal's line is to be said (decided under LOCK); {@link #printed} once it was. */
    private static volatile boolean said;
    private static boolean printed;
    /** A signal's thread waits for a commit in flight: a second signal only ends that wait. */
    private static boolean waiting;
    /**
     * The command ended with success while a signal's thread waited for it: that thread says so
     * ({@link StoreCommand#finishedAfterSignal}) before the exit (helper-122: a restore signalled
     * during its renames exited 0 with no word).
     */
    private static boolean noteDue;
    private static int signalCode;
    /**
     * The save's outcome is known ({@link #settled}): what is left is saying it. A signal from
     * then on waits for the command's end (a second one does not cut that wait short), so the
     * result and the signal's line are never both said (helper-128: a second SIGTERM as a push
     * printed its checkpoint's id exited 143, "it may have landed").
     */
    private static boolean settled;
    /** The checkpoint the settled save committed; null if it failed. */
    private static String settledId;

    private Interruption() {
    }

    /** Handles SIGINT and SIGTERM from now on; one the JVM may not take (ignored when it started: nohup) is left alone. */
    static void install() {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), Interruption::signalled);
            } catch (IllegalArgumentException e) { // used by the JVM or the OS (-Xrs): its default stays
            }
        }
    }

    /** {@code c} runs now: a signal asks it what to say. */
    static void running(StoreCommand c) {
        synchronized (LOCK) {
            command = c;
            commandThread = Thread.currentThread();
        }
    }

    /**
     * Called by a save (push, import) once its save returned or failed, before it says anything of
     * its outcome: from then on a signal waits for the command's own output and exit code. If a
     * signal's line was already decided (it says "nothing was committed" or "it may have
     * landed", and ends the JVM), the command must not say a result beside it: this waits for
     * that exit, up to {@link #STOP_WAIT_SECONDS}. Does nothing outside the program.
     *
     * @param committed the checkpoint the save committed; null if it failed
     */
    static void settled(String committed) {
        synchronized (LOCK) {
            if (command == null || stopping) {
                return; // not the program (tests), or a stop: the command runs on to its end
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
            while (said && System.nanoTime() < until) { // the signal's thread says its line and exits
                try {
                    LOCK.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            settled = true;
            settledId = committed;
            LOCK.notifyAll(); // a signal waiting for the commit: a second one no longer ends that wait
        }
    }

    /**
     * The command returned or failed with {@code code}, and said so: a signal from now on changes
     * nothing. Returns the code to exit with: {@code code}, or the signal's once a signal's line
     * was said (the command's own end then was the commit it barred: exit 1 had won the race).
     */
    static int finished(int code) {
        if (stopping) {
            Thread.interrupted(); // the stop's interrupt, still set: the wait below for the signal's line must not end at once
        }
        synchronized (LOCK) {
            finished = true;
            finishedCode = code;
            noteDue = waiting && !said && code == ExitCode.OK;
            LOCK.notifyAll();
            if (!said && !noteDue && !(stopping && code != ExitCode.OK)) {
                return code; // a stopped command that succeeded anyway: its output and code stand
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!printed && System.nanoTime() < until) { // the line first: this exit would end its thread
                try {
                    LOCK.wait(100);
                } catch (InterruptedException e) {
                    break;
                }
            }
            return noteDue ? code : signalCode; // finished despite the signal: its own code stands, the note said
        }
    }

    /**
     * Whether a signal's line was said, or is to be once the command it stopped ends: the
     * command's own failure (the stopped commit, the interrupted restore) is then not said.
     */
    static boolean said() {
        return said || stopping;
    }

    private static void signalled(sun.misc.Signal s) {
        int code = 128 + s.getNumber();
        StoreCommand c;
        String line;
        synchronized (LOCK) {
            signals++;
            if (finished || said || waiting) {
                LOCK.notifyAll(); // a second signal while the first waits for a commit: stop waiting
                return;
            }
            c = command;
            signalCode = code;
            if (c == null) {
                said = true;
                line = null;
            } else if (settled) { // its outcome is known and being said: that stands
                if (awaitEnd(COMMIT_WAIT_SECONDS, false)) {
                    noteEnd(c, s);
                    return;
                }
                line = stuckAfterSettled(c);
                said = true;
            } else {
                line = c.atSignal();
                if (line == null) { // a commit in flight: wait for its end, or (but for a restore's) a second signal
                    boolean finishes = c.finishesOnceCommitting();
                    if (awaitEnd(finishes ? PUBLISH_WAIT_SECONDS : COMMIT_WAIT_SECONDS, !finishes)) {
                        noteEnd(c, s); // it ended on its own: its output and exit code stand
                        return;
                    }
                    line = settled ? stuckAfterSettled(c) : c.interruptedNow();
                } else if (c.stopsAtSignal() && commandThread != null) {
                    String cleaned = stop(c);
                    if (cleaned == null) {
                        noteEnd(c, s); // it ended on its own, with success: its output and exit code stand
                        return;
                    }
                    line = cleaned.isEmpty() ? line : cleaned;
                }
                said = true;
            }
        }
        try {
            if (c != null) {
                c.sayInterrupted(line, code);
            }
        } finally {
            synchronized (LOCK) {
                printed = true;
                LOCK.notifyAll();
            }
        }
        System.exit(code);
    }

    /**
     * Under LOCK: the line once a settled save's output did not end within the wait (its stdout
     * not read, say): a committed checkpoint is said to be (helper-129: "it may have landed" and
     * "had not ended", of a commit that had).
     */
    private static String stuckAfterSettled(StoreCommand c) {
        return settledId == null ? c.interruptedNow() : "checkpoint " + settledId + " was committed, but its result could"
                + " not be written within " + COMMIT_WAIT_SECONDS + " s (is the command's output read?)";
    }

    /** Under LOCK, once the command ended while this signal waited: its note, if it succeeded ({@link #noteDue}). */
    private static void noteEnd(StoreCommand c, sun.misc.Signal s) {
        if (!noteDue) {
            return;
        }
        try {
            c.sayFinishedAfterSignal("SIG" + s.getName());
        } finally {
            printed = true;
            LOCK.notifyAll();
        }
    }

    /**
     * Under LOCK: interrupts the command's thread and waits for it to end, up to
     * {@link #STOP_WAIT_SECONDS}, whatever signals follow. Returns null if it ended with success, its
     * {@link StoreCommand#stoppedAtSignal} line if it ended otherwise, "" if it did not end
     * in time (the signal's first line stands).
     */
    private static String stop(StoreCommand c) {
        stopping = true;
        commandThread.interrupt();
        if (!awaitEnd(STOP_WAIT_SECONDS, false)) {
            return "";
        }
        return finishedCode == ExitCode.OK ? null : c.stoppedAtSignal();
    }

    /**
     * Under LOCK: waits up to {@code seconds}, or with {@code endsOnSignal} a second signal
     * before the save {@link #settled}, for the command to end; whether it did.
     */
    private static boolean awaitEnd(long seconds, boolean endsOnSignal) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int seen = signals;
        waiting = true;
        while (!finished && (signals == seen || !endsOnSignal || settled) && System.nanoTime() < until) {
            try {
                LOCK.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
            } catch (InterruptedException e) {
                break;
            }
        }
        waiting = false;
        return finished;
    }

    /** The line, on {@code err}: "ckpt-tool CMD: interrupted before it finished; WHAT". */
    static void say(PrintWriter err, String command, String what) {
        err.println("ckpt-tool " + command + ": interrupted before it finished; " + Printable.message(what)); // one line
        err.flush();
    }
}

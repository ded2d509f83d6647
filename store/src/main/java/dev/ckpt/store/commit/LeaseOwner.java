package dev.ckpt.store.commit;

import dev.ckpt.store.util.Printable;
import dev.ckpt.store.util.ProcStat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who holds a GC lease, as ROOT's {@code gc.owner} records it, and whether that process is
 * gone. The owner is {@code "<16 hex>@<host> pid <N> start-ticks <T> boot <boot id> pidns
 * <inode>"}: a random id, the host name, the process id, the process's start time in clock
 * ticks since boot (field 22 of Linux's {@code /proc/PID/stat}: fixed for the life of the
 * process, whatever the wall clock does), the kernel's boot id
 * ({@code /proc/sys/kernel/random/boot_id}) and the inode of its pid namespace
 * ({@code /proc/self/ns/pid}). Older GCs, systems without those files, and a process whose
 * {@code /proc} shows another pid namespace than its own (started with {@code unshare -p}
 * and no {@code --mount-proc}), write only {@code "<id>@<host> pid <N>"}.
 *
 * <p>A process is {@linkplain Verdict#GONE gone} only when the owner names this kernel's boot
 * and this pid namespace, this process's {@code /proc} shows that namespace, and no process
 * with its pid and start ticks is there: then no other machine, container or later process
 * can be behind it (a pid reused since has other start ticks). A name and pid alone say
 * less: another machine or container may share the host name and the pid
 * ({@link Verdict#NO_SUCH_PID_HERE}). The verdict must never call a running GC gone: a GC
 * taken over while it runs deletes what commits since re-uploaded (see docs/design.md).
 */
public final class LeaseOwner {
    /** What is known of a lease owner's process. */
    public enum Verdict {
        /** It runs, or it is not of this kernel and pid namespace, or the owner says too little. */
        RUNNING_OR_UNKNOWN,
        /** An owner without boot id or namespace naming this host and a pid no process here has. */
        NO_SUCH_PID_HERE,
        /** Of this boot and pid namespace, and no process with its pid and start ticks runs. */
        GONE
    }

    private static final Pattern OWNER = Pattern.compile(
            "[^@\\s]+@(.+) pid (\\d{1,9})(?: start-ticks (\\d{1,18}) boot ([0-9a-fA-F-]{1,64}) pidns (\\d{1,18}))?");

    private LeaseOwner() {
    }

    /** A new owner for this process (see the class comment for its form). */
    public static String newOwner() {
        long pid = ProcessHandle.current().pid();
        String owner = dev.ckpt.store.util.RandomIds.hex(8) + "@" + hostName() + " pid " + pid;
        if (procShowsOwnNamespace()) {
            Optional<Long> ticks = startTicks(pid);
            Optional<String> boot = bootId();
            Optional<String> ns = pidNamespace();
            if (ticks.isPresent() && boot.isPresent() && ns.isPresent()) {
                owner += " start-ticks " + ticks.get() + " boot " + boot.get() + " pidns " + ns.get();
            }
        }
        return owner;
    }

    /** The owner a GC in process {@code pid} of this namespace would write, with {@code id} as its random part. */
    static String ownerOf(long pid, String id) {
        return id + "@" + hostName() + " pid " + pid + startTicks(pid).map(t -> " start-ticks " + t + " boot "
                + bootId().orElse("?") + " pidns " + pidNamespace().orElse("?")).orElse("");
    }

    /** What is known of {@code owner}'s process, from this process's view. */
    public static Verdict verdict(String owner) {
        if (owner == null || owner.length() > 1000) { // no GC writes such an owner
            return Verdict.RUNNING_OR_UNKNOWN;
        }
        Matcher m = OWNER.matcher(owner.strip());
        if (!m.matches()) {
            return Verdict.RUNNING_OR_UNKNOWN;
        }
        long pid = Long.parseLong(m.group(2)); // at most 9 digits: parses
        Optional<Long> ticksNow = startTicks(pid);
        if (m.group(3) != null) {
            if (!bootId().equals(Optional.of(m.group(4))) || !pidNamespace().equals(Optional.of(m.group(5)))
                    || !procShowsOwnNamespace()) {
                return Verdict.RUNNING_OR_UNKNOWN; // another machine, boot or namespace: not ours to see
            }
            if (ticksNow.isEmpty()) {
                return Files.exists(Path.of("/proc", Long.toString(pid))) ? Verdict.RUNNING_OR_UNKNOWN // unreadable
                        : Verdict.GONE;
            }
            return ticksNow.get() != Long.parseLong(m.group(3)) ? Verdict.GONE // the pid was given to a later process
                    : Verdict.RUNNING_OR_UNKNOWN;
        }
        boolean noSuchPid = ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isEmpty();
        return m.group(1).equals(hostName()) && noSuchPid ? Verdict.NO_SUCH_PID_HERE : Verdict.RUNNING_OR_UNKNOWN;
    }

    /** The pid an owner names, or -1. */
    public static long pid(String owner) {
        Matcher m = OWNER.matcher(owner == null || owner.length() > 1000 ? "" : owner.strip());
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
    }

    /**
     * An owner as messages show it: at most 200 characters, escaped by {@link Printable} (ROOT is
     * anyone's to edit, and a refusal is a line, not a page: a line break or a terminal escape in
     * it would cut or rewrite the message).
     */
    public static String shown(String owner) {
        if (owner == null) {
            return "unknown";
        }
        return Printable.of(owner.length() <= 200 ? owner : owner.substring(0, 200) + "… (" + (owner.length() - 200) + " more characters)");
    }

    /** This host's name as owners give it: $HOSTNAME, else the resolver's, else "unknown-host". */
    static String hostName() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (IOException | RuntimeException e) {
                host = "unknown-host";
            }
        }
        return host;
    }

    /** Field 22 of /proc/PID/stat (start time, clock ticks since boot). */
    static Optional<Long> startTicks(long pid) {
        return ProcStat.of(pid).map(ProcStat::startTicks);
    }

    /** Whether /proc is of this process's pid namespace: /proc/self names this process's own pid. */
    private static boolean procShowsOwnNamespace() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self")).toString().equals(Long.toString(ProcessHandle.current().pid()));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Optional<String> bootId() {
        try {
            String id = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
            return id.matches("[0-9a-fA-F-]+") ? Optional.of(id) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> pidNamespace() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString(); // "pid:[4026531836]"
            String ino = link.replaceAll("\\D", "");
            return ino.isEmpty() ? Optional.empty() : Optional.of(ino);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}

package dev.ckpt.store.commit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who holds a GC lease, as ROOT's {@code gc.owner} records it, and whether that process is
 * gone. The owner is {@code "<16 hex>@<host> pid <N> started <epoch ms> boot <boot id> pidns
 * <inode>"}: a random id, the host name, the process id, the process's start time (Linux
 * {@code /proc/PID/stat}, as {@link ProcessHandle.Info#startInstant} gives it), the kernel's
 * boot id ({@code /proc/sys/kernel/random/boot_id}) and the inode of its pid namespace
 * ({@code /proc/self/ns/pid}). Older GCs, and systems without those files, wrote only
 * {@code "<id>@<host> pid <N>"}.
 *
 * <p>A process is {@linkplain Verdict#GONE gone} only when the owner names this kernel's boot
 * and this pid namespace and no process with its pid and start time runs: then no other
 * machine, container or later process can be behind it (a pid reused since has another start
 * time). A name and pid alone say less: another machine or container may share the host name
 * and the pid ({@link Verdict#NO_SUCH_PID_HERE}).
 */
public final class LeaseOwner {
    /** What is known of a lease owner's process. */
    public enum Verdict {
        /** It runs, or it is not of this kernel and pid namespace, or the owner says too little. */
        RUNNING_OR_UNKNOWN,
        /** An owner without boot id or namespace naming this host and a pid no process here has. */
        NO_SUCH_PID_HERE,
        /** Of this boot and pid namespace, and no process with its pid and start time runs. */
        GONE
    }

    private static final Pattern OWNER = Pattern.compile(
            "[^@\\s]+@(.+) pid (\\d+)(?: started (\\d+) boot ([0-9a-fA-F-]+) pidns (\\d+))?");

    private LeaseOwner() {
    }

    /** A new owner for this process (see the class comment for its form). */
    public static String newOwner() {
        return ownerOf(ProcessHandle.current());
    }

    /** A new owner for process {@code p}, which must still run for its start time to be known. */
    public static String ownerOf(ProcessHandle p) {
        String owner = dev.ckpt.store.util.RandomIds.hex(8) + "@" + hostName() + " pid " + p.pid();
        Optional<Instant> started = p.info().startInstant();
        Optional<String> boot = bootId();
        Optional<String> ns = pidNamespace();
        if (started.isPresent() && boot.isPresent() && ns.isPresent()) {
            owner += " started " + started.get().toEpochMilli() + " boot " + boot.get() + " pidns " + ns.get();
        }
        return owner;
    }

    /** What is known of {@code owner}'s process, from this process's view. */
    public static Verdict verdict(String owner) {
        Matcher m = OWNER.matcher(owner == null ? "" : owner.strip());
        if (!m.matches()) {
            return Verdict.RUNNING_OR_UNKNOWN;
        }
        long pid;
        try {
            pid = Long.parseLong(m.group(2));
        } catch (NumberFormatException e) {
            return Verdict.RUNNING_OR_UNKNOWN;
        }
        Optional<ProcessHandle> p = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (m.group(3) != null) {
            if (!bootId().equals(Optional.of(m.group(4))) || !pidNamespace().equals(Optional.of(m.group(5)))) {
                return Verdict.RUNNING_OR_UNKNOWN; // another machine, boot or container: its processes are not ours to see
            }
            if (p.isEmpty()) {
                return Verdict.GONE;
            }
            Optional<Instant> started = p.get().info().startInstant();
            return started.isPresent() && started.get().toEpochMilli() != Long.parseLong(m.group(3))
                    ? Verdict.GONE // the pid was given to a later process
                    : Verdict.RUNNING_OR_UNKNOWN;
        }
        return m.group(1).equals(hostName()) && p.isEmpty() ? Verdict.NO_SUCH_PID_HERE : Verdict.RUNNING_OR_UNKNOWN;
    }

    /** The pid an owner names, or -1. */
    public static long pid(String owner) {
        Matcher m = OWNER.matcher(owner == null ? "" : owner.strip());
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
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

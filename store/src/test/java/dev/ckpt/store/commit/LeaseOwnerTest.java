package dev.ckpt.store.commit;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GC lease's owner is known to be gone only when it names this boot and pid namespace and
 * no process with its pid and start time runs; a name and a pid alone never make it gone.
 */
public class LeaseOwnerTest {
    /** The owner a process that has ended wrote while it ran. */
    public static String ownerOfAnEndedProcess() throws Exception {
        Process p = new ProcessBuilder("sleep", "30").start();
        String owner = LeaseOwner.ownerOf(p.pid(), "0011223344556677");
        p.destroyForcibly();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return owner;
    }

    @Test
    void thisProcessRunsAndAnEndedOneIsGone() throws Exception {
        String self = LeaseOwner.newOwner();
        assertTrue(self.matches("[0-9a-f]{16}@.+ pid " + ProcessHandle.current().pid()
                + " start-ticks \\d+ boot [0-9a-f-]+ pidns \\d+"), self);
        assertEquals(LeaseOwner.Verdict.RUNNING_OR_UNKNOWN, LeaseOwner.verdict(self));
        String ended = ownerOfAnEndedProcess();
        assertEquals(LeaseOwner.Verdict.GONE, LeaseOwner.verdict(ended), ended);
        assertEquals(Long.parseLong(ended.replaceAll(".* pid (\\d+) .*", "$1")), LeaseOwner.pid(ended));
    }

    @Test
    void aPidGivenToALaterProcessIsGone() {
        String self = LeaseOwner.newOwner();
        long started = Long.parseLong(self.replaceAll(".* start-ticks (\\d+) .*", "$1"));
        String earlier = self.replace(" start-ticks " + started + " ", " start-ticks " + (started - 1) + " ");
        assertEquals(LeaseOwner.Verdict.GONE, LeaseOwner.verdict(earlier), earlier);
    }

    @Test
    void anotherBootOrPidNamespaceIsNeverGone() throws Exception {
        String ended = ownerOfAnEndedProcess();
        String otherBoot = ended.replaceAll(" boot [0-9a-f-]+ ", " boot 00000000-0000-0000-0000-000000000000 ");
        String otherNs = ended.replaceAll(" pidns \\d+$", " pidns 1");
        for (String owner : new String[]{otherBoot, otherNs}) {
            assertEquals(LeaseOwner.Verdict.RUNNING_OR_UNKNOWN, LeaseOwner.verdict(owner), owner);
        }
    }

    @Test
    void anOwnerOfNameAndPidOnlyIsAtMostNoSuchPidHere() throws Exception {
        String ended = ownerOfAnEndedProcess();
        String old = ended.substring(0, ended.indexOf(" start-ticks "));
        assertEquals(LeaseOwner.Verdict.NO_SUCH_PID_HERE, LeaseOwner.verdict(old), old);
        String self = LeaseOwner.newOwner();
        for (String owner : new String[]{self.substring(0, self.indexOf(" start-ticks ")),
                old.replace("@", "@another-host-"), "someone", "x@host pid what", "", null}) {
            assertEquals(LeaseOwner.Verdict.RUNNING_OR_UNKNOWN, LeaseOwner.verdict(owner), owner);
        }
    }

    /** ROOT is anyone's to edit: an owner no GC writes is never gone, and never breaks the verdict (a helper's 20-digit start). */
    @Test
    void anOwnerNoGcWritesIsUnknownAndShownCut() {
        String self = LeaseOwner.newOwner();
        String boot = self.replaceAll(".* boot ([0-9a-f-]+) .*", "$1");
        String ns = self.replaceAll(".* pidns (\\d+)$", "$1");
        for (String owner : new String[]{"abcd@vm pid 1 start-ticks 99999999999999999999 boot " + boot + " pidns " + ns,
                "abcd@vm pid 99999999999999999999", "abcd@vm pid 1 started 99999999999999999999 boot " + boot + " pidns " + ns,
                "x".repeat(5000) + "@" + LeaseOwner.hostName() + " pid 999999999"}) {
            assertEquals(LeaseOwner.Verdict.RUNNING_OR_UNKNOWN, LeaseOwner.verdict(owner), owner.length() + " chars");
        }
        String huge = "y".repeat(3000);
        assertEquals(200 + "… (2800 more characters)".length(), LeaseOwner.shown(huge).length());
    }

    /** An owner with a line break or a terminal escape (ROOT edited by hand) cannot cut or recolour the GC refusal. */
    @Test
    void anOwnerWithControlCharactersIsShownEscaped() {
        assertEquals("gc@vm\\u000Apid 1\\u001B[31m", LeaseOwner.shown("gc@vm\npid 1\u001b[31m"));
    }
}

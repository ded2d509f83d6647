package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import dev.ckpt.store.util.TransferListener;
import dev.ckpt.store.commit.SaveRequest;
import dev.ckpt.store.commit.SaveResult;
import dev.ckpt.store.commit.WriterToken;
import dev.ckpt.store.error.GcLeaseHeldException;
import picocli.CommandLine.Option;

import java.time.Duration;

/**
 * --wait-for-gc, for the commands that commit a checkpoint (push, import). By default a
 * commit that a running GC holds up fails at once with exit 4, naming the GC and when its
 * lease expires; with the option it waits that long, saying so when the wait starts.
 */
public final class GcWaitOptions {
    @Option(names = "--wait-for-gc", paramLabel = "DURATION", converter = Durations.class, defaultValue = "0s",
            description = "if a running GC is deleting objects this checkpoint needs, wait up to DURATION for it to"
                    + " finish or its lease to expire (default 0s: exit 4 at once, naming the GC)")
    Duration waitForGc = Duration.ZERO;

    SaveResult save(CheckpointStore store, WriterToken writer, SaveRequest request, TransferListener listener) {
        try {
            return store.save(writer, request.withGcWait(waitForGc), listener);
        } catch (GcLeaseHeldException e) {
            // a rank that recorded its refusal cannot save this step again, waiting or not
            boolean stepClosed = e.stepClosed();
            String hint = !waitForGc.isZero() ? " (waited the --wait-for-gc " + Durations.format(waitForGc) + ")"
                    : stepClosed ? " (to wait for a GC next time, pass --wait-for-gc DURATION)"
                    : " (or pass --wait-for-gc DURATION to wait for it)";
            GcLeaseHeldException said = new GcLeaseHeldException(e.getMessage() + hint, e.generation(), e.owner(),
                    e.leaseExpiry());
            if (stepClosed) {
                said.closeStep();
            }
            throw said;
        }
    }
}

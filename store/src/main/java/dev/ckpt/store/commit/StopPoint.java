package dev.ckpt.store.commit;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.NotFoundException;
import dev.ckpt.store.manifest.Json;
import dev.ckpt.store.objectstore.ObjectStore;
import dev.ckpt.store.objectstore.PutResult;

import java.io.IOException;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The step at which every rank of one job stops (saves, commits, exits), agreed through the
 * store alone: the first rank to be told to stop creates {@code runs/<run>/stop-e<epoch>.json}
 * create-only; every other proposal of that job finds it and takes its step. The key holds the
 * job's writer epoch, so a requeued job (a new epoch) never sees its predecessor's stop. GC
 * lists only {@code chunks/} and {@code manifests/}: these small objects (one per preempted
 * job) are never deleted by it.
 *
 * @param step     the step at which every rank saves
 * @param rank     the rank that proposed it
 * @param reason   why (e.g. SIGUSR1)
 * @param deadline when that rank's preemption deadline passes (null: none)
 * @param proposerSavesNoPart true when the proposing rank saves no part at all (a stop abandoned
 *                 its start-up): no checkpoint of the job can be completed any more, so the
 *                 other ranks stop at once with the latest checkpoint instead of waiting out
 *                 the deadline for its part; null (not written) otherwise. Older readers ignore
 *                 it and wait out the deadline, as before.
 * @param proposerFailed true when the proposer stopped because it failed (its staging disk full,
 *                 the store refusing it) rather than because it was told to stop: it exits 1,
 *                 saves no part ({@code proposerSavesNoPart} is true too), and the other ranks
 *                 stop at once with the latest checkpoint and exit 1 as well, not 75, since a
 *                 requeue would meet the same failure; {@code reason} says what failed. Null
 *                 (not written) otherwise. Older readers take it as a stop whose proposer saves no
 *                 part.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StopPoint(long step, int rank, String reason, Instant deadline, Boolean proposerSavesNoPart,
                        Boolean proposerFailed) {
    public StopPoint {
        if (step < 0 || rank < 0) {
            throw new IllegalArgumentException("a stop point needs a step and a rank of at least 0, got step " + step
                    + " and rank " + rank);
        }
        Objects.requireNonNull(reason, "reason");
        // as every rank prints it, on one line: a failed rank's reason names files and paths, and a record in the store may
        // hold anything (idempotent: what is escaped once stays as it is, so a record read back equals the one written)
        reason = dev.ckpt.store.util.Printable.of(reason);
        if (Boolean.FALSE.equals(proposerSavesNoPart)) {
            proposerSavesNoPart = null; // one form for "saves its part": equal stop points compare equal
        }
        if (Boolean.FALSE.equals(proposerFailed)) {
            proposerFailed = null;
        }
        if (proposerFailed != null && proposerSavesNoPart == null) {
            throw new IllegalArgumentException("a stop point whose proposer failed must say that it saves no part");
        }
    }

    /** A stop point whose proposer was told to stop, saving its part of the stop step unless {@code proposerSavesNoPart}. */
    public StopPoint(long step, int rank, String reason, Instant deadline, Boolean proposerSavesNoPart) {
        this(step, rank, reason, deadline, proposerSavesNoPart, null);
    }

    /**
     * The stop point of a rank that failed at step {@code step} ({@code why}: what failed) and
     * saves no more parts: the other ranks stop at once ({@link #proposerFailed}).
     */
    public static StopPoint failed(long step, int rank, String why, Instant now) {
        return new StopPoint(step, rank, why, now, true, true);
    }

    /** A stop point whose proposer saves its part of the stop step. */
    public StopPoint(long step, int rank, String reason, Instant deadline) {
        this(step, rank, reason, deadline, null, null);
    }

    /** Whether the proposer saves no part ({@link #proposerSavesNoPart}), so no checkpoint of the job can complete. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean noCheckpointCanComplete() {
        return Boolean.TRUE.equals(proposerSavesNoPart);
    }

    /** Whether the proposer failed ({@link #proposerFailed}): the other ranks exit 1, not 75. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean proposerHasFailed() {
        return Boolean.TRUE.equals(proposerFailed);
    }

    /** Where the stop point of the job holding {@code writer} lives. */
    public static String key(WriterToken writer) {
        return "runs/" + writer.run() + "/stop-e" + writer.epoch() + ".json";
    }

    /**
     * Proposes {@code p}; returns the job's agreed stop point: {@code p} if it was the first,
     * else the one already there. One create-only PUT, and one GET when another rank was first.
     */
    public static StopPoint propose(ObjectStore store, WriterToken writer, StopPoint p) {
        byte[] bytes = Json.write(p);
        if (store.putIfAbsent(key(writer), bytes, 0, bytes.length) == PutResult.CREATED) {
            return p;
        }
        return read(store, writer).orElseThrow(() -> new IllegalStateException(
                "stop point " + key(writer) + " existed for a create-only write but could not be read back"));
    }

    /** The job's agreed stop point, if a rank proposed one: one GET. */
    public static Optional<StopPoint> read(ObjectStore store, WriterToken writer) {
        String key = key(writer);
        byte[] data;
        try {
            data = store.get(key).data();
        } catch (NotFoundException e) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.MAPPER.readValue(data, StopPoint.class));
        } catch (IOException | IllegalArgumentException | NullPointerException e) {
            throw new CorruptObjectException(key, "stop point " + key + " is not valid JSON of a step and a rank ("
                    + Json.syntax(e) + "); the job's ranks cannot agree on where to stop: delete the object and restart them", e);
        }
    }
}

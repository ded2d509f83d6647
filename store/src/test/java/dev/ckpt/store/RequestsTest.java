package dev.ckpt.store;

import dev.ckpt.store.commit.Retention;
import dev.ckpt.store.error.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request values of gc, verify and forget: their defaults and what they refuse. */
class RequestsTest {

    @Test
    void gcRequestsCollectByDefaultAndCarryTheirProgressListener() {
        assertFalse(GcRequest.collect().dryRun());
        assertNull(GcRequest.collect().progress(), "no progress listener unless one is given");
        assertTrue(GcRequest.preview().dryRun());
        assertEquals(GcRequest.preview(), GcRequest.of(true));
        assertEquals(GcRequest.collect(), GcRequest.of(false));
        Consumer<String> listener = s -> { };
        GcRequest r = GcRequest.preview().withProgress(listener);
        assertTrue(r.dryRun(), "withProgress keeps the mode");
        assertSame(listener, r.progress());
    }

    @Test
    void verifyRequestsCheckEveryCheckpointAndRefuseAShareOutsideZeroToOne() {
        assertEquals(0, VerifyRequest.structural().fraction());
        assertFalse(VerifyRequest.structural().isDeep());
        assertEquals(1, VerifyRequest.deep().fraction());
        assertTrue(VerifyRequest.sample(0.1).isDeep());
        assertEquals(List.of(), VerifyRequest.deep().checkpoints(), "all checkpoints by default");
        List<String> sel = new ArrayList<>(List.of("run:latest"));
        VerifyRequest some = VerifyRequest.deep().withCheckpoints(sel);
        sel.add("other");
        assertEquals(List.of("run:latest"), some.checkpoints(), "the request keeps its own copy");
        assertEquals(1, some.fraction());
        assertEquals(List.of(), new VerifyRequest(null, 0).checkpoints());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> VerifyRequest.sample(1.5));
        assertTrue(e.getMessage().contains("from 0 to 1"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> VerifyRequest.sample(-0.1));
        assertThrows(InvalidInputException.class, () -> VerifyRequest.sample(Double.NaN));
    }

    @Test
    void forgetAndRetentionRequestsAreRealUnlessMadeDryRuns() {
        ForgetRequest f = ForgetRequest.of("a@1", "a@2");
        assertEquals(List.of("a@1", "a@2"), f.checkpoints());
        assertFalse(f.dryRun());
        assertTrue(f.withDryRun(true).dryRun());
        Retention keep = Retention.keepLast(2);
        RetentionRequest r = RetentionRequest.of(keep);
        assertNull(r.run(), "every run by default");
        assertFalse(r.dryRun());
        RetentionRequest one = r.forRun("a").withDryRun(true);
        assertEquals("a", one.run());
        assertTrue(one.dryRun());
        assertSame(keep, one.policy());
        assertThrows(NullPointerException.class, () -> RetentionRequest.of(null));
    }
}

package dev.ckpt.tools;

import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.ConditionalWritesUnsupportedException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.FencedException;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ExitCodeTest {
    @Test
    void errorsMapToTheDocumentedExitCodes() {
        assertEquals(ExitCode.FENCED_OR_CONFLICT, CkptTool.code(new FencedException("r", 1, 2)));
        assertEquals(ExitCode.FENCED_OR_CONFLICT, CkptTool.code(new CommitConflictException("busy")));
        assertEquals(ExitCode.NO_CONDITIONAL_WRITES, CkptTool.code(new ConditionalWritesUnsupportedException("no")));
        assertEquals(ExitCode.ERROR, CkptTool.code(new CorruptObjectException("k", "bad")));
        assertEquals(ExitCode.ERROR, CkptTool.code(new IllegalStateException("bug")));
    }

    @Test
    void durationsAreWrittenLikeNinetySecondsOrSevenDays() {
        assertEquals(Duration.ofSeconds(90), Durations.parse("90s"));
        assertEquals(Duration.ofMinutes(15), Durations.parse("15m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ofDays(7), Durations.parse("7d"));
        assertEquals(Duration.ZERO, Durations.parse("0"));
        assertEquals("7d", Durations.format(Duration.ofDays(7)));
        assertEquals("90s", Durations.format(Duration.ofSeconds(90)));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("1 hour"));
    }
}

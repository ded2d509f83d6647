package dev.ckpt.store.manifest;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The id of a checkpoint of several ranks is computed by every rank alone, so it must tell
 * runs apart even when a long run name is cut to fit: else a second run's commit would find
 * "its" id already in ROOT and report success without committing.
 */
class ShardedIdTest {
    /** helper-105: a run name with a line break (from an archive) cut the refusal short at it. */
    @Test
    void aRefusedRunNameIsShownWithItsControlCharactersEscaped() {
        String m = org.junit.jupiter.api.Assertions.assertThrows(dev.ckpt.store.error.InvalidInputException.class,
                () -> Ids.checkRunName("bad run\nname")).getMessage();
        assertTrue(m.startsWith("invalid run name 'bad run\\u000Aname'"), m);
        assertTrue(m.indexOf('\n') < 0, m);
    }

    @Test
    void longRunNamesWithACommonPrefixGetDistinctValidIds() {
        String a = "x".repeat(95) + "-runa";
        String b = "x".repeat(95) + "-runb";
        String ia = Ids.shardedCheckpointId(a, 123456, 7);
        String ib = Ids.shardedCheckpointId(b, 123456, 7);
        assertNotEquals(ia, ib);
        for (String id : new String[]{ia, ib}) {
            assertTrue(id.length() <= 100, id);
            assertEquals(id, Ids.checkCheckpointId(id));
            assertTrue(id.endsWith("-s123456-e7"), id);
        }
        assertEquals(ia, Ids.shardedCheckpointId(a, 123456, 7), "the same on every rank");
        assertEquals("short-s5-e2", Ids.shardedCheckpointId("short", 5, 2), "short names as before");
    }
}

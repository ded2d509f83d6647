package dev.ckpt.store.manifest;

import dev.ckpt.store.commit.SaveRequest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A committed object is never unreadable for the parser's own limits (a 100,000-character
 * metadata key once made ROOT unreadable), and a save cannot write metadata that large.
 */
class JsonLimitsTest {
    @Test
    void longNamesAndStringsWrittenBeforeStayReadable() throws Exception {
        String key = "k".repeat(100_000);
        String value = "v".repeat(21_000_000); // past Jackson's default 20,000,000
        byte[] json = ("{\"" + key + "\":\"" + value + "\"}").getBytes(StandardCharsets.UTF_8);
        var node = Json.MAPPER.readTree(json);
        assertEquals(value.length(), node.get(key).asText().length());
    }

    @Test
    void aSaveRefusesMetadataPastItsLimitsNamingTheKey() {
        Path src = Path.of("src");
        Map<String, String> ok = new HashMap<>();
        ok.put("k".repeat(SaveRequest.MAX_METADATA_KEY_BYTES), "v".repeat(SaveRequest.MAX_METADATA_VALUE_BYTES));
        new SaveRequest(src, "r", 1, null, ok, null, null);

        Map<String, String> longKey = Map.of("é".repeat(129), "v"); // 258 bytes of UTF-8
        IllegalArgumentException k = assertThrows(IllegalArgumentException.class,
                () -> new SaveRequest(src, "r", 1, null, longKey, null, null));
        assertTrue(k.getMessage().contains("258 bytes") && k.getMessage().contains("at most 256"), k.getMessage());

        Map<String, String> longValue = Map.of("notes", "v".repeat(SaveRequest.MAX_METADATA_VALUE_BYTES + 1));
        IllegalArgumentException v = assertThrows(IllegalArgumentException.class,
                () -> new SaveRequest(src, "r", 1, null, longValue, null, null));
        assertTrue(v.getMessage().contains("'notes'") && v.getMessage().contains("as a file of the checkpoint"), v.getMessage());

        Map<String, String> many = new HashMap<>();
        for (int i = 0; i < 5; i++) {
            many.put("k" + i, "v".repeat(SaveRequest.MAX_METADATA_VALUE_BYTES));
        }
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class,
                () -> new SaveRequest(src, "r", 1, null, many, null, null));
        assertTrue(t.getMessage().contains("at most " + SaveRequest.MAX_METADATA_BYTES), t.getMessage());

        // a key with a control character, as push --meta refuses it (an imported archive's key was committed)
        Map<String, String> control = Map.of("k\nx", "v");
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
                () -> new SaveRequest(src, "r", 1, null, control, null, null));
        assertTrue(c.getMessage().contains("metadata key 'k\\u000Ax' holds a control character"), c.getMessage());
        new SaveRequest(src, "r", 1, null, Map.of("k", "a value\nof two lines"), null, null); // a value may hold one
    }
}

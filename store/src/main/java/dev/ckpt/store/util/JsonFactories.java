package dev.ckpt.store.util;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;

/** Jackson factories for what ckpt parses. */
public final class JsonFactories {
    private JsonFactories() {
    }

    /**
     * A factory without Jackson's limits on a name's length (50,000 characters) or a string's
     * (20,000,000), for JSON whose size is bounded otherwise (ROOT and manifests, written by ckpt
     * and hash-checked; a safetensors header, bounded by its file): a 100,000-character
     * metadata key made a committed ROOT unreadable, a long tensor name left its file out of the
     * index. The nesting depth keeps its limit.
     */
    public static JsonFactory withoutLengthLimits() {
        return JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNameLength(Integer.MAX_VALUE)
                        .maxStringLength(Integer.MAX_VALUE)
                        .build())
                .build();
    }
}

package dev.ckpt.store.manifest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.ckpt.store.chunk.Hashes;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.UnsupportedFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.ToIntFunction;

/**
 * JSON encoding of manifests and ROOT. Decoding checks the format version first (a newer
 * unknown version is refused with {@link UnsupportedFormatException}), then the
 * structure; anything malformed becomes a {@link CorruptObjectException} naming the key.
 */
public final class Json {
    /**
     * Reads without Jackson's length limits ({@link dev.ckpt.store.util.JsonFactories#withoutLengthLimits}):
     * a committed object must never become unreadable; what a save may write is bounded instead
     * ({@code SaveRequest.checkMetadata}).
     */
    public static final ObjectMapper MAPPER = JsonMapper.builder(dev.ckpt.store.util.JsonFactories.withoutLengthLimits())
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            // unknown fields within a known format version are tolerated: additive changes only
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    /**
     * {@link #MAPPER} refusing a key that repeats in an object: a tree keeps the last of them,
     * and {@link #bindDirectly} leaves every such object to the tree.
     */
    private static final ObjectReader STRICT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private Json() {
    }

    /** {@link #MAPPER} writing without indentation or spaces: for manifests (see {@link #writeManifest}). */
    private static final com.fasterxml.jackson.databind.ObjectWriter COMPACT = MAPPER.writer()
            .without(SerializationFeature.INDENT_OUTPUT);

    /** {@code value} as indented JSON (UTF-8): ROOT and the other small objects a person may read as they are. */
    public static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A manifest as compact JSON (UTF-8, no indentation or spaces; the same fields as {@link #write}, which any
     * JSON reader reads alike): a manifest holds a record per file, and indentation was a quarter of the bytes of
     * one of 10,000 files (3.9 MB against 2.9), all of them hashed, stored, fetched and parsed by every restore
     * (docs/benchmarks.md, "Compact manifests").
     */
    public static byte[] writeManifest(Manifest manifest) {
        try {
            return COMPACT.writeValueAsBytes(manifest);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Decodes a manifest, checking {@code expectedSha256} (when not null) first.
     *
     * @throws CorruptObjectException naming the key when the bytes do not match, do not
     *         parse, or describe an invalid checkpoint (for example an unsafe file path)
     */
    public static Manifest readManifest(String key, byte[] data, String expectedSha256) {
        return readManifest(key, data, expectedSha256, Manifest.FORMAT_SUPPORTED);
    }

    /**
     * As {@link #readManifest(String, byte[], String)}, with {@code advice} saying what to do about
     * a damaged one where the generic "restore the object from a backup or remove the damaged
     * checkpoint" does not fit (recover).
     */
    public static Manifest readManifest(String key, byte[] data, String expectedSha256, String advice) {
        return readManifest(key, data, expectedSha256, Manifest.FORMAT_SUPPORTED, advice);
    }

    /** As {@link #readManifest(String, byte[], String)}, as a version reading formats up to {@code supported} would. */
    static Manifest readManifest(String key, byte[] data, String expectedSha256, int supported) {
        return readManifest(key, data, expectedSha256, supported, null);
    }

    private static Manifest readManifest(String key, byte[] data, String expectedSha256, int supported, String advice) {
        if (expectedSha256 != null) {
            String actual = Hashes.sha256Hex(data);
            if (!actual.equals(expectedSha256)) {
                throw new CorruptObjectException(key, "manifest " + key + " is corrupt: its SHA-256 is " + actual
                        + " but ROOT recorded " + expectedSha256);
            }
        }
        Manifest m = read(key, "manifest", data, supported, Manifest.class, Manifest::format, advice);
        if (!m.key().equals(key)) {
            throw new CorruptObjectException(key, "manifest " + key + " describes checkpoint " + m.id()
                    + ", which belongs at " + m.key());
        }
        return m;
    }

    /** Decodes a manifest that does not come from a store (an export archive); {@code source} names it in errors. */
    public static Manifest readManifestFrom(String source, byte[] data) {
        return readManifestFrom(source, data, null);
    }

    /** As {@link #readManifestFrom(String, byte[])}, with {@code advice} saying what to do about a damaged one (null: generic). */
    public static Manifest readManifestFrom(String source, byte[] data, String advice) {
        return read(source, "manifest", data, Manifest.FORMAT_SUPPORTED, Manifest.class, Manifest::format, advice);
    }

    /** Decodes ROOT; {@code key} names it in errors (for example {@code ROOT of file:///data/store}). */
    public static RootState readRoot(String key, byte[] data) {
        return readRoot(key, data, null);
    }

    /**
     * Decodes ROOT of the store {@code storeUrl} (as {@code ObjectStore.describe()} gives it);
     * a damaged ROOT's message says how to rebuild it with {@code ckpt-tool recover}.
     */
    public static RootState readRoot(String key, byte[] data, String storeUrl) {
        String advice = "if no writer or GC is running, rebuild it from the manifests with ckpt-tool recover"
                + (storeUrl == null ? "" : " " + storeUrl) + " (see the README, Operating a store)";
        return read(key, "ROOT", data, RootState.FORMAT, RootState.class, RootState::format, advice);
    }

    /**
     * @param formatOf the decoded object's format version
     * @param advice what to do about a damaged object, or null for the generic advice
     */
    private static <T> T read(String key, String what, byte[] data, int supported, Class<T> type,
                              ToIntFunction<T> formatOf, String advice) {
        T bound = bindDirectly(data, supported, type, formatOf);
        if (bound != null) {
            return bound;
        }
        // "ROOT of s3://b/p" already says what it is: no "ROOT ROOT of ..."
        String name = key.equals(what) || key.startsWith(what + " ") ? key : what + " " + key;
        String unchanged = advice == null ? "; nothing was changed" : "; nothing was changed: " + advice;
        JsonNode tree;
        try {
            tree = MAPPER.readTree(data);
        } catch (IOException e) {
            throw new CorruptObjectException(key, name + " is not valid JSON (" + syntax(e) + ")"
                    + (advice == null ? "; nothing was changed: restore the object from a backup or remove the damaged checkpoint"
                    : unchanged));
        }
        if (tree == null || tree.isMissingNode()) {
            throw new CorruptObjectException(key, name + " is empty (" + data.length + " bytes)" + unchanged);
        }
        if (!tree.isObject()) {
            throw new CorruptObjectException(key, name + " is not a JSON object" + unchanged);
        }
        JsonNode format = tree.get("format");
        if (format == null || !format.canConvertToInt()) {
            throw new CorruptObjectException(key, name + " has no format version" + unchanged);
        }
        if (format.asInt() > supported) {
            throw new UnsupportedFormatException(key, format.asInt(), supported);
        }
        try {
            return MAPPER.treeToValue(tree, type);
        } catch (IOException | IllegalArgumentException e) {
            throw new CorruptObjectException(key, name + " is malformed: " + problem(e) + unchanged, e);
        }
    }

    /**
     * The usual object in one pass: decoded straight from the bytes when its first field is an
     * integer {@code format} this version reads, nothing in it is read otherwise by a tree (a
     * number a tree would rewrite, a byte that is not ASCII: {@link #leftToTheTree}), no key
     * repeats, and the decoded object has that format. Null for anything else, which
     * {@link #read} then decodes through a tree as before, checking the format first and naming
     * what is wrong; both ways give the same object for the same bytes. A tree first costs a
     * second pass and a node per value: for 10,000 files (3.9 MB) 0.39-0.44 s, not 0.25-0.27 s,
     * in a fresh JVM (docs/benchmarks.md, "Small files: one pass over the source and the
     * manifest").
     */
    static <T> T bindDirectly(byte[] data, int supported, Class<T> type, ToIntFunction<T> formatOf) {
        int format;
        try (JsonParser p = MAPPER.createParser(data)) {
            if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME
                    || !"format".equals(p.currentName()) || p.nextToken() != JsonToken.VALUE_NUMBER_INT
                    || p.getNumberType() != JsonParser.NumberType.INT) {
                return null;
            }
            format = p.getIntValue();
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (format > supported || leftToTheTree(data)) {
            return null;
        }
        try {
            T value = STRICT.forType(type).readValue(data);
            return value != null && formatOf.applyAsInt(value) == format ? value : null;
        } catch (IOException | RuntimeException e) {
            return null; // named by the tree's way
        }
    }

    /**
     * Whether {@code data} must be decoded through a tree to read as it did before: it has a
     * number whose text a tree would not keep as written, or a byte that is not ASCII. A number
     * with a fraction or an exponent is held by a tree as a double ({@code 0.10} read as text is
     * {@code 0.1}, {@code 1e2} is {@code 100.0}, a time in seconds is rounded to a double's
     * precision), a negative zero as {@code 0}; bound straight from the bytes, such a number
     * keeps its text. A byte that is not ASCII: a tree decodes every string and refuses
     * malformed UTF-8 (an encoded surrogate), while a bind skips an unknown field's string
     * unread; and a NUL byte marks UTF-16 or UTF-32, whose bytes this loop cannot read as
     * text. So a manifest with non-ASCII file names is decoded the tree's way, as before.
     * Numbers are looked for outside strings only (a string ends at a quote not escaped by a
     * backslash), so malformed JSON may be flagged too, which the tree names anyway. A pass of
     * Jackson's own tokenizer would find the numbers but costs 40-60 ms for a manifest of
     * 10,000 files in a fresh JVM, and not the encoding; this loop costs 7 ms.
     */
    static boolean leftToTheTree(byte[] data) {
        boolean inString = false;
        for (int i = 0; i < data.length; i++) {
            byte b = data[i];
            if (b <= 0) {
                return true; // NUL, or not ASCII (Java's bytes are signed)
            }
            if (inString) {
                if (b == '\\') {
                    i++; // the escaped byte, a quote included
                } else if (b == '"') {
                    inString = false;
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '.' || ((b == 'e' || b == 'E') && i > 0 && data[i - 1] >= '0' && data[i - 1] <= '9')) {
                return true; // an 'e' outside strings is also in true and false, after a letter
            } else if (b == '-' && i + 1 < data.length && data[i + 1] == '0') {
                return true;
            }
        }
        return false;
    }

    /**
     * What is wrong, in the object's terms: our own validation's message (an unsafe path,
     * a bad value), or the field that is missing or of the wrong type, never the JSON
     * library's wording (it names Java types and its own settings).
     */
    private static String problem(Exception e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String field = "";
        if (e instanceof com.fasterxml.jackson.databind.JsonMappingException m && !m.getPath().isEmpty()) {
            StringBuilder path = new StringBuilder();
            for (com.fasterxml.jackson.databind.JsonMappingException.Reference r : m.getPath()) {
                if (r.getFieldName() != null) {
                    path.append(path.length() == 0 ? "" : ".").append(r.getFieldName());
                } else if (r.getIndex() >= 0) {
                    path.append('[').append(r.getIndex()).append(']');
                }
            }
            field = "field '" + path + "'";
        }
        if (root instanceof NullPointerException || root instanceof java.time.DateTimeException) {
            // List.copyOf of a list holding null, a date in another shape: the JDK's words name Java internals
            return (field.isEmpty() ? "a value" : field) + " is null or has the wrong form";
        }
        boolean ours = !root.getClass().getName().startsWith("com.fasterxml.");
        if (ours) {
            // our own words, one line but for a name they quote: whole (its first line lost the rest of a path that held
            // a line break, and the reason after it: helper-132); the CLI escapes the line break where it says the error
            return (field.isEmpty() ? "" : field + ": ") + root.getMessage();
        }
        return field.isEmpty() ? "a field is missing or has the wrong type" : field + " is missing or has the wrong type";
    }

    /**
     * What a JSON parser refused, in its own first words and where: "unrecognized token
     * 'garbage' at line 1, column 8", "unexpected end-of-input at line 1, column 33" (the
     * parser's whole message, a list of the tokens it expected and a source reference, read as
     * a stack trace in a damaged ROOT's message: a new-user tryout's find).
     */
    public static String syntax(Throwable e) {
        if (!(e instanceof com.fasterxml.jackson.core.JsonProcessingException j) || j.getOriginalMessage() == null) {
            return firstLine(e);
        }
        String m = j.getOriginalMessage();
        int cut = m.length();
        for (String end : new String[]{":", "\n"}) {
            int i = m.indexOf(end);
            if (i > 0 && i < cut) {
                cut = i;
            }
        }
        m = m.substring(0, cut).strip();
        m = m.isEmpty() ? "not JSON" : Character.toLowerCase(m.charAt(0)) + m.substring(1);
        com.fasterxml.jackson.core.JsonLocation at = j.getLocation();
        return at == null || at.getLineNr() < 1 ? m : m + " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}

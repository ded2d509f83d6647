package dev.ckpt.store.objectstore;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The verdicts of {@link ConditionalWriteProbe} on this machine, so that a process does not
 * spend the probe's eight requests before its first commit when the same server and bucket
 * passed it recently. One small JSON file per store identity in {@code $XDG_CACHE_HOME/ckpt/probe/}
 * (default {@code ~/.cache/ckpt/probe/}), named by the SHA-256 of the identity.
 *
 * <p>Only passing verdicts are kept: a store that failed the probe is probed again every time.
 * An entry holds the identity in clear (no credentials of any kind: an endpoint with user info is
 * refused before any store is opened), the {@link IfMatchForm}
 * learnt and when it was probed; it is written to a temporary file and renamed (mode 0600 where
 * POSIX). Every failure to read or write the cache means "no cached verdict": the caller probes,
 * as it would without a cache, and nothing is printed.
 */
public final class ProbeCache {
    /**
     * How long a verdict is trusted: a day. What the probe tests is a property of the server's
     * software and the bucket's configuration, which change by deliberate upgrades and
     * migrations, not from one run to the next; a day bounds how long a run after such a change
     * could go without being probed, while a training job or a day of pushes probes once.
     * A verdict that a conditional write contradicts is dropped at once (see {@link ProbingObjectStore}).
     */
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);

    /** {@code CKPT_PROBE_CACHE=0} turns the cache off. */
    public static final String ENV = "CKPT_PROBE_CACHE";

    /**
     * A system property naming the cache directory, or {@code off}; it takes precedence over
     * {@code $XDG_CACHE_HOME} (tests point it at a temporary directory or turn the cache off).
     */
    public static final String DIR_PROPERTY = "ckpt.probe.cache";

    /** The format of an entry; an entry of another format is ignored (and rewritten after a probe). */
    static final int FORMAT = 1;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    /**
     * What makes a probe verdict apply: the server (endpoint as configured, null = AWS), the
     * bucket, the region, the client library and addressing (they shape the requests), and the
     * server-side encryption (it changes what ETags are). Not the key prefix: the probe tests the
     * server and bucket, and every prefix of a bucket behaves alike. Never credentials.
     */
    public record Identity(String kind, String endpoint, String bucket, String region, String client,
                           boolean pathStyle, String sse) {
        public Identity {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(bucket, "bucket");
        }

        /** The cache file's name: hex SHA-256 of every field. */
        String fileName() {
            String s = String.join("\n", kind, String.valueOf(endpoint), bucket, String.valueOf(region),
                    String.valueOf(client), String.valueOf(pathStyle), String.valueOf(sse));
            try {
                byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(d) + ".json";
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * One cached verdict. {@code verdict} is always {@code "ok"} (failures are not cached).
     *
     * @param probedAt    when the probe ran, an ISO-8601 instant
     * @param ifMatchForm the If-Match form the probe learnt, null where none applies
     */
    public record Entry(int format, Identity identity, String verdict, IfMatchForm ifMatchForm, String probedAt) {
        public Instant probedAtInstant() {
            return Instant.parse(probedAt);
        }
    }

    private final Path dir;
    private final Duration ttl;
    private final Clock clock;

    /**
     * A cache in {@code dir} (null = off) trusting verdicts for {@code ttl}, with time from {@code clock}
     * (tests pass a fake clock).
     */
    public ProbeCache(Path dir, Duration ttl, Clock clock) {
        this.dir = dir;
        this.ttl = Objects.requireNonNull(ttl, "ttl");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** No cache: every process probes. */
    public static ProbeCache off() {
        return new ProbeCache(null, DEFAULT_TTL, Clock.systemUTC());
    }

    /**
     * The cache as {@code env} and the system properties configure it: off with {@code CKPT_PROBE_CACHE=0};
     * else in the directory of the system property {@value #DIR_PROPERTY} ({@code off} = off); else
     * {@code $XDG_CACHE_HOME/ckpt/probe}; else {@code $HOME/.cache/ckpt/probe} (else Java's user.home's);
     * relative paths are ignored, and with no absolute home the cache is off.
     */
    public static ProbeCache fromEnvironment(Map<String, String> env) {
        try {
            return configured(env);
        } catch (RuntimeException e) { // a path that is no path: no cache, as with any other cache failure
            return off();
        }
    }

    private static ProbeCache configured(Map<String, String> env) {
        String flag = env.get(ENV);
        if (flag != null && (flag.trim().equals("0") || flag.trim().equalsIgnoreCase("off")
                || flag.trim().equalsIgnoreCase("false"))) {
            return off();
        }
        String prop = System.getProperty(DIR_PROPERTY);
        Path dir;
        if (prop != null && !prop.isBlank()) {
            if (prop.trim().equalsIgnoreCase("off")) {
                return off();
            }
            dir = Path.of(prop);
        } else {
            String xdg = env.get("XDG_CACHE_HOME");
            // $HOME as the XDG spec has it, else Java's user.home; only an absolute one: for a UID
            // without a passwd entry user.home is "?", which made ./?/.cache/... in the working directory
            String home = absolute(env.get("HOME"));
            if (home == null) {
                home = absolute(System.getProperty("user.home"));
            }
            if (absolute(xdg) != null) {
                dir = Path.of(xdg, "ckpt", "probe");
            } else if (home != null) {
                dir = Path.of(home, ".cache", "ckpt", "probe");
            } else {
                return off();
            }
        }
        return new ProbeCache(dir, DEFAULT_TTL, Clock.systemUTC());
    }

    /** {@code path} if it is an absolute path, else null. */
    private static String absolute(String path) {
        return path != null && !path.isBlank() && Path.of(path).isAbsolute() ? path : null;
    }

    public boolean enabled() {
        return dir != null;
    }

    /** The directory, or empty when off. */
    public Optional<Path> directory() {
        return Optional.ofNullable(dir);
    }

    /** The file that holds {@code id}'s verdict (it may not exist), or empty when off. */
    public Optional<Path> file(Identity id) {
        return directory().map(d -> d.resolve(id.fileName()));
    }

    /** The entry for {@code id} whatever its age (doctor shows it), or empty: none, unreadable, another identity. */
    public Optional<Entry> read(Identity id) {
        Optional<Path> f = file(id);
        if (f.isEmpty() || !Files.isRegularFile(f.get())) {
            return Optional.empty();
        }
        try {
            Entry e = JSON.readValue(Files.readAllBytes(f.get()), Entry.class);
            if (e == null || e.format() != FORMAT || !id.equals(e.identity()) || !"ok".equals(e.verdict())
                    || e.probedAt() == null) {
                return Optional.empty();
            }
            e.probedAtInstant(); // a malformed instant is a corrupt entry
            return Optional.of(e);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** A passing verdict for {@code id} probed less than the TTL ago (and not in the future), or empty. */
    public Optional<Entry> fresh(Identity id) {
        Instant now = clock.instant();
        return read(id).filter(e -> {
            Duration age = Duration.between(e.probedAtInstant(), now);
            return !age.isNegative() && age.compareTo(ttl) < 0;
        });
    }

    /** The age of {@code e} now. */
    public Duration age(Entry e) {
        return Duration.between(e.probedAtInstant(), clock.instant());
    }

    /**
     * Records {@code r} for {@code id} if it passed; a failed verdict is never written (and drops
     * an earlier passing one). Returns whether an entry was written; I/O failures are swallowed.
     */
    public boolean record(Identity id, ConditionalWriteProbe.Result r) {
        if (dir == null) {
            return false;
        }
        if (!r.ok()) {
            forget(id);
            return false;
        }
        Entry e = new Entry(FORMAT, id, "ok", r.ifMatchForm(), clock.instant().toString());
        Path tmp = null;
        try {
            boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
            if (!Files.isDirectory(dir)) {
                if (posix) {
                    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectories(dir);
                }
            }
            tmp = posix ? Files.createTempFile(dir, ".probe-", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                    : Files.createTempFile(dir, ".probe-", ".tmp");
            Files.write(tmp, JSON.writeValueAsBytes(e));
            Path target = dir.resolve(id.fileName());
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException x) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            // an earlier ckpt's entries holding a password go at the next probe of any store, not only when
            // their endpoint is given again (helper-75); a probe is rare, so the listing costs nothing a run notices
            dropEntriesWithUserInfo();
            return true;
        } catch (IOException | RuntimeException x) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temporary file is harmless
                }
            }
            return false;
        }
    }

    /**
     * Deletes every entry whose endpoint may have user info ({@code //user:password@host}; any '@'
     * after "//" counts, a path's too, since deleting an entry costs only one probe): ckpt before
     * 2026-12-04 wrote such endpoints as given, password included; they are now refused. Entries that cannot be
     * read as JSON are left (they hold nothing ckpt wrote). Returns how many were deleted; I/O
     * failures are swallowed.
     */
    public int dropEntriesWithUserInfo() {
        if (dir == null || !Files.isDirectory(dir)) {
            return 0;
        }
        int dropped = 0;
        try (var files = Files.newDirectoryStream(dir, "*.json")) {
            for (Path f : files) {
                try {
                    if (!Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        continue; // a FIFO would block the read for good (helper-75); a link is not ckpt's
                    }
                    var node = JSON.readTree(Files.readAllBytes(f)).path("identity").path("endpoint");
                    if (node.isTextual() && node.asText().matches("(?s)[^/]*//.*@.*") && Files.deleteIfExists(f)) {
                        dropped++;
                    }
                } catch (IOException | RuntimeException e) {
                    // unreadable or not ckpt's: left as it is
                }
            }
        } catch (IOException | RuntimeException e) {
            // no listing: nothing more to drop
        }
        return dropped;
    }

    /** Drops the entry of {@code id}, if any; I/O failures are swallowed. */
    public void forget(Identity id) {
        file(id).ifPresent(f -> {
            try {
                Files.deleteIfExists(f);
            } catch (IOException | RuntimeException ignored) {
                // an entry that cannot be deleted cannot be rewritten either; it expires
            }
        });
    }
}

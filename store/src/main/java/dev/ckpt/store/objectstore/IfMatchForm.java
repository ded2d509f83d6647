package dev.ckpt.store.objectstore;

/**
 * How an HTTP backend spells the expected ETag in {@code If-Match}.
 *
 * <p>RFC 7232 (section 2.3) writes an entity tag in double quotes, and AWS S3, MinIO and
 * S3Proxy match only that form. Ceph RGW 16.2 (Debian 12's {@code radosgw} 16.2.15)
 * compares the header with its stored ETag literally: it refuses the quoted form of the
 * current ETag (412) and accepts the bare hex digest, while still refusing a stale ETag in
 * either form. The S3 backends find out which form a server honours on their first
 * conditional replace (the conditional-write probe makes that the probe's own object) and
 * keep it; see {@link ObjectStore#ifMatchForm()}.
 */
public enum IfMatchForm {
    /** {@code If-Match: "<md5>"}, as RFC 7232 writes it. */
    QUOTED,
    /** {@code If-Match: <md5>}, without quotes (Ceph RGW 16.2). */
    BARE;

    /** The header value for {@code etag} (given with or without quotes) in this form. */
    public String header(String etag) {
        String bare = etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")
                ? etag.substring(1, etag.length() - 1) : etag;
        return this == QUOTED ? "\"" + bare + "\"" : bare;
    }

    /** The other form. */
    public IfMatchForm other() {
        return this == QUOTED ? BARE : QUOTED;
    }

    /** For doctor and messages: the form with an example. */
    public String describe() {
        return this == QUOTED ? "quoted ETag, If-Match: \"<md5>\" (RFC 7232)"
                : "bare ETag, If-Match: <md5> (the form Ceph RGW 16.2 honours)";
    }
}

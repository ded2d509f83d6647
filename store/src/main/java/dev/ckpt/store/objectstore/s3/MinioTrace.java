package dev.ckpt.store.objectstore.s3;

/**
 * What the MinIO client's trace of a request tells about its answer. The client keeps no
 * answer for a reply without an XML body (a redirect from an ingress: "Non-XML response"),
 * only this text: the request's lines, the answer's status line and headers, then its body.
 */
final class MinioTrace {
    private MinioTrace() {
    }

    /**
     * A header's value (the first) in the answer's part of the MinIO client's trace of a
     * request: the header lines right after the answer's status line ({@code HTTP/1.1 301}),
     * up to the first line that is not a header. The body comes after them and is never read,
     * so it cannot stand in for a header. Null when there is none.
     */
    static String header(String trace, String name) {
        if (trace == null) {
            return null;
        }
        String[] lines = trace.split("\\r?\\n", -1);
        int status = -1;
        for (int i = 0; i < lines.length && status < 0; i++) {
            if (lines[i].matches("HTTP/\\d(\\.\\d)? \\d{3}\\b.*")) {
                status = i; // the first: the answer's (a request's line starts with its method); a body may hold more
            }
        }
        if (status < 0) {
            return null;
        }
        for (int i = status + 1; i < lines.length; i++) {
            java.util.regex.Matcher m = HEADER_LINE.matcher(lines[i]);
            if (!m.matches()) {
                return null; // the end of the headers
            }
            if (m.group(1).equalsIgnoreCase(name)) {
                return m.group(2).trim();
            }
        }
        return null;
    }

    private static final java.util.regex.Pattern HEADER_LINE = java.util.regex.Pattern.compile(
            "([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \\t]*(.*)");
}

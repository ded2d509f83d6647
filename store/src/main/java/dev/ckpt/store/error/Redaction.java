package dev.ckpt.store.error;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that keeps credentials and signatures out of everything ckpt prints:
 * error messages, whole exception chains (causes and suppressed ones, as the AWS SDK's
 * and the MinIO client's carry server text and request details), and — through
 * {@link #writer} and {@link #stream} — every line the CLI and the trainer write.
 *
 * <p>Two layers: the credential values this process uses are registered when an S3 store
 * resolves them ({@link #registerSecret}) and are replaced wherever they appear, whatever
 * the surrounding text; and anything shaped like a credential is replaced even when its
 * value is unknown (SigV4/SigV2 {@code Authorization} values, {@code Signature=},
 * {@code Credential=}, presigned-URL parameters, the XML elements S3 servers echo in
 * {@code SignatureDoesNotMatch} errors, AWS access key ids).
 */
public final class Redaction {
    public static final String MASK = "[redacted]";

    /** Lines passed on as redacted, nothing more. */
    private static final UnaryOperator<String> AS_IS = s -> s;

    private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();

    private static final Pattern XML = Pattern.compile("(?is)<(AWSAccessKeyId|AccessKeyId|SecretAccessKey|SessionToken"
            + "|SignatureProvided|Signature|StringToSign|StringToSignBytes|CanonicalRequest|CanonicalRequestBytes"
            + "|Authorization|Credential|X-Amz-Security-Token)>.*?</\\1>");
    // a whole SigV4 Authorization value; whatever follows it in a message (what to do, request ids) stays
    private static final Pattern SIGV4 = Pattern.compile("(?i)AWS4-HMAC-SHA256\\s+Credential=[^\\s,]*,\\s*"
            + "SignedHeaders=[^\\s,]*,\\s*Signature=[0-9a-f]*");
    // any other Authorization value: one token, or a scheme and its token
    // also as JSON output escapes it (Authorization\": \"Bearer x\"): a usage error's message, written as --json's
    // error document, kept the value the same text on stderr lost (helper-139)
    private static final Pattern AUTHORIZATION = Pattern.compile("(?i)(Authorization(?:\\\\?\")?\\s*[:=]\\s*(?:\\\\?\")?)"
            + "(?!\\[redacted])(?:(?:Bearer|Basic|AWS|AWS4-HMAC-SHA256)\\s+)?[^\\s;,\"<\\\\]+");
    // a URL's user and password (http://user:pass@host): an endpoint or a proxy given with them was echoed in usage
    // errors (helper-139: --endpoint URL --bogus)
    private static final Pattern USER_INFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*://)(?!\\[redacted])[^/\\s@\"'<:]*:[^/\\s@\"'<]+@");
    private static final Pattern SIGV2 = Pattern.compile("\\bAWS [A-Za-z0-9._~+/=-]{8,}:[A-Za-z0-9+/=]+");
    private static final Pattern PARAM = Pattern.compile("(?i)\\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token"
            + "|Signature|Credential|AWSAccessKeyId|SecretAccessKey|SessionToken)\\s*=\\s*[^&\\s,;\"<]*");
    private static final Pattern ACCESS_KEY_ID = Pattern.compile("\\b(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\\b");
    // a credential_process's JSON (and an AWS profile's lines) quoted by a parser's error, e.g. Jackson's "Unexpected
    // end-of-input ... [Source: (String)"{... "SecretAccessKey": "..."": keys a failed refresh printed were never
    // registered (helper-78). The value up to its closing quote, or to the end where the text was cut; also escaped
    // inside JSON output (\"SecretAccessKey\": \"...\")
    private static final Pattern JSON_SECRET = Pattern.compile("(?i)(\\\\?\"(?:SecretAccessKey|SessionToken|Token)\\\\?\"\\s*:\\s*"
            + "\\\\?\")(?!\\[redacted])[^\"\\\\]*");
    private static final Pattern PROFILE_SECRET = Pattern.compile("(?i)\\b(aws_secret_access_key|aws_session_token)"
            + "(\\s*=\\s*)(?!\\[redacted])[^\\s\"\\\\]+");

    private Redaction() {
    }

    /**
     * Remembers a credential value (access key id, secret key, session token) so that it is
     * replaced wherever it appears. Values shorter than 8 characters are ignored: a MinIO
     * user such as {@code ckpt} would mask ordinary text (AWS key ids have 20 characters,
     * secrets 40; MinIO secrets at least 8).
     */
    public static void registerSecret(String value) {
        if (value != null && value.length() >= 8) {
            SECRETS.add(value);
        }
    }

    /** {@code s} with every registered secret and everything shaped like a credential replaced. */
    public static String redact(String s) {
        if (s == null || s.isEmpty()) {
            return s;
        }
        String out = s;
        for (String secret : SECRETS) {
            if (out.contains(secret)) {
                out = out.replace(secret, MASK);
            }
        }
        out = XML.matcher(out).replaceAll(m -> Matcher.quoteReplacement("<" + m.group(1) + ">" + MASK + "</" + m.group(1) + ">"));
        out = SIGV4.matcher(out).replaceAll(Matcher.quoteReplacement(MASK));
        out = SIGV2.matcher(out).replaceAll(Matcher.quoteReplacement(MASK));
        out = AUTHORIZATION.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK));
        out = USER_INFO.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK + "@"));
        // "Signature=" itself goes too: it tells a reader (or a grep) that a signature was there, and nothing else
        out = PARAM.matcher(out).replaceAll(Matcher.quoteReplacement(MASK));
        out = ACCESS_KEY_ID.matcher(out).replaceAll(Matcher.quoteReplacement(MASK));
        out = JSON_SECRET.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK));
        out = PROFILE_SECRET.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + m.group(2) + MASK));
        return out;
    }

    /**
     * A copy of {@code t}'s whole chain — itself, its causes and its suppressed exceptions —
     * whose messages are redacted, with the original class names and stack frames. Print
     * the copy, never the original: a cause's message is server or client text.
     */
    public static Throwable redactedCopy(Throwable t) {
        return copy(t, Collections.newSetFromMap(new IdentityHashMap<>()), new IdentityHashMap<>());
    }

    private static Throwable copy(Throwable t, Set<Throwable> seen, Map<Throwable, Throwable> done) {
        if (t == null) {
            return null;
        }
        Throwable existing = done.get(t);
        if (existing != null || !seen.add(t)) {
            return existing; // a cycle: cut it
        }
        Redacted r = new Redacted(redact(t.toString()));
        done.put(t, r);
        r.setStackTrace(t.getStackTrace());
        Throwable cause = t.getCause();
        if (cause != null && cause != t) {
            Throwable c = copy(cause, seen, done);
            if (c != null) {
                r.initCause(c);
            }
        }
        for (Throwable s : t.getSuppressed()) {
            Throwable c = copy(s, seen, done);
            if (c != null) {
                r.addSuppressed(c);
            }
        }
        return r;
    }

    /** Prints {@code t}'s stack trace, every message in its chain redacted. */
    public static void printStackTrace(Throwable t, PrintWriter w) {
        redactedCopy(t).printStackTrace(w);
    }

    /** Prints {@code t}'s stack trace, every message in its chain redacted. */
    public static void printStackTrace(Throwable t, PrintStream s) {
        redactedCopy(t).printStackTrace(s);
    }

    /** A stand-in that prints as the original ({@code class: message}), redacted. */
    private static final class Redacted extends RuntimeException {
        private final String text;

        Redacted(String text) {
            super(text); // leaves the cause unset, so initCause can set it
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /**
     * A writer that redacts each line before passing it on. Text is held until a line ends or
     * the writer is flushed (a progress line redrawn in place is flushed without a newline).
     */
    public static PrintWriter writer(PrintWriter out) {
        return writer(out, AS_IS);
    }

    /**
     * As {@link #writer(PrintWriter)}, each line then passed through {@code shown}: ckpt-tool's
     * escapes what a terminal would act on ({@code Printable.of(line, true)}), so that a path's
     * escape sequence, carriage return or bidirectional override in any note or result is shown,
     * not run (helper-130 found seven places that had printed a path raw). A writer that already
     * redacts is returned as it is.
     */
    public static PrintWriter writer(PrintWriter out, UnaryOperator<String> shown) {
        return out instanceof RedactingWriter ? out : new RedactingWriter(out, shown);
    }

    /**
     * For a progress bar redrawn in place (its own {@code \r} and erase-line, its text already
     * escaped): a writer onto the same output as {@code w} that redacts and passes nothing through
     * {@code shown}; {@code w} itself if it is not one of {@link #writer}'s.
     */
    public static PrintWriter unescaped(PrintWriter w) {
        return w instanceof RedactingWriter r ? r.unescaped() : w;
    }

    /**
     * The same for a byte stream (UTF-8), e.g. the trainer's stdout and stderr. A stream
     * that already redacts is returned as it is (ckpt-train's main wraps System.out, and
     * its run wraps what it is given, for callers that pass other streams).
     */
    public static PrintStream stream(PrintStream out) {
        return stream(out, AS_IS);
    }

    /** As {@link #stream(PrintStream)}, each line then passed through {@code shown} (see {@link #writer(PrintWriter, UnaryOperator)}). */
    public static PrintStream stream(PrintStream out, UnaryOperator<String> shown) {
        return out instanceof RedactingStream ? out : new RedactingStream(out, shown);
    }

    private static final class RedactingWriter extends PrintWriter {
        private final PrintWriter raw;
        private final UnaryOperator<String> shown;
        private RedactingWriter unescaped;

        RedactingWriter(PrintWriter raw, UnaryOperator<String> shown) {
            super(new LineRedactingWriter(raw, shown), true);
            this.raw = raw;
            this.shown = shown;
        }

        synchronized RedactingWriter unescaped() {
            if (shown == AS_IS) {
                return this;
            }
            if (unescaped == null) {
                unescaped = new RedactingWriter(raw, AS_IS);
            }
            return unescaped;
        }
    }

    private static final class RedactingStream extends PrintStream {
        RedactingStream(PrintStream out, UnaryOperator<String> shown) {
            super(new LineRedactingStream(out, shown), true, StandardCharsets.UTF_8);
        }
    }

    private static final class LineRedactingWriter extends Writer {
        private final PrintWriter out;
        private final UnaryOperator<String> shown;
        private final StringBuilder line = new StringBuilder();

        LineRedactingWriter(PrintWriter out, UnaryOperator<String> shown) {
            this.out = out;
            this.shown = shown;
        }

        private String shown(String text) {
            return shown.apply(redact(text));
        }

        @Override
        public synchronized void write(char[] buf, int off, int len) {
            for (int i = off; i < off + len; i++) {
                line.append(buf[i]);
                if (buf[i] == '\n') {
                    out.write(shown(line.toString()));
                    line.setLength(0);
                }
            }
        }

        @Override
        public synchronized void flush() {
            if (line.length() > 0) {
                out.write(shown(line.toString()));
                line.setLength(0);
            }
            out.flush();
        }

        @Override
        public void close() {
            flush();
        }
    }

    private static final class LineRedactingStream extends OutputStream {
        private final PrintStream out;
        private final UnaryOperator<String> shown;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineRedactingStream(PrintStream out, UnaryOperator<String> shown) {
            this.out = out;
            this.shown = shown;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                emit();
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        private void emit() {
            out.print(shown.apply(redact(line.toString(StandardCharsets.UTF_8))));
            line.reset();
        }

        @Override
        public synchronized void flush() {
            if (line.size() > 0) {
                emit();
            }
            out.flush();
        }

        @Override
        public void close() {
            flush();
        }
    }
}

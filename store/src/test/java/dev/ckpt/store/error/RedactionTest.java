package dev.ckpt.store.error;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedactionTest {
    private static final String AUTH = "AWS4-HMAC-SHA256 Credential=minio-user-xyz/20261130/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef";

    @Test
    void aSigV4ValueGoesAndTheAdviceAfterItStays() {
        String r = Redaction.redact("access denied: Received Authorization: " + AUTH + "; check the credentials");
        assertEquals("access denied: Received Authorization: [redacted]; check the credentials", r);
    }

    @Test
    void registeredValuesGoWhereverTheyAppearAndShortOnesAreNotRegistered() {
        Redaction.registerSecret("s3cr3t-value-42");
        Redaction.registerSecret("ckpt"); // a MinIO user: too short to mask without masking ordinary text
        String r = Redaction.redact("server said: key s3cr3t-value-42 (ckpt-tool)");
        assertEquals("server said: key [redacted] (ckpt-tool)", r);
    }

    @Test
    void credentialShapesAreMaskedWithoutKnowingTheValues() {
        String r = Redaction.redact("<Error><AWSAccessKeyId>someone</AWSAccessKeyId><SignatureProvided>abc</SignatureProvided>"
                + "<StringToSign>AWS4-HMAC-SHA256\n2026</StringToSign></Error> GET /b/k?X-Amz-Credential=a%2Fb&X-Amz-Signature=ff"
                + " AKIAIOSFODNN7EXAMPLE Authorization: AWS someuser1:c2lnbmF0dXJl");
        assertFalse(r.contains("someone") || r.contains("abc") || r.contains("2026") || r.contains("a%2Fb")
                || r.contains("Signature=") || r.contains("AKIAIOSFODNN7EXAMPLE") || r.contains("c2lnbmF0dXJl"), r);
        assertTrue(r.contains("<AWSAccessKeyId>[redacted]</AWSAccessKeyId>"), r);
    }

    @Test
    void theWholeChainIsRedactedWithClassNamesAndFramesKept() {
        RuntimeException root = new IllegalStateException("inner " + AUTH);
        Exception mid = new java.io.IOException("mid Signature=deadbeef", root);
        CkptException top = new BadConfigurationException("access denied", mid);
        top.addSuppressed(new RuntimeException("suppressed X-Amz-Credential=abc/def"));
        root.initCause(new IllegalArgumentException("loop", mid)); // a cycle back to mid
        StringWriter w = new StringWriter();
        Redaction.printStackTrace(top, new PrintWriter(w));
        String t = w.toString();
        assertFalse(t.contains("Signature=") || t.contains("deadbeef") || t.contains("abc/def") || t.contains("minio-user-xyz"), t);
        assertTrue(t.startsWith("dev.ckpt.store.error.BadConfigurationException: access denied"), t);
        assertTrue(t.contains("Caused by: java.io.IOException: mid [redacted]"), t);
        assertTrue(t.contains("Caused by: java.lang.IllegalStateException: inner [redacted]"), t);
        assertTrue(t.contains("Suppressed: java.lang.RuntimeException: suppressed [redacted]"), t);
        assertTrue(t.contains("at dev.ckpt.store.error.RedactionTest.theWholeChainIsRedactedWithClassNamesAndFramesKept"), t);
    }

    @Test
    void theWriterRedactsLinesAndFlushedPartialLines() {
        StringWriter sink = new StringWriter();
        PrintWriter w = Redaction.writer(new PrintWriter(sink), dev.ckpt.store.util.Printable.LINES);
        w.print("progress Sig");
        w.print("nature=abcdef and more\n");
        w.print("\rlive line Signature=1234");
        w.flush();
        // what a terminal would act on is written escaped (a path's carriage return or escape sequence, helper-130)
        assertEquals("progress [redacted] and more\n\\u000Dlive line [redacted]", sink.toString());
        // but for a progress bar's own: its writer onto the same output redacts and escapes nothing
        PrintWriter bar = Redaction.unescaped(w);
        bar.print("\r\u001b[Klive line Signature=1234\n");
        w.print("\u001b[31m\ttab kept\n");
        w.flush();
        assertEquals("progress [redacted] and more\n\\u000Dlive line [redacted]\r\u001b[Klive line [redacted]\n"
                + "\\u001B[31m\ttab kept\n", sink.toString());
        assertEquals(bar, Redaction.unescaped(bar), "one sibling");
    }

    /**
     * Keys a failed credential_process refresh printed (truncated JSON, never registered) were
     * quoted by Jackson's parse error, which --verbose printed (helper-78): a value of
     * SecretAccessKey, SessionToken or Token in JSON, whole or cut, plain or escaped inside JSON
     * output, and a profile's aws_secret_access_key line, are masked.
     */
    @Test
    void secretsInQuotedJsonOrProfileLinesAreMaskedUnregistered() {
        String cut = "Unexpected end-of-input: expected close marker for Object [Source: (String)\"{\"Version\": 1,"
                + " \"AccessKeyId\": \"NEWKEYID\", \"SecretAccessKey\": \"NEWSECRETVALUE123\"\"; line: 1]";
        String r = Redaction.redact(cut);
        org.junit.jupiter.api.Assertions.assertFalse(r.contains("NEWSECRETVALUE123"), r);
        org.junit.jupiter.api.Assertions.assertTrue(r.contains("\"SecretAccessKey\": \"[redacted]\""), r);
        for (String t : new String[] {"{\"SessionToken\":\"TOKENVALUE999\"}", "\"Token\" : \"TOKENVALUE999",
                "{\\\"SecretAccessKey\\\": \\\"TOKENVALUE999\\\"}", "aws_secret_access_key = TOKENVALUE999",
                "aws_session_token=TOKENVALUE999\n"}) {
            String m = Redaction.redact(t);
            org.junit.jupiter.api.Assertions.assertFalse(m.contains("TOKENVALUE999"), t + " -> " + m);
            org.junit.jupiter.api.Assertions.assertTrue(m.contains("[redacted]"), t + " -> " + m);
        }
        // as JSON output escapes them (helper-139: a --json error document kept what stderr's line lost)
        assertEquals("Unknown option: '--x=Authorization\\\": \\\"[redacted]\\\"'",
                Redaction.redact("Unknown option: '--x=Authorization\\\": \\\"Bearer sekrit2\\\"'"));
        assertEquals("Authorization\": \"[redacted]\"", Redaction.redact("Authorization\": \"Bearer sekrit2\""));
        // a URL's password (helper-139: an endpoint echoed by a usage error); a user alone, and paths, stay
        assertEquals("(it follows --endpoint http://[redacted]@minio:9000/ ...)",
                Redaction.redact("(it follows --endpoint http://admin:hunter22@minio:9000/ ...)"));
        assertEquals("https://[redacted]@host/", Redaction.redact("https://:tok@host/"));
        for (String kept : new String[] {"ssh://git@host/x", "file:///tmp/a:b@c", "s3://bucket/run@5", "run@5 of r:latest"}) {
            assertEquals(kept, Redaction.redact(kept));
        }
        org.junit.jupiter.api.Assertions.assertEquals("give it aws_access_key_id and aws_secret_access_key",
                Redaction.redact("give it aws_access_key_id and aws_secret_access_key"));
    }
}

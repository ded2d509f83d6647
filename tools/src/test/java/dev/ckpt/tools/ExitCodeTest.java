package dev.ckpt.tools;

import dev.ckpt.store.error.CommitConflictException;
import dev.ckpt.store.error.CommitStateUnknownException;
import dev.ckpt.store.error.ConditionalWritesUnsupportedException;
import dev.ckpt.store.error.CorruptObjectException;
import dev.ckpt.store.error.FencedException;
import dev.ckpt.store.error.StoreUnavailableException;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExitCodeTest {
    @Test
    void errorsMapToTheDocumentedExitCodes() {
        assertEquals(ExitCode.FENCED_OR_CONFLICT, CkptTool.code(new FencedException("r", 1, 2)));
        // a push by hand fenced by another push: the same refusal and code, with what to do (helper-91)
        FencedException fenced = new FencedException("r", 1, 2);
        fenced.closeStep();
        FencedException advised = fenced.withAdvice("push it again");
        assertEquals(ExitCode.FENCED_OR_CONFLICT, CkptTool.code(advised));
        assertEquals(fenced.getMessage() + "; push it again", advised.getMessage());
        assertEquals(fenced, advised.getCause());
        assertEquals(2, advised.currentEpoch());
        assertTrue(advised.stepClosed(), "a closed step stays closed");
        assertEquals(ExitCode.FENCED_OR_CONFLICT, CkptTool.code(new CommitConflictException("busy")));
        assertEquals(ExitCode.NO_CONDITIONAL_WRITES, CkptTool.code(new ConditionalWritesUnsupportedException("no")));
        assertEquals(ExitCode.ERROR, CkptTool.code(new CorruptObjectException("k", "bad")));
        assertEquals(ExitCode.ERROR, CkptTool.code(new IllegalStateException("bug")));
        assertEquals(ExitCode.COMMIT_STATE_UNKNOWN, CkptTool.code(new CommitStateUnknownException("ROOT", "t1", null)));
        assertEquals(ExitCode.UNAVAILABLE, CkptTool.code(new StoreUnavailableException("down")));
    }

    @Test
    void aStoreWhoseServerDoesNotAnswerExitsUnavailableNotError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: connections are refused
        }
        Map<String, String> env = Map.of("AWS_ENDPOINT_URL", "http://127.0.0.1:" + port, "AWS_ACCESS_KEY_ID", "k",
                "AWS_SECRET_ACCESS_KEY", "s", "AWS_REGION", "us-east-1");
        for (String client : new String[]{"aws", "minio"}) {
            Cli.Result r = new Cli(env, "--progress", "none").run("ls", "s3://bucket/ckpt", "--client", client);
            assertEquals(ExitCode.UNAVAILABLE, r.code(), client + ": " + r);
            assertEquals(7, r.code());
            assertEquals(1, r.err().lines().count(), client + ": " + r);
            assertTrue(r.err().contains("retrying later is safe"), client + ": " + r);
        }
    }

    @Test
    void doctorOnAServerThatDoesNotAnswerSaysSoAndExitsUnavailableNotNoConditionalWrites() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Map<String, String> env = Map.of("AWS_ENDPOINT_URL", "http://127.0.0.1:" + port, "AWS_ACCESS_KEY_ID", "k",
                "AWS_SECRET_ACCESS_KEY", "s", "AWS_REGION", "us-east-1");
        for (String client : new String[]{"aws", "minio"}) {
            Cli.Result r = new Cli(env, "--progress", "none").run("doctor", "s3://bucket/ckpt", "--client", client);
            assertEquals(ExitCode.UNAVAILABLE, r.code(), client + ": " + r);
            assertTrue(r.out().contains("the store did not answer"), client + ": " + r);
            assertTrue(!r.out().contains("lacks conditional writes") && !r.out().contains("NOT honoured"), client + ": " + r);
            Cli.Result j = new Cli(env, "--progress", "none").run("doctor", "s3://bucket/ckpt", "--client", client, "--json");
            assertEquals(ExitCode.UNAVAILABLE, j.code(), client + ": " + j);
            assertTrue(j.out().contains("\"conditionalWrites\" : null") || j.out().contains("\"conditionalWrites\":null"),
                    client + ": " + j);
        }
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
        assertEquals(Duration.ofDays(36500), Durations.parse("36500d"));
        assertEquals(Duration.ofSeconds(7), Durations.parse("007s"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("1500ms")); // README's stall-timeout example (helper-78)
        assertEquals("1500ms", Durations.format(Duration.ofMillis(1500)));
    }

    /** A duration past 100 years, or past a long, is a usage error naming the value (helper-76: "long overflow", exit 1). */
    @Test
    void aHugeDurationIsAUsageErrorNotAnOverflow(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        for (String d : new String[] {"36501d", "300000000000d", "1000000000000h", "99999999999999999999999999s"}) {
            String m = assertThrows(IllegalArgumentException.class, () -> Durations.parse(d)).getMessage();
            assertEquals("'" + d + "' is longer than ckpt takes (at most 36500d, 100 years)", m);
            java.nio.file.Files.createDirectories(tmp.resolve("src"));
            java.nio.file.Files.writeString(tmp.resolve("src/a"), "a");
            Cli.Result r = new Cli(Map.of(), "--progress", "none").run("push", "--deadline", d, tmp.resolve("store").toString(),
                    tmp.resolve("src").toString(), "--run", "r", "--step", "1");
            assertEquals(2, r.code(), r.toString());
            assertTrue(r.err().contains("longer than ckpt takes"), r.toString());
            assertFalse(r.err().contains("overflow"), r.toString());
        }
    }
    /**
     * A wrong --client or a --stall-timeout of 0 is a usage error naming the option (exit 2): both
     * were taken, passed on, and refused as CKPT_S3_CLIENT's or CKPT_S3_STALL_TIMEOUT's, exit 1 (helper-79).
     */
    @Test
    void wrongS3OptionsAreUsageErrorsNamingTheOption() {
        Cli cli = new Cli(Map.of("AWS_ACCESS_KEY_ID", "a", "AWS_SECRET_ACCESS_KEY", "b"), "--progress", "none");
        Cli.Result r = cli.run("ls", "--client", "foo", "--endpoint", "http://127.0.0.1:1", "s3://bkt/p");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--client") && r.err().contains("'foo' is not an S3 client: aws or minio"), r.toString());
        assertFalse(r.err().contains("CKPT_S3_CLIENT"), r.toString());
        for (String[] bad : new String[][] {{"ls", "--stall-timeout", "0"}, {"ls", "--stall-timeout", "0ms"},
                {"push", "--ranks-timeout", "0s"}}) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(bad));
            args.addAll(bad[0].equals("push") ? java.util.List.of("s3://bkt/p", ".", "--run", "r", "--step", "1",
                    "--world-size", "2", "--rank", "1", "--job-id", "j") : java.util.List.of("s3://bkt/p"));
            r = cli.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), r.toString());
            assertTrue(r.err().contains(bad[1]) && r.err().contains("is no wait at all: give a duration over zero"),
                    r.toString());
            assertFalse(r.err().contains("CKPT_S3_STALL_TIMEOUT"), r.toString());
        }
        assertEquals(0, cli.run("ls", "--client", "MINIO", "--help").code());
    }
}

package dev.ckpt.store.objectstore.s3;

import com.sun.net.httpserver.HttpServer;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The MinIO client's dispatcher under a limit on threads, with OkHttp's own dispatcher and a
 * thread factory whose threads after the first do not start (as {@code Thread.start} fails
 * under {@code ulimit -u}).
 */
class OkHttpThreadsTest {

    /**
     * Requests promoted together, the first one's thread started, the rest's not: each ends,
     * the failed ones with the thread error as their cause. Before, the error went up through
     * the dispatcher, and the requests promoted after the failed one were never run: their
     * callers (the MinIO client's blocking calls) waited for ever. Stop 54's CI met this as a
     * hung {@code ckpt-tool ls} of an S3 store under {@code ulimit -u}.
     */
    @Test
    void everyRequestEndsWhenItsThreadCannotStart() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", x -> {
            try {
                Thread.sleep(200); // the first request still runs while the others are handed out
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            x.sendResponseHeaders(200, 2);
            x.getResponseBody().write("ok".getBytes());
            x.close();
        });
        server.start();
        AtomicInteger made = new AtomicInteger();
        ThreadFactory threads = r -> made.incrementAndGet() == 1 ? new Thread(r) : new Thread(r) {
            @Override
            public synchronized void start() {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource"
                        + " limits reached");
            }
        };
        ExecutorService pool = OkHttpThreads.dispatcherThreads(threads);
        try {
            Dispatcher dispatcher = new Dispatcher(pool);
            dispatcher.setMaxRequestsPerHost(1); // the first runs; the others wait, then are promoted at once
            OkHttpClient client = new OkHttpClient.Builder().dispatcher(dispatcher).build();
            int calls = 4;
            CountDownLatch ended = new CountDownLatch(calls);
            Map<Integer, Object> outcome = new ConcurrentHashMap<>();
            for (int i = 0; i < calls; i++) {
                int n = i;
                client.newCall(new Request.Builder().url("http://127.0.0.1:" + server.getAddress().getPort() + "/" + n)
                        .build()).enqueue(new Callback() {
                    @Override
                    public void onFailure(Call call, IOException e) {
                        outcome.put(n, e);
                        ended.countDown();
                    }

                    @Override
                    public void onResponse(Call call, Response response) throws IOException {
                        try (response) {
                            outcome.put(n, response.body().string());
                        }
                        ended.countDown();
                    }
                });
            }
            try {
                dispatcher.setMaxRequestsPerHost(5);
            } catch (OutOfMemoryError e) {
                // without the refusal the first failed start came up to here; the requests after it never ran
            }
            assertTrue(ended.await(20, TimeUnit.SECONDS), "every request ended; outcomes: " + outcome);
            assertEquals("ok", outcome.get(0), "the request whose thread started was answered");
            for (int n : List.of(1, 2, 3)) {
                assertInstanceOf(IOException.class, outcome.get(n), "request " + n);
                Error cause = OkHttpThreads.errorIn((IOException) outcome.get(n));
                assertInstanceOf(OutOfMemoryError.class, cause,
                        "request " + n + " failed with the thread error as its cause (the thread limit's advice)");
            }
        } finally {
            pool.shutdownNow();
            server.stop(0);
        }
    }
}

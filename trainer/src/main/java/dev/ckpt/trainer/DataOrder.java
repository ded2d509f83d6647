package dev.ckpt.trainer;

import java.util.Random;

/**
 * Which samples each step trains on: epoch {@code e} visits the dataset in a permutation
 * drawn from {@code (seed, e)}, one batch after another (a short last batch is dropped).
 * The position is {@code (epoch, cursor)}, saved in {@code state.json}.
 */
final class DataOrder {
    private final long seed;
    private final int size;
    private final int batch;
    private long epoch;
    private int cursor;
    private int[] perm;

    DataOrder(long seed, int size, int batch) {
        this.seed = seed;
        this.size = size;
        this.batch = batch;
    }

    void seek(long epoch, int cursor) {
        if (epoch < 0 || cursor < 0 || cursor > size) {
            throw new IllegalArgumentException("bad data position: epoch " + epoch + ", cursor " + cursor);
        }
        this.epoch = epoch;
        this.cursor = cursor;
        this.perm = null;
    }

    long[] next() {
        if (cursor + batch > size) {
            epoch++;
            cursor = 0;
            perm = null;
        }
        if (perm == null) {
            perm = permutation(seed, epoch, size);
        }
        long[] b = new long[batch];
        for (int i = 0; i < batch; i++) {
            b[i] = perm[cursor + i];
        }
        cursor += batch;
        return b;
    }

    long epoch() {
        return epoch;
    }

    int cursor() {
        return cursor;
    }

    static int[] permutation(long seed, long epoch, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        Random r = new Random(Model.mix(seed, 1_000_000_007L + epoch));
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
